"""HeroDB against redis-server, side by side in one run (a benchmark, not a test).

1. redis-benchmark -t set,get,incr,lpush,rpop (and SETBIT/BITCOUNT of a 100,000-bit key,
   XADD with auto IDs, XREADGROUP of one entry per call) -n N
   -c 50, without pipelining and with -P 16;
   both servers persist (appendonly, appendfsync everysec). Requests/s (median of repeats) and
   server CPU time per operation from /proc/<pid>/stat (utime+stime before and after).
2. Memory: RSS growth for 1M small string keys and for a 1M-element list.

With --pure, a third server runs alongside: HeroDB with HEROCELERY_PURE_PYTHON=1 (the Python
request loop instead of the C one, _fastpath.c), so before/after come from the same run.

Usage: python bench/bench_herodb.py [--requests 100000] [--repeats 3] [--keys 1000000]
       [--pure] [--before TREE] [--tests set,xadd] [--out bench/results/herodb.md]
"""
from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import free_port, wait_port  # noqa: E402

TESTS = "set,get,incr,lpush,rpop"
# commands redis-benchmark has no built-in test for (issue 14): name -> command line
# (__rand_int__ is zero-padded, which no integer argument accepts: a fixed offset instead)
CUSTOM = {"setbit": ["SETBIT", "bits", "99999", "1"], "bitcount": ["BITCOUNT", "bits"],
          # streams: appends with an auto ID, then a group reads them one by one (the group
          # is created on the filled stream just before, see SETUP)
          "xadd": ["XADD", "stream", "*", "f", "v"],
          "xreadgroup": ["XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "STREAMS", "stream", ">"]}
SETUP = {"xreadgroup": ["XGROUP", "CREATE", "stream", "g", "0"]}
CLK_TCK = os.sysconf("SC_CLK_TCK")
BEFORE_TREE: str | None = None  # --before: a checkout of the code before, run side by side
ONLY: set[str] = set()  # --tests: run only these


@contextmanager
def server(kind: str, persist: bool) -> Iterator[tuple[int, int]]:
    """(port, pid) of a fresh server of ``kind`` ("herodb", "herodb-py" or "redis-server")."""
    port = free_port()
    d = tempfile.mkdtemp(prefix=f"bench-{kind}-")
    if kind == "redis-server":
        cmd = [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
               "127.0.0.1", "--save", "", "--dir", d, "--appendonly", "yes" if persist else "no",
               "--appendfsync", "everysec"]
    else:
        cmd = [sys.executable, "-m", "herocelery.herodb", "serve", "--port", str(port)]
        if persist:
            cmd += ["--dir", d, "--appendfsync", "everysec"]
    env = dict(os.environ)
    env.pop("HEROCELERY_PURE_PYTHON", None)
    if kind == "herodb-py":
        env["HEROCELERY_PURE_PYTHON"] = "1"
    cwd = BEFORE_TREE if kind == "herodb-before" else None  # that tree's herocelery first
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
                            cwd=cwd)
    try:
        wait_port(port)
        yield port, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def run_benchmark(port: int, pid: int, requests: int, pipeline: int, custom: bool = True
                  ) -> dict[str, tuple[float, float]]:
    """test -> (requests/s, server CPU microseconds per request)."""
    out: dict[str, tuple[float, float]] = {}
    for test in [*TESTS.split(","), *(CUSTOM if custom else ())]:
        if ONLY and test not in ONLY:
            continue
        if test in SETUP:
            setup = redis.Redis(port=port)
            setup.execute_command(*SETUP[test])
            setup.close()
        before = cpu_seconds(pid)
        what = CUSTOM[test] if test in CUSTOM else ["-t", test]
        res = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(requests),
                              "-c", "50", "-P", str(pipeline), "--csv", *what],
                             capture_output=True, text=True, timeout=600)
        cpu = cpu_seconds(pid) - before
        rows = list(csv.reader(io.StringIO(res.stdout)))
        rps = float(rows[-1][1])
        out[test] = (rps, cpu / requests * 1e6)
    return out


