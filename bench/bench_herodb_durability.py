"""Durability cost: SET throughput of HeroDB with appendfsync always / everysec / no.

Runs redis-benchmark (unpipelined, 50 clients, and pipelined -P 16) against HeroDB for each
policy, and against redis-server with `appendonly yes` and the same policy, side by side in one
run; prints a Markdown table (median of --repeats runs) and, with --out, writes it to a file.

    python bench/bench_herodb_durability.py --requests 50000 --repeats 3 \
        --out bench/results/herodb-durability.md
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

POLICIES = ("always", "everysec", "no")
LISTENING = re.compile(rb"herodb listening on 127\.0\.0\.1:(\d+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


def start_herodb(policy: str, data: Path) -> tuple[subprocess.Popen[bytes], int]:
    out = data / "stdout"
    with open(out, "wb") as o:
        proc = subprocess.Popen([sys.executable, "-m", "herocelery.herodb", "serve", "--port",
                                 "0", "--dir", str(data / "db"), "--appendfsync", policy],
                                stdout=o, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        m = LISTENING.search(out.read_bytes())
        if m:
            return proc, int(m.group(1))
        if proc.poll() is not None:
            raise RuntimeError("herodb exited")
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("herodb did not start")


def start_redis(policy: str, data: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", "--appendonly", "yes", "--appendfsync", policy,
                             "--dir", str(data)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return proc, port


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def set_rps(port: int, requests: int, pipeline: int) -> float:
    cmd = ["redis-benchmark", "-p", str(port), "-t", "set", "-n", str(requests), "-c", "50",
           "-P", str(pipeline), "-r", "100000", "--csv"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"redis-benchmark failed: {done.stderr.strip()[:300]}")
    rows = [r for r in csv.reader(io.StringIO(done.stdout)) if r and r[0].startswith("SET")]
    return float(rows[0][1])


def measure(kind: str, policy: str, requests: int, repeats: int) -> dict[str, float]:
    results: dict[str, list[float]] = {"rps": [], "rps_p16": [], "cpu_us": []}
    for _ in range(repeats):
        data = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
        proc, port = (start_herodb if kind == "herodb" else start_redis)(policy, data)
        try:
            before = cpu_seconds(proc.pid)
            results["rps"].append(set_rps(port, requests, 1))
            results["cpu_us"].append((cpu_seconds(proc.pid) - before) / requests * 1e6)
            results["rps_p16"].append(set_rps(port, requests, 16))
        finally:
            proc.terminate()
            proc.wait(30)
            shutil.rmtree(data, ignore_errors=True)
    return {k: statistics.median(v) for k, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rows = []
    for policy in POLICIES:
        hero = measure("herodb", policy, args.requests, args.repeats)
        redis = measure("redis-server", policy, args.requests, args.repeats)
        rows.append((policy, hero, redis))
        print(policy, hero, redis, flush=True)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# HeroDB durability cost: SET throughput by appendfsync policy",
        "",
        f"{now}; machine: {os.cpu_count()} cores, {platform.machine()}, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}.",
        f"`redis-benchmark -t set -n {args.requests} -c 50 -r 100000` (and `-P 16`), median of "
        f"{args.repeats} runs, each on a fresh data directory; redis-server (Debian 7.0) with "
        "`appendonly yes` and the same policy, measured in the same run. Server CPU is "
        "user+system time from `/proc/<pid>/stat` over the unpipelined run, per request. "
        "The benchmark client shares the 2 cores with the server.",
        "",
        "| appendfsync | HeroDB SET/s | redis SET/s | ratio | HeroDB SET/s -P16 | redis SET/s -P16 "
        "| ratio | HeroDB CPU µs/op | redis CPU µs/op | CPU ratio |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for policy, h, r in rows:
        lines.append(
            f"| {policy} | {h['rps']:,.0f} | {r['rps']:,.0f} | {h['rps'] / r['rps']:.2f} | "
            f"{h['rps_p16']:,.0f} | {r['rps_p16']:,.0f} | {h['rps_p16'] / r['rps_p16']:.2f} | "
            f"{h['cpu_us']:.1f} | {r['cpu_us']:.1f} | {h['cpu_us'] / max(r['cpu_us'], 1e-9):.1f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
