"""HeroDB under a bad client (issue 14): peak RSS and another client's PING latency while
the bad client is served (a measurement; tests/herodb/test_dos.py asserts the bounds).

Cases: SRANDMEMBER s -9223372036854775807 read slowly; the same never read; 5,000 pipelined
GETs of a 1 MB value never read; a client filling the server past maxmemory 64mb; a script
past lua-time-limit (other clients get -BUSY). redis-server is not run for the pipelined-GET
and random-count cases (it buffered 4.8 GB, and died, on this machine).

    python bench/bench_herodb_dos.py [--seconds 5] [--out bench/results/herodb.md]
"""
from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import free_port, wait_port  # noqa: E402


def frame(*args: str) -> bytes:
    return b"".join([b"*%d\r\n" % len(args)] + [b"$%d\r\n%s\r\n" % (len(a), a.encode())
                                                  for a in args])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2 ** 20


def watch(pid: int, port: int, seconds: float, step=None) -> tuple[float, list[float]]:
    r = redis.Redis(port=port, socket_timeout=30)
    peak, lat = 0.0, []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if step:
            step()
        t = time.perf_counter()
        try:
            r.ping()
        except redis.ResponseError:  # -BUSY is an answer too
            pass
        lat.append((time.perf_counter() - t) * 1000)
        peak = max(peak, rss_mb(pid))
        time.sleep(0.01)
    return peak, lat


def case_stream(port: int, pid: int, seconds: float, read: bool) -> tuple[float, list[float]]:
    r = redis.Redis(port=port)
    r.sadd("s", "a", "b", "c")
    with socket.create_connection(("127.0.0.1", port)) as bad:
        bad.sendall(frame("SRANDMEMBER", "s", "-9223372036854775807"))
        bad.settimeout(1)
        return watch(pid, port, seconds, (lambda: bad.recv(1 << 20)) if read else None)


def case_pipeline(port: int, pid: int, seconds: float) -> tuple[float, list[float]]:
    redis.Redis(port=port).set("big", b"x" * 1_000_000)
    with socket.create_connection(("127.0.0.1", port)) as bad:
        bad.setblocking(False)
        try:
            bad.send(frame("GET", "big") * 5000)
        except BlockingIOError:
            pass
        return watch(pid, port, seconds)


def case_fill(port: int, pid: int, seconds: float) -> tuple[float, list[float]]:
    r = redis.Redis(port=port)
    r.config_set("maxmemory", "64mb")
    f = redis.Redis(port=port)
    value = b"v" * 100_000
    state = {"i": 0}

    def step() -> None:
        for _ in range(20):
            try:
                f.set(f"fill:{state['i']}", value)
            except redis.ResponseError:
                pass
            state["i"] += 1
    out = watch(pid, port, seconds, step)
    r.flushall()
    r.config_set("maxmemory", "0")
    return out


def case_busy(port: int, pid: int, seconds: float) -> tuple[float, list[float]]:
    r = redis.Redis(port=port)
    r.config_set("lua-time-limit", "100")
    with socket.create_connection(("127.0.0.1", port)) as bad:
        bad.sendall(frame("EVAL", "while true do end", "0"))
        time.sleep(0.3)
        out = watch(pid, port, seconds)
        redis.Redis(port=port).script_kill()
    return out


CASES = {"SRANDMEMBER -9223372036854775807, read": lambda p, i, s: case_stream(p, i, s, True),
         "SRANDMEMBER -9223372036854775807, never read":
             lambda p, i, s: case_stream(p, i, s, False),
         "5,000 pipelined GET of 1 MB, never read": case_pipeline,
         "filling past maxmemory 64mb": case_fill,
         "a script past lua-time-limit (others: -BUSY)": case_busy}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    rows = ["| bad client | peak RSS | PING p50 | p99 | max |", "|---|---|---|---|---|"]
    for name, case in CASES.items():
        port = free_port()
        d = tempfile.mkdtemp(prefix="dos-")
        proc = subprocess.Popen([sys.executable, "-m", "herocelery.herodb", "serve", "--port",
                                 str(port), "--dir", d, "--appendfsync", "everysec"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port)
            peak, lat = case(port, proc.pid, args.seconds)
        finally:
            proc.terminate()
            proc.wait(10)
        lat.sort()
        rows.append(f"| {name} | {peak:.0f} MiB | {statistics.median(lat):.1f} ms | "
                    f"{lat[int(len(lat) * 0.99) - 1]:.1f} ms | {lat[-1]:.1f} ms |")
        print(rows[-1], flush=True)
    text = (f"HeroDB under a bad client ({time.strftime('%Y-%m-%d %H:%M')} UTC, load "
            f"{os.getloadavg()[0]:.1f}, {args.seconds:.0f} s each; "
            "`bench/bench_herodb_dos.py`):\n\n"
            + "\n".join(rows) + "\n")
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    main()
