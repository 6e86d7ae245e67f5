"""What HeroDB's encryption at rest costs on the Celery path (issue 19.8).

The same Celery workload as bench_herodb_celery.py (2,000 no-op tasks with results, a chain
of 200, a chord of 200; one worker of 2 processes) on two HeroDBs that differ only in the
log: plain (CRC-32 frames) or sealed (ChaCha20-Poly1305 per frame, `--encryption-key`).
Ratios encrypted / plain, median of repeats, the two taking turns going first (ABBA).

    python bench/bench_herodb_encryption.py [--repeat 6] [--tasks 2000] [--appendfsync everysec]
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import herodb_server, machine, median  # noqa: E402
from bench_herodb_celery import measure  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=6)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--appendfsync", default="everysec")
    args = ap.parse_args()
    print(f"machine: {machine()}; load {os.getloadavg()[0]:.1f}; HeroDB appendfsync "
          f"{args.appendfsync}")
    key = secrets.token_hex(32)
    ratios: dict[str, list[float]] = {"tasks": [], "chain": [], "chord": []}
    for r in range(args.repeat):
        order = ["plain", "sealed"] if r % 2 == 0 else ["sealed", "plain"]
        got: dict[str, dict[str, float]] = {}
        for which in order:
            with herodb_server(args.appendfsync,
                               key if which == "sealed" else None) as url:
                got[which] = measure(url, args.tasks, 200, 200)
        plain, sealed = got["plain"], got["sealed"]
        for k in ratios:
            ratios[k].append(sealed[k] / plain[k])
        print(f"run {r + 1} (load {os.getloadavg()[0]:.1f}): " + "; ".join(
            f"{k}: plain {plain[k]:.0f}/s, encrypted {sealed[k]:.0f}/s, ratio "
            f"{sealed[k] / plain[k]:.2f}" for k in ratios))
    print("median ratios encrypted / plain: "
          + ", ".join(f"{k} {median(v):.2f}" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
