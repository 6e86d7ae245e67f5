"""INFO commandstats (issue 14.4): calls, rejected_calls (arity) and failed_calls (the command
ran and answered an error) per command, as redis-server counts them, requests served by the
C loop (pipelined) and inside MULTI included; CONFIG RESETSTAT clears them."""
from __future__ import annotations

import re

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
