"""Exactness: a job starts when its prerequisites end, not later than needed.

Runs the N-shaped DAG (a->c, b->c, b->d) and a seeded random 20-job DAG of sleep jobs
(0.2-1.0 s) and reports makespan (submit -> flow finished) over the critical path (the
longest chain of sleeps). Target: at most 1.10.

    python bench/bench_exactness.py [--repeat 3] [--broker redis|herodb]
"""
from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hero_installation, machine, median  # noqa: E402

from herocelery.flow import Flow  # noqa: E402
from herocelery.settings import Settings  # noqa: E402


def critical_path(sleeps: dict[str, float], after: dict[str, list[str]]) -> float:
    finish: dict[str, float] = {}
    for name in sleeps:  # jobs are in topological order by construction
        finish[name] = sleeps[name] + max((finish[p] for p in after[name]), default=0.0)
    return max(finish.values())


def n_shape() -> tuple[dict[str, float], dict[str, list[str]]]:
    return ({"a": 1.0, "b": 0.3, "c": 0.5, "d": 0.5},
            {"a": [], "b": [], "c": ["a", "b"], "d": ["b"]})


def random_dag(seed: int, n: int = 20) -> tuple[dict[str, float], dict[str, list[str]]]:
    rng = random.Random(seed)
    sleeps, after = {}, {}
    for i in range(n):
        name = f"j{i:02d}"
        sleeps[name] = round(rng.uniform(0.2, 1.0), 3)
        earlier = list(sleeps)[:-1]
        after[name] = sorted(rng.sample(earlier, k=min(len(earlier), rng.choice([0, 1, 1, 2, 3]))))
    return sleeps, after


def run(settings: Settings, name: str, sleeps: dict[str, float],
        after: dict[str, list[str]]) -> float:
    f = Flow(name)
    for job, secs in sleeps.items():
        f.job(job, after=after[job], script=f"import time; time.sleep({secs})")
    start = time.time()
    handle = f.submit(settings)
    status = handle.wait(120, poll_s=0.01)
    assert status.value == "finished", status
    record = handle.record()
    handle.close()
    return (record.finished_at or time.time()) - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--broker", choices=["redis", "herodb"], default="redis")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with hero_installation(args.broker, concurrency=16) as (_, settings, _cluster):
        for label, (sleeps, after) in (("N-shape", n_shape()),
                                       ("random-20 (seed 7)", random_dag(7))):
            cp = critical_path(sleeps, after)
            ratios = []
            for _ in range(args.repeat):
                makespan = run(settings, "exact", sleeps, after)
                ratios.append(makespan / cp)
            print(f"{label}: critical path {cp:.2f}s, makespans "
                  f"{', '.join(f'{r * cp:.2f}s' for r in ratios)}; median ratio "
                  f"{median(ratios):.3f} (target <= 1.10)")


if __name__ == "__main__":
    main()
