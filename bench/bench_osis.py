"""OSIS set / get / find against raw redis-py HSET / HGET / HGETALL on the same HeroDB, in one
run, through a context's scoped connection (HeroDB with an admin secret, as in production).

    python bench/bench_osis.py [--n 2000] [--repeats 3] [--also-redis]

Prints ops/s (median of repeats) and the OSIS/raw ratios. The cases run interleaved in
chunks of n/20, so a load spike on a shared machine hits every case alike. Targets (issue 6):
get >= 0.5 of raw, set >= 0.3 of raw. Single client, sequential round trips: the server's
per-command cost dominates, which is what the ratio is about.
"""
from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import free_port, machine, median, redis_server, wait_port  # noqa: E402

from herocelery.runners.osis import Osis  # noqa: E402


@contextmanager
def secure_herodb() -> Iterator[str]:
    """HeroDB with an admin secret and one private context database; yields its scoped URL."""
    port, secret = free_port(), secrets.token_hex(8)
    d = tempfile.mkdtemp(prefix="bench-osis-")
    proc = subprocess.Popen([sys.executable, "-m", "herocelery.herodb", "serve", "--port",
                             str(port), "--dir", d, "--admin-secret", secret],
                            stdout=subprocess.DEVNULL)
    try:
        wait_port(port, 30)
        admin = redis.Redis(port=port, password=secret)
        db = int(admin.execute_command("HERODB", "DBCREATE", "PRIVATE"))
        key = admin.execute_command("HERODB", "KEYCREATE", db, "readwrite").decode()
        admin.close()
        yield f"redis://{db}:{key}@127.0.0.1:{port}/{db}"
    finally:
        proc.terminate()
        proc.wait()


def measure(url: str, n: int, repeats: int) -> dict[str, float]:
    r = redis.Redis.from_url(url, decode_responses=True)
    o = Osis(r)
    o.define("user", {"name": "str", "email": "str", "age": "int", "city": "str"},
             ["email", "city"])
    obj = lambda i: {"id": str(i), "name": f"user {i}", "email": f"u{i}@example.com",  # noqa
                     "age": i % 90, "city": f"city{i % 50}"}
    raw = lambda i: {"name": f"user {i}", "email": f"u{i}@example.com",  # noqa: E731
                     "age": str(i % 90), "city": f"city{i % 50}"}
    # the floor of any script-based write: an EVALSHA that only does the same HSET
    only_hset = r.register_script("local h = {'HSET', KEYS[1]} "
                                  "for i = 1, #ARGV do h[#h + 1] = ARGV[i] end "
                                  "return redis.call(unpack(h))")
    runs: dict[str, list[float]] = {}
    for _ in range(repeats):
        r.flushdb()
        o.define("user", {"name": "str", "email": "str", "age": "int", "city": "str"},
                 ["email", "city"])
        cases = {
            "raw HSET (4 fields)": lambda i: r.hset(f"raw:{i}", mapping=raw(i)),
            "osis set (4 fields, 2 indexed)": lambda i: o.set("user", obj(i)),
            "EVALSHA doing only that HSET": lambda i: only_hset(
                keys=[f"ev:{i}"], args=[x for kv in raw(i).items() for x in kv]),
            "raw HGET (1 field)": lambda i: r.hget(f"raw:{i}", "email"),
            "raw HGETALL": lambda i: r.hgetall(f"raw:{i}"),
            "osis get": lambda i: o.get("user", str(i)),
            "raw SMEMBERS+HGETALL": lambda i: [r.hgetall(f"raw:{m}") for m in
                                              r.smembers(f"rawidx:{i}")],
            "osis find (email =, 1 hit)": lambda i: o.find("user", {"email": f"u{i}@example.com"}),
            "osis find (email prefix, 1 hit)": lambda i: o.find(
                "user", prefix={"email": f"u{i}@"}),
        }
        for i in range(n):
            r.sadd(f"rawidx:{i}", i)
        # interleaved in chunks, so load from other processes hits every case alike
        spent = {name: 0.0 for name in cases}
        chunk = max(1, n // 20)
        for lo in range(0, n, chunk):
            for name, fn in cases.items():
                start = time.perf_counter()
                for i in range(lo, min(n, lo + chunk)):
                    fn(i)
                spent[name] += time.perf_counter() - start
        for name in cases:
            runs.setdefault(name, []).append(n / spent[name])
    r.close()
    return {k: median(v) for k, v in runs.items()}


def report(title: str, res: dict[str, float]) -> str:
    lines = [f"### {title}", "", "| operation | ops/s |", "|---|---:|"]
    lines += [f"| {k} | {v:,.0f} |" for k, v in res.items()]
    ratios = {
        "get / HGET": res["osis get"] / res["raw HGET (1 field)"],
        "get / HGETALL": res["osis get"] / res["raw HGETALL"],
        "set / HSET": res["osis set (4 fields, 2 indexed)"] / res["raw HSET (4 fields)"],
        "EVALSHA-only-HSET / HSET (floor)": res["EVALSHA doing only that HSET"]
        / res["raw HSET (4 fields)"],
        "find = / (SMEMBERS+HGETALL)": res["osis find (email =, 1 hit)"]
        / res["raw SMEMBERS+HGETALL"],
    }
    lines += ["", "| ratio | value | target |", "|---|---:|---|"]
    targets = {"get / HGET": ">= 0.5", "set / HSET": ">= 0.3"}
    lines += [f"| {k} | {v:.2f} | {targets.get(k, '')} |" for k, v in ratios.items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--also-redis", action="store_true", help="the same on redis-server")
    a = ap.parse_args()
    print(f"# OSIS vs raw redis-py — {machine()}, uname -m {os.uname().machine}, "
          f"n={a.n}, median of {a.repeats}\n")
    with secure_herodb() as url:
        print(report("HeroDB (admin secret on, scoped context connection)",
                     measure(url, a.n, a.repeats)))
    if a.also_redis:
        with redis_server() as base:
            print(report("redis-server 7 (reference)", measure(base + "/5", a.n, a.repeats)))


if __name__ == "__main__":
    main()
