"""INFO commandstats (issue 14.4): calls, rejected_calls (arity) and failed_calls (the command
ran and answered an error) per command, as redis-server counts them, requests served by the
C loop (pipelined) and inside MULTI included; CONFIG RESETSTAT clears them."""
from __future__ import annotations

import re
import time

from compat import Wire

STEPS = [("SET", "a", "1"), ("GET", "a"), ("GET", "a"), ("INCR", "a"), ("LPUSH", "a", "x"),
         ("GET",), ("MULTI",), ("GET", "a"), ("SET", "b", "2"), ("EXEC",),
         ("RPUSH", "l", "a", "b"), ("LPOP", "l"), ("XADD", "s", "1-1", "a", "b"),
         ("XADD", "s", "1-1", "a", "b"), ("HSET", "h", "f"), ("ZADD", "z", "x", "m")]


def stats(w: Wire) -> list[str]:
    info = w.call("INFO", "commandstats").decode()
    return sorted(re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", line)
                  for line in info.split("\r\n")
                  if line.startswith("cmdstat_") and "config" not in line and "info" not in line)


def test_command_stats_count_as_redis_counts(pair) -> None:
    seen = []
    for port in pair:
        w = Wire(port)
        w.call("FLUSHALL")
        assert w.call("CONFIG", "RESETSTAT") == "OK"
        for args in STEPS:
            w.call(*args)
        for _ in range(3):                 # pipelined: one read, the C loop where it is built
            w.send("GET", "a")
            w.send("SET", "c", "3")
        for _ in range(6):
            w.read()
        seen.append(stats(w))
        assert w.call("CONFIG", "RESETSTAT") == "OK"
        assert stats(w) == []
        w.close()
    assert seen[0] == seen[1]
    assert "cmdstat_get:calls=6,rejected_calls=1,failed_calls=0" in seen[0]


def test_a_blocked_command_served_an_error_counts_as_failed(pair) -> None:
    """XGROUP DESTROY answers a blocked XREADGROUP -NOGROUP: errorstats, total_error_replies
    and the command's failed_calls count it (Redis' stream-cgroups unit checks this)."""
    seen = []
    for port in pair:
        w, blocked = Wire(port), Wire(port)
        w.call("FLUSHALL")
        w.call("CONFIG", "RESETSTAT")
        w.call("XGROUP", "CREATE", "s", "g", "$", "MKSTREAM")
        blocked.send("XREADGROUP", "GROUP", "g", "alice", "BLOCK", "0", "STREAMS", "s", ">")
        deadline = time.monotonic() + 10
        while b"blocked_clients:1" not in w.call("INFO", "clients"):
            assert time.monotonic() < deadline, "the reader never blocked"
            time.sleep(0.01)
        w.call("XGROUP", "DESTROY", "s", "g")
        reply = blocked.read()
        info = w.call("INFO", "all").decode()
        lines = [x for x in info.split("\r\n")
                 if x.startswith(("errorstat_", "total_error_replies", "cmdstat_xreadgroup"))]
        seen.append((reply, [re.sub(r"usec=\d+,usec_per_call=[\d.]+,", "", x) for x in lines]))
        w.close()
        blocked.close()
    assert seen[0] == seen[1]
    assert "cmdstat_xreadgroup:calls=1,rejected_calls=0,failed_calls=1" in seen[0][1]
