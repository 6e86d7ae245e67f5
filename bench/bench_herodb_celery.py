"""Celery on HeroDB against Celery on redis-server, as broker and result backend.

2,000 no-op tasks (results collected), then a chain of 200, then a chord of 200, with one
worker of 2 processes; tasks/s for each, ratio HeroDB / redis-server, median of repeats (the
two servers take turns going first, ABBA, so drift on a shared machine falls on both).

    python bench/bench_herodb_celery.py [--repeat 6] [--redis-aof]
"""
from __future__ import annotations

import argparse
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, herodb_server, machine, median, redis_server  # noqa: E402


def measure(url: str, n: int, chain_len: int, chord_len: int) -> dict[str, float]:
    env = {**os.environ, "BENCH_BROKER": url + "/1", "BENCH_BACKEND": url + "/2",
           "PYTHONPATH": str(ROOT / "bench")}
    os.environ.update({"BENCH_BROKER": env["BENCH_BROKER"], "BENCH_BACKEND": env["BENCH_BACKEND"]})
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "celery_app", "worker",
                               "-c", "2", "--pool", "prefork", "-l", "WARNING",
                               "--without-gossip", "--without-mingle"],
                              env=env, cwd=str(ROOT / "bench"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    import celery_app
    importlib.reload(celery_app)
    from celery import chain, chord
    out: dict[str, float] = {}
    try:
        celery_app.noop.delay(1).get(timeout=60)  # the worker is up
        t = time.perf_counter()
        results = [celery_app.noop.delay(i) for i in range(n)]
        for r in results:
            r.get(timeout=120)
        out["tasks"] = n / (time.perf_counter() - t)
        t = time.perf_counter()
        res = chain(celery_app.add1.s(0), *[celery_app.add1.s() for _ in range(chain_len - 1)])()
        assert res.get(timeout=120) == chain_len
        out["chain"] = chain_len / (time.perf_counter() - t)
        t = time.perf_counter()
        res = chord([celery_app.noop.s(i) for i in range(chord_len)])(celery_app.total.s())
        assert res.get(timeout=120) == sum(range(chord_len))
        out["chord"] = (chord_len + 1) / (time.perf_counter() - t)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
        celery_app.app.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=6)
    ap.add_argument("--tasks", type=int, default=2000)
    ap.add_argument("--redis-aof", action="store_true",
                    help="redis-server persists too (appendfsync everysec, like HeroDB)")
    args = ap.parse_args()
    print(f"machine: {machine()}; redis-server "
          + ("appendonly, everysec" if args.redis_aof else "without persistence")
          + "; HeroDB appendfsync everysec")
    ratios: dict[str, list[float]] = {"tasks": [], "chain": [], "chord": []}
    for r in range(args.repeat):
        # ABBA order: the machine is shared, and a slow minute should not always fall on the
        # same server
        order = ["redis", "hero"] if r % 2 == 0 else ["hero", "redis"]
        got: dict[str, dict[str, float]] = {}
        for which in order:
            server = redis_server("everysec" if args.redis_aof else None) if which == "redis" \
                else herodb_server()
            with server as url:
                got[which] = measure(url, args.tasks, 200, 200)
        red, hero = got["redis"], got["hero"]
        for k in ratios:
            ratios[k].append(hero[k] / red[k])
        print(f"run {r + 1}: " + "; ".join(
            f"{k}: HeroDB {hero[k]:.0f}/s, redis-server {red[k]:.0f}/s, "
            f"ratio {hero[k] / red[k]:.2f}"
            for k in ratios))
    print("median ratios: " + ", ".join(f"{k} {median(v):.2f}" for k, v in ratios.items())
          + "  (target >= 0.95)")


if __name__ == "__main__":
    main()
