"""Each optimisation step against the step before, in one run (issue 16.2).

    python bench/bench_steps.py REV [REV ...] [--rounds 3] [--jobs 2000] [--chains 30]

REV is a git revision of this repository, or `.` for the working tree. Each revision's
`herocelery/` is exported to a temporary directory; every round runs
`bench/bench_accounting.py --repeat 1` (this checkout's benchmark) once per revision, in
turn, with the revision's package first on PYTHONPATH (the benchmark, the supervisor, the
runners and the zygotes all import it from there). Reports, per revision, the medians over
the rounds: throughput ratio to plain Celery, CPU ms per job by process, chain latencies and
the hop segments. Rounds interleave the revisions so the machine's load falls on all alike.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_accounting import HOP, KINDS  # noqa: E402


def export(rev: str, into: Path) -> Path | None:
    """The revision's package in `into` (None: the working tree, used as installed)."""
    if rev == ".":
        return None
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev, "herocelery"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def one(tree: Path | None, extra: list[str], cwd: Path) -> dict[str, Any]:
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = str(tree) + os.pathsep + env.get("PYTHONPATH", "")
    # not this checkout as the working directory: `python -m herocelery` (the supervisor,
    # the runners) puts it first on sys.path, ahead of PYTHONPATH
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_accounting.py"),
                          "--repeat", "1", "--json", *extra], env=env, cwd=str(cwd),
                         capture_output=True, text=True, timeout=1800)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT "):]))
    raise RuntimeError(f"bench_accounting failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")


def med(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("revs", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--chains", type=int, default=30)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-steps-"))
    trees = {rev: export(rev, tmp / f"r{i}") for i, rev in enumerate(args.revs)}
    extra = ["--jobs", str(args.jobs), "--chains", str(args.chains)]
    got: dict[str, list[dict[str, Any]]] = {rev: [] for rev in args.revs}
    try:
        for r in range(args.rounds):
            for rev in args.revs:
                res = one(trees[rev], extra, tmp)
                got[rev].append(res)
                print(f"round {r + 1} {rev}: ratio {res['ratio'][0]:.2f}, chain "
                      f"{res['chain'][0]:.1f} ms (x{res['chain_ratio'][0]:.2f}), rhai "
                      f"{res['rhai'][0]:.1f} ms, load {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\nmedians (range) over {args.rounds} rounds")
    for rev in args.revs:
        rs = got[rev]
        print(f"\n== {rev}")
        print(f"throughput ratio {med([x['ratio'][0] for x in rs])}")
        print(f"chain ms {med([x['chain'][0] for x in rs])}, p95 "
              f"{med([x['chain_p95'][0] for x in rs])}; Celery chain "
              f"{med([x['celery'][0] for x in rs])}, p95 {med([x['celery_p95'][0] for x in rs])};"
              f" ratio {med([x['chain_ratio'][0] for x in rs])}")
        print(f"rhai chain ms {med([x['rhai'][0] for x in rs])}, p95 "
              f"{med([x['rhai_p95'][0] for x in rs])}")
        for kind in KINDS:
            print(f"  CPU ms/job {kind}: {med([x['hero_ms'][0].get(kind, 0) for x in rs])}")
        print(f"  CPU ms/job total: {med([sum(x['hero_ms'][0].values()) for x in rs])}; "
              f"plain Celery {med([sum(x['plain_ms'][0].values()) for x in rs])}")
        for i, label in enumerate(HOP):
            vals = [x["hop"][0][i] for x in rs if x["hop"] and x["hop"][0]]
            print(f"  hop {label}: {med(vals)}")


if __name__ == "__main__":
    main()
