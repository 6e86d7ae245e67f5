"""Two source trees side by side (before / after a change), in one run, alternating.

    python bench/bench_trees.py --before DIR --after DIR [--rounds 3] [--jobs 1000] [--chains 20]

Each round runs, for each tree (the order alternating round by round), this checkout's
`bench_hierarchy.py --repeat 1` (no-op python jobs vs plain Celery with the same options) and
`bench_accounting.py --skip-throughput --repeat 1` (3-job python chain vs a Celery chain of 3),
with PYTHONPATH set to the tree and the working directory outside both (`python -m` puts the
working directory first on sys.path, so the workers would otherwise import whichever tree the
command runs in). Each tree needs its C extensions built in place. Prints the medians; the
figures go to bench/RESULTS.md by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def run_tree(tree: str, jobs: int, chains: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": tree}
    cwd = tempfile.gettempdir()
    out: dict[str, float] = {"load": os.getloadavg()[0]}
    h = subprocess.run([sys.executable, str(BENCH / "bench_hierarchy.py"), "--jobs", str(jobs),
                        "--repeat", "1"], cwd=cwd, env=env, capture_output=True, text=True,
                       check=False, timeout=1800)
    m = re.search(r"herocelery (\d+) jobs/s.*ratio ([\d.]+) /", h.stdout)
    if m:
        out["jobs_s"], out["hierarchy"] = float(m.group(1)), float(m.group(2))
    else:
        print(f"{tree}: bench_hierarchy failed\n{h.stdout[-800:]}\n{h.stderr[-1500:]}")
    a = subprocess.run([sys.executable, str(BENCH / "bench_accounting.py"), "--skip-throughput",
                        "--chains", str(chains), "--repeat", "1", "--json"], cwd=cwd, env=env,
                       capture_output=True, text=True, check=False, timeout=1800)
    rows = [line for line in a.stdout.splitlines() if line.startswith("RESULT ")]
    if rows:
        d = json.loads(rows[-1][len("RESULT "):])
        out["chain_ms"], out["celery_ms"] = d["chain"][0], d["celery"][0]   # medians, in ms
        out["chain_p95_ms"], out["chain_ratio"] = d["chain_p95"][0], d["chain_ratio"][0]
    else:
        print(f"{tree}: bench_accounting failed\n{a.stdout[-800:]}\n{a.stderr[-1500:]}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=1000)
    ap.add_argument("--chains", type=int, default=20)
    args = ap.parse_args()
    trees = {"before": args.before, "after": args.after}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for r in range(args.rounds):
        order = list(trees) if r % 2 == 0 else list(reversed(trees))
        for name in order:
            got = run_tree(trees[name], args.jobs, args.chains)
            runs[name].append(got)
            print(f"round {r + 1} {name}: " + ", ".join(f"{k} {v:.2f}" for k, v in got.items()),
                  flush=True)
    print("RESULT " + json.dumps(runs))
    for name, rows in runs.items():
        def med(key: str, rows: list[dict[str, float]] = rows) -> float:
            vals = [row[key] for row in rows if key in row]
            return statistics.median(vals) if vals else float("nan")
        print(f"{name}: hierarchy ratio {med('hierarchy'):.2f} ({med('jobs_s'):.0f} jobs/s), "
              f"chain {med('chain_ms'):.1f} ms (p95 {med('chain_p95_ms'):.1f}), "
              f"chain / Celery chain {med('chain_ratio'):.2f}; medians of {len(rows)}")


if __name__ == "__main__":
    main()
