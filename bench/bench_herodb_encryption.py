"""What HeroDB's encryption at rest costs on the Celery path (issue 19.8).

1. The Celery workload of bench_herodb_celery.py (2,000 no-op tasks with results, a chain
   of 200, a chord of 200; one worker of 2 processes) on two HeroDBs that differ only in the
   log: plain (CRC-32 frames) or sealed (ChaCha20-Poly1305 per frame, the key given by
   environment). Throughput ratios sealed / plain, and the HeroDB process's CPU seconds for
   the whole workload (less noisy than throughput on a shared machine): median of repeats,
   the two taking turns going first (ABBA).
2. The log alone, in this process: appending and flushing the records of that workload's
   shape (kombu messages of ~1 KB, result keys, small counters), MB/s plain and sealed.

    python bench/bench_herodb_encryption.py [--repeat 8] [--tasks 2000] [--appendfsync everysec]
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from _common import free_port, machine, median, wait_port  # noqa: E402
from bench_herodb_celery import measure  # noqa: E402


def cpu_s(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def herodb(appendfsync: str, key: str | None) -> Iterator[tuple[str, int]]:
    port = free_port()
    d = tempfile.mkdtemp(prefix="bench-herodb-enc-")
    env = {k: v for k, v in os.environ.items() if k != "HERODB_ENCRYPTION_KEY"}
    if key:
        env["HERODB_ENCRYPTION_KEY"] = key
    proc = subprocess.Popen([sys.executable, "-m", "herocelery.herodb", "serve", "--port",
                             str(port), "--dir", d, "--appendfsync", appendfsync],
                            stdout=subprocess.DEVNULL, env=env)
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def log_mb_s(key: bytes | None, seconds: float = 2.0) -> float:
    """MB/s of appended+flushed records of a Celery-like mix through AppendLog."""
    from herocelery.herodb.persist import AppendLog
    d = Path(tempfile.mkdtemp(prefix="bench-log-"))
    log = AppendLog(d / "herodb.aof", "no", key=key)
    list(log.load())
    body = os.urandom(700).hex().encode()                       # a ~1.4 KB kombu message
    batch = [(1, [b"LPUSH", b"celery", body]), (2, [b"SETEX", b"celery-task-meta-x", b"86400",
                                                      b'{"status": "SUCCESS"}' * 8]),
             (1, [b"HSET", b"unacked", b"tag", body]), (3, [b"INCRBY", b"hero:metric", b"1"])]
    size = sum(len(a) for _, argv in batch for a in argv)
    written, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(16):                                     # one server loop's batch
            for db, argv in batch:
                log.append(db, argv)
            written += size
        log.flush(sync=False)
    elapsed = time.perf_counter() - t0
    log.close()
    shutil.rmtree(d, ignore_errors=True)
    return written / elapsed / 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=8)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--appendfsync", default="everysec")
    args = ap.parse_args()
    print(f"machine: {machine()}; load {os.getloadavg()[0]:.1f}; HeroDB appendfsync "
          f"{args.appendfsync}")
    key = secrets.token_hex(32)
    ratios: dict[str, list[float]] = {"tasks": [], "chain": [], "chord": [], "server_cpu": []}
    for r in range(args.repeat):
        order = ["plain", "sealed"] if r % 2 == 0 else ["sealed", "plain"]
        got: dict[str, dict[str, float]] = {}
        for which in order:
            with herodb(args.appendfsync, key if which == "sealed" else None) as (url, pid):
                before = cpu_s(pid)
                got[which] = measure(url, args.tasks, 200, 200)
                got[which]["server_cpu"] = cpu_s(pid) - before
        plain, sealed = got["plain"], got["sealed"]
        for k in ratios:
            ratios[k].append(sealed[k] / plain[k])
        print(f"run {r + 1} (load {os.getloadavg()[0]:.1f}): " + "; ".join(
            f"{k}: plain {plain[k]:.1f}, sealed {sealed[k]:.1f}, ratio {sealed[k] / plain[k]:.2f}"
            for k in ratios), flush=True)
    print("median ratios sealed / plain: "
          + ", ".join(f"{k} {median(v):.2f}" for k, v in ratios.items())
          + "  (throughput: higher is better; server_cpu: CPU seconds, lower is better)")
    plain_log = [log_mb_s(None) for _ in range(3)]
    sealed_log = [log_mb_s(key.encode()) for _ in range(3)]
    print(f"log append+flush: plain {median(plain_log):.0f} MB/s, sealed "
          f"{median(sealed_log):.0f} MB/s (median of 3)")


if __name__ == "__main__":
    main()