def memory(kind: str, keys: int) -> tuple[int, int]:
    """RSS growth (bytes) for ``keys`` small string keys, and for a list of ``keys`` elements."""
    results = []
    for what in ("strings", "list"):
        with server(kind, persist=False) as (port, pid):
            r = redis.Redis(port=port)
            r.ping()
            base = rss_bytes(pid)
            batch = 1000
            p = r.pipeline(transaction=False)
            for start in range(0, keys, batch):
                if what == "strings":
                    p.mset({f"key:{i:07d}": f"v{i}" for i in range(start, start + batch)})
                else:
                    p.rpush("biglist", *[f"v{i}" for i in range(start, start + batch)])
                if start % (50 * batch) == 0:
                    p.execute()
            p.execute()
            count = r.dbsize() if what == "strings" else r.llen("biglist")
            assert count == keys, (kind, what, count)
            results.append(rss_bytes(pid) - base)
            r.close()
    return results[0], results[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--keys", type=int, default=1_000_000)
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "herodb.md")
    ap.add_argument("--pure", action="store_true",
                    help="also run HeroDB with HEROCELERY_PURE_PYTHON=1 (the Python loop)")
    ap.add_argument("--before", default=None,
                    help="a checkout of the code before the change: its HeroDB runs alongside")
    ap.add_argument("--tests", default="",
                    help="comma-separated subset of the tests (default: all)")
    args = ap.parse_args()
    global BEFORE_TREE
    BEFORE_TREE = args.before
    ONLY.update(t for t in args.tests.split(",") if t)
    kinds: tuple[str, ...] = ("redis-server", "herodb-py", "herodb") if args.pure else (
        "redis-server", "herodb")
    if args.before:
        kinds = ("redis-server", "herodb-before", "herodb")

    table: dict[tuple[str, int, str], list[tuple[float, float]]] = {}
    for rep in range(args.repeats):
        for pipeline in (1, 16):
            # alternate, and reverse every other repeat (ABBA), so load drifts hit all
            for kind in (kinds if rep % 2 == 0 else kinds[::-1]):
                with server(kind, persist=True) as (port, pid):
                    for test, value in run_benchmark(port, pid, args.requests, pipeline,
                                                     kind != "herodb-before").items():
                        table.setdefault((kind, pipeline, test), []).append(value)
                print(f"repeat {rep + 1}/{args.repeats} -P {pipeline} {kind} done", flush=True)

    lines = [
        "# HeroDB vs redis-server",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()},"
        f" load average at start {os.getloadavg()[0]:.1f} (the machine is shared)",
        f"- redis-benchmark -t {TESTS} (and {', '.join(' '.join(v) for v in CUSTOM.values())}"
        f") -n {args.requests} -c 50; both servers appendonly with "
        f"appendfsync everysec; median of {args.repeats} repeats; "
        "CPU = server utime+stime per request",
        "",
        "| test | -P | redis rps | herodb rps | ratio | redis CPU µs/op | herodb CPU µs/op "
        "| CPU ratio |"
        + (" herodb-py rps | py ratio | herodb-py CPU µs/op |" if args.pure else "")
        + (" before rps | before ratio |" if args.before else ""),
        "|---|---|---|---|---|---|---|---|" + ("---|---|---|" if args.pure else "")
        + ("---|---|" if args.before else ""),
    ]
    for pipeline in (1, 16):
        for test in [*TESTS.split(","), *CUSTOM]:
            if ONLY and test not in ONLY:
                continue
            med = {kind: (statistics.median(x[0] for x in table[(kind, pipeline, test)]),
                          statistics.median(x[1] for x in table[(kind, pipeline, test)]))
                   for kind in kinds if (kind, pipeline, test) in table}
            (r_rps, r_cpu), (h_rps, h_cpu) = med["redis-server"], med["herodb"]
            line = (f"| {test} | {pipeline} | {r_rps:,.0f} | {h_rps:,.0f} | {h_rps / r_rps:.2f} "
                    f"| {r_cpu:.1f} | {h_cpu:.1f} | {h_cpu / max(r_cpu, 1e-9):.1f}× |")
            if args.pure:
                p_rps, p_cpu = med["herodb-py"]
                line += f" {p_rps:,.0f} | {p_rps / r_rps:.2f} | {p_cpu:.1f} |"
            if args.before:
                b = med.get("herodb-before")
                line += f" {b[0]:,.0f} | {b[0] / r_rps:.2f} |" if b else " — | — |"
            lines.append(line)
    if args.keys:
        r_str, r_list = memory("redis-server", args.keys)
        h_str, h_list = memory("herodb", args.keys)
        lines += [
            "",
            f"Memory (RSS growth, {args.keys:,} items, no persistence):",
            "",
            "| data | redis-server | herodb | ratio |",
            "|---|---|---|---|",
            f"| {args.keys:,} small string keys | {r_str / 2**20:.0f} MiB "
            f"| {h_str / 2**20:.0f} MiB "
            f"| {h_str / r_str:.1f}× |",
            f"| list of {args.keys:,} elements | {r_list / 2**20:.0f} MiB "
            f"| {h_list / 2**20:.0f} MiB "
            f"| {h_list / max(r_list, 1):.1f}× |",
        ]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # the newest run replaces the top block; the dated sections written below it stay
    history = ""
    if args.out.exists():
        old = args.out.read_text()
        at = old.find("\n## ")
        history = old[at:] if at >= 0 else ""
    args.out.write_text(text + history)
    print(text)


if __name__ == "__main__":
    main()
