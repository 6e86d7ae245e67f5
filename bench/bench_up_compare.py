"""`herocelery up --nodes 2` to ready for several source trees, run alternately (ABAB), so a
change's effect on start-up is seen next to its parent under the same machine load.

    python bench/bench_up_compare.py TREE_DIR [TREE_DIR ...] [--runs 3] [--rounds 2]

Each TREE_DIR is an unpacked checkout with its C extensions built in place
(`git archive REV | tar -x -C DIR && cd DIR && python setup.py build_ext --inplace`).
Prints the seconds from spawning `up` to its "ready" line, per run, and the median per tree.
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def ready_s(tree: Path) -> float:
    data = Path(tempfile.mkdtemp(prefix="bench-up-cmp-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env.update(HEROCELERY_DATA_DIR=str(data), PYTHONPATH=str(tree))
    out = data / "up.out"
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "herocelery", "up", "--nodes", "2",
                             "--api-port", "0", "--no-live"], env=env, cwd=tree,
                            stdout=open(out, "wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        while b"ready in" not in out.read_bytes():
            if proc.poll() is not None or time.monotonic() - t0 > 180:
                raise SystemExit(f"{tree}: up did not become ready:\n{out.read_text()[-2000:]}")
            time.sleep(0.02)
        return time.monotonic() - t0
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(60)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("trees", nargs="+", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    got: dict[Path, list[float]] = {t: [] for t in args.trees}
    for _ in range(args.rounds):
        for tree in args.trees:
            runs = [ready_s(tree) for _ in range(args.runs)]
            got[tree] += runs
            print(f"{tree}: {' '.join(f'{x:.1f}' for x in runs)} "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    for tree, runs in got.items():
        print(f"{tree}: median {statistics.median(runs):.1f} s of {len(runs)}")


if __name__ == "__main__":
    main()
