"""CPU and wall time per python job in the three ways the python runner can start one
(issue 19.3): the clean zygote (the job's content goes by a file its forked child reads),
a fork of the worker image (what unprotected installations did before the zygote), and a
fresh interpreter (fork + exec; what protected installations, `up` included now, used).

    python bench/bench_job_isolation.py [--jobs 40] [--repeats 3]

CPU = this process's own user+system time plus its children's (reaped jobs), plus the
zygote's own and its reaped children's (from /proc/<pid>/stat). Median of the repeats.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import time

from herocelery.runners.base import JobContext
from herocelery.runners.python import PythonRunner

TICK = os.sysconf("SC_CLK_TCK")


def job(i: int, fresh: bool) -> JobContext:
    return JobContext(job_id=f"{i:032x}", flow_id="f", name=f"j{i}", runner="python",
                      script="result = 1", args={}, env={}, inputs={}, caller_id="local",
                      context_id="default", node="node1", timeout_s=30,
                      db_url="redis://127.0.0.1:1/4", fresh_interpreter=fresh)


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return sum(int(v) for v in fields[11:15]) / TICK      # utime stime cutime cstime


def cpu_now() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def measure(mode: str, n: int) -> tuple[float, float]:
    runner = PythonRunner(use_zygote=(mode == "zygote"))
    runner.run(job(0, mode == "fresh"))                  # warm: the zygote starts here
    zpid = runner.zygote.proc.pid if runner.zygote.proc is not None else None
    z0 = proc_cpu(zpid) if zpid else 0.0
    c0, t0 = cpu_now(), time.perf_counter()
    for i in range(1, n + 1):
        assert runner.run(job(i, mode == "fresh")) == 1
    wall = time.perf_counter() - t0
    cpu = cpu_now() - c0 + ((proc_cpu(zpid) - z0) if zpid else 0.0)
    runner.zygote.stop()
    return cpu / n * 1000, wall / n * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    rows: dict[str, list[tuple[float, float]]] = {"zygote": [], "fork-worker": [], "fresh": []}
    for _ in range(a.repeats):
        for mode in rows:                                 # side by side, interleaved
            rows[mode].append(measure(mode, a.jobs))
    print(f"| start of a python job ({a.jobs} jobs x {a.repeats}, median) | CPU ms/job | "
          "wall ms/job |")
    print("|---|---:|---:|")
    for mode, got in rows.items():
        print(f"| {mode} | {statistics.median(c for c, _ in got):.1f} | "
              f"{statistics.median(w for _, w in got):.1f} |")


if __name__ == "__main__":
    main()
