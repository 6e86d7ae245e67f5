"""Recovery (issue 13): how long from a fault to every flow finished, and what the reconciler
costs on an idle installation.

    python bench/bench_recovery.py [--repeat 5] [--faults runner,supervisor,...] \
        [--idle-flows 10000]

Each fault runs on the rig of tests/faults (a store, node1's supervisor managing a python
runner with 3 processes, a reconciler; all real processes): 3 flows of 105 jobs (root, 100
short, 3 jobs of 2-5 s, sink) are submitted, the fault is injected once the long jobs run, and
the clock runs from the kill (for store faults: from the store being back) until every flow
finished. Prints one line per run and the median per fault; targets: <= 30 s for worker
loss, <= 10 s after the store comes back.

Idle cost: 10,000 finished flows written to the store as finishing leaves them (flow and job
records, the flows index; nothing in flight), then one `herocelery reconciler start` process
measured from /proc for 60 s (CPU seconds / wall seconds = share of one core).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine  # noqa: E402

sys.path[:0] = [str(ROOT / "tests" / "faults"), str(ROOT / "tests")]
from rig import Rig  # noqa: E402

FAULTS = {                      # fault -> store kind of its rig
    "runner": "redis", "supervisor": "redis", "reconciler": "redis", "pause": "redis",
    "pause-herodb": "herodb-everysec",
    "herodb-always": "herodb-always", "herodb-everysec": "herodb-everysec",
    "redis-aof": "redis-aof",
}


def under_way(flows):
    return lambda seen: all((fid, "long2") in seen for fid in flows)


def one(rig: Rig, fault: str) -> tuple[float, str]:
    before = rig.finished_count()
    flows = rig.submit(3)
    rig.wait_running(flows, under_way(flows))
    t0 = time.monotonic()
    if fault == "runner":
        os.killpg(rig.runner_pid(), signal.SIGKILL)
    elif fault == "supervisor":
        rig.kill9("supervisor")
        rig.start_supervisor()
    elif fault == "reconciler":
        rig.kill9("reconciler")
        rig.start_reconciler()
    elif fault.startswith("pause"):
        rig.store.pause()
        time.sleep(10)
        t0 = time.monotonic()
        rig.store.resume()
    else:
        rig.store.kill9()
        rig.store.start()
        t0 = time.monotonic()
    outcome = rig.outcome(fault, flows, t0, before, timeout=300)
    rig.wait_ready()
    return outcome.recovery_s, outcome.line()


def recovery(faults: list[str], repeat: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    rigs: dict[str, Rig] = {}
    try:
        for fault in faults:
            kind = FAULTS[fault]
            if kind not in rigs:
                rigs[kind] = Rig(kind, Path(tempfile.mkdtemp(prefix=f"bench-rec-{kind}-"))
                                 ).start()
            for i in range(repeat):
                seconds, line = one(rigs[kind], fault)
                out.setdefault(fault, []).append(seconds)
                print(f"run {i + 1}: {line}", flush=True)
            print(f"{fault}: median {statistics.median(out[fault]):.1f} s "
                  f"(runs: {', '.join(f'{s:.1f}' for s in out[fault])})", flush=True)
    finally:
        for rig in rigs.values():
            rig.stop()
    return out


def idle(flows: int, seconds: float) -> float:
    """Share of one core the reconciler uses with `flows` finished flows and nothing else."""
    from herocelery.celeryapp import make_app
    from herocelery.contexts import Registry
    from herocelery.coordinator import build_records
    from herocelery.models import FlowSpec, FlowStatus, JobStatus
    rig = Rig("redis", Path(tempfile.mkdtemp(prefix="bench-rec-idle-")))
    rig.store.start(rig.settings)
    app = make_app(rig.settings)
    rt = app.runtime
    try:
        spec = FlowSpec.model_validate({"name": "done", "jobs": {
            "a": {"script": "result = 1"}, "b": {"script": "result = 2", "after": ["a"]}}})
        ctx = Registry(rt.store.r, rt.settings).context("default")
        r = rt.store.database(ctx.db)
        from herocelery.keys import Keys
        for start in range(0, flows, 500):
            pipe = r.pipeline(transaction=False)
            for _ in range(min(500, flows - start)):
                flow, jobs = build_records(rt, spec, "local", home=ctx.db)
                for job in jobs:
                    done = job.model_copy(update={"status": JobStatus.finished, "attempts": 1,
                                                  "result": 1, "pending": 0})
                    pipe.hset(Keys.job(job.id), mapping=done.to_hash())
                record = flow.model_copy(update={"status": FlowStatus.finished, "remaining": 0})
                pipe.hset(Keys.flow(flow.id), mapping=record.to_hash())
                pipe.zadd(Keys.flows(), {flow.id: flow.created_at})
            pipe.execute()
        rig.start_reconciler()
        pid = rig.procs["reconciler"].pid
        deadline = time.monotonic() + 60
        while not rt.store.reconcilers() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2)                                  # past its start-up
        cpu0, t0 = _cpu_s(pid), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = _cpu_s(pid), time.monotonic()
        share = (cpu1 - cpu0) / (t1 - t0)
        state = next(iter(rt.store.reconcilers().values()))
        print(f"idle reconciler, {flows} finished flows: {share * 100:.2f} % of a core over "
              f"{t1 - t0:.0f} s ({cpu1 - cpu0:.2f} CPU s; {state['passes']} passes, last pass "
              f"{state['pass_ms']} ms)", flush=True)
        return share
    finally:
        rt.close()
        app.close()
        rig.stop()


def _cpu_s(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--faults", default=",".join(FAULTS))
    ap.add_argument("--idle-flows", type=int, default=10_000)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    args = ap.parse_args()
    print(f"machine: {machine()}", flush=True)
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}",
          flush=True)
    faults = [f for f in args.faults.split(",") if f]
    if faults:
        recovery(faults, args.repeat)
    if args.idle_flows:
        idle(args.idle_flows, args.idle_seconds)
    print(f"load: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}",
          flush=True)


if __name__ == "__main__":
    main()
