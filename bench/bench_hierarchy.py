"""Hierarchy cost: N independent no-op python jobs through coordinator -> supervisor -> runner,
against N plain Celery no-op tasks on the same broker with the same number of worker processes.

    python bench/bench_hierarchy.py [--jobs 1000] [--repeat 3] [--broker redis|herodb]

Prints one line per run and the median ratio (herocelery jobs/s / plain Celery tasks/s).
"""
from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, hero_installation, machine, median  # noqa: E402

from herocelery.flow import Flow  # noqa: E402
from herocelery.settings import Settings  # noqa: E402


def plain_run(url: str, n: int, conc: int, same_config: bool) -> float:
    env = {**os.environ, "PLAIN_BROKER": url + "/8", "PLAIN_COUNTER": url + "/9",
           "PLAIN_SAME_CONFIG": "1" if same_config else "0", "PYTHONPATH": str(ROOT / "bench")}
    worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "plain_app", "worker",
                               "-c", str(conc), "--pool", "prefork", "-l", "WARNING",
                               "--without-gossip", "--without-mingle", "-Q", "celery"],
                              env=env, cwd=str(ROOT / "bench"), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    sys.path.insert(0, str(ROOT / "bench"))
    os.environ.update({k: env[k] for k in ("PLAIN_BROKER", "PLAIN_COUNTER",
                                             "PLAIN_SAME_CONFIG")})
    import importlib

    import plain_app
    importlib.reload(plain_app)
    counter = redis.Redis.from_url(url + "/9")
    key = uuid.uuid4().hex
    try:
        # warm-up: the worker is ready once it processed one task
        plain_app.noop.delay(key + "w")
        deadline = time.monotonic() + 60
        while not counter.get(key + "w"):
            if time.monotonic() > deadline:
                raise RuntimeError("plain worker did not start")
            time.sleep(0.05)
        start = time.perf_counter()
        with plain_app.app.producer_or_acquire() as producer:
            for _ in range(n):
                plain_app.noop.apply_async((key,), producer=producer)
        while int(counter.get(key) or 0) < n:
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait()
        plain_app.app.close()
    return n / elapsed


def hero_run(settings: Settings, n: int) -> float:
    f = Flow("hierarchy")
    for i in range(n):
        f.job(f"j{i}", script="result = None")
    warm = Flow("warm")
    warm.job("w", script="result = 1")
    warm.submit(settings).wait(60)
    start = time.perf_counter()
    handle = f.submit(settings)
    status = handle.wait(600, poll_s=0.01)
    elapsed = time.perf_counter() - start
    assert status.value == "finished", status
    return n / elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--broker", choices=["redis", "herodb"], default="redis")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    ratios, ratios_default = [], []
    with hero_installation(args.broker, args.concurrency) as (url, settings, _cluster):
        for r in range(args.repeat):
            hero = hero_run(settings, args.jobs)
            plain_same = plain_run(url, args.jobs, args.concurrency, True)
            plain_default = plain_run(url, args.jobs, args.concurrency, False)
            ratios.append(hero / plain_same)
            ratios_default.append(hero / plain_default)
            print(f"run {r + 1}: herocelery {hero:.0f} jobs/s, plain Celery (same options) "
                  f"{plain_same:.0f} tasks/s, plain Celery (defaults) {plain_default:.0f} "
                  f"tasks/s, ratio {ratios[-1]:.2f} / {ratios_default[-1]:.2f}")
    print(f"median ratio vs same-options Celery: {median(ratios):.2f}; "
          f"vs default Celery: {median(ratios_default):.2f}  (target >= 0.5)")

if __name__ == "__main__":
    main()
