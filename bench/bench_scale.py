"""Scale: one flow of N jobs (fan-out to N, then one fan-in job).

Reports validation + submission time of the submitting process (target: under 3 s for 5,000),
completion time, that no recursion or message-size error happened, and peak RSS of the
submitting process and of each worker (VmHWM, including pool children).

    python bench/bench_scale.py [--jobs 5000] [--broker redis|herodb]
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import hero_installation, machine, rss_peak_kb, tree_pids  # noqa: E402

from herocelery.flow import Flow  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=5000)
    ap.add_argument("--broker", choices=["redis", "herodb"], default="redis")
    args = ap.parse_args()
    print(f"machine: {machine()}")
    with hero_installation(args.broker, concurrency=2) as (_, settings, cluster):
        t0 = time.perf_counter()
        f = Flow("scale")
        names = [f.job(f"w{i}", script="result = 1") for i in range(args.jobs)]
        f.job("join", after=names, script="result = sum(inputs.values())")
        t1 = time.perf_counter()
        handle = f.submit(settings)
        t2 = time.perf_counter()
        status = handle.wait(3600, poll_s=0.2)
        t3 = time.perf_counter()
        result = handle.results["join"]
        peaks = {p.name: sum(rss_peak_kb(pid) for pid in tree_pids(p.popen.pid))
                 for p in cluster.procs}
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{args.jobs} + 1 jobs: built in {t1 - t0:.2f}s, validated+stored+dispatched in "
          f"{t2 - t1:.2f}s (build+submit {t2 - t0:.2f}s; target < 3 s), completed in "
          f"{t3 - t2:.1f}s ({args.jobs / (t3 - t2):.0f} jobs/s), status {status.value}, "
          f"join result {result}")
    print(f"peak RSS: submitter {own / 1024:.0f} MiB; " + ", ".join(
        f"{k} {v / 1024:.0f} MiB (process tree)" for k, v in peaks.items()))


if __name__ == "__main__":
    main()
