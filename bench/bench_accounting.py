"""Where a job's cost goes (issue 16.1): CPU per job per process, chain latency, one hop.

    python bench/bench_accounting.py [--jobs 2000] [--repeat 3] [--chains 30]

Side by side on one redis-server, each repeat:

1. herocelery: N independent no-op python jobs; CPU per job of every process, from
   /proc/<pid>/stat deltas (utime+stime; the jobs' own processes as the zygotes' reaped
   children, cutime+cstime): the submitting process ("coordinator side": build, submit,
   wait), the supervisor, the runner's Celery main process, its pool processes, the
   zygotes, the job children, the store server. Then plain Celery (herocelery's options)
   on the same server and worker count: worker main, pool, server, sender.
2. chain latency: a 3-job no-op python chain (submit -> the flow's finished_at), a 3-job
   Rhai chain, a Celery chain of 3 no-op tasks (send -> the last task's timestamp);
   median and p95 of `--chains` runs each, ratio of the medians.
3. one chain hop a -> b, from timestamps: the job records (finished_at, dispatched_at,
   started_at), the Celery task events of the admission and runner messages (sent,
   received, started), and the time the job's script read in its child. Medians.

Not a test: the figures go to bench/RESULTS.md with the machine and its load.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, machine, median, redis_server

from herocelery.flow import Flow
from herocelery.keys import Keys
from herocelery.settings import Settings
from herocelery.store import Store

TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")
KINDS = ("coordinator side (submit+wait)", "supervisor", "runner main", "runner pool",
         "zygote", "job children", "store server")
PLAIN_KINDS = ("sender", "worker main", "worker pool", "store server")


# ---- /proc accounting ------------------------------------------------------------------
def _table() -> dict[int, tuple[int, str, int, int]]:
    """pid -> (ppid, cmdline, own ticks, reaped children's ticks) of every process."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            with open(f"/proc/{d}/cmdline") as f:
                cmd = f.read().replace("\0", " ")
        except OSError:
            continue
        # after the name: state ppid ... utime(12) stime(13) cutime(14) cstime(15)
        out[int(d)] = (int(fields[1]), cmd, int(fields[11]) + int(fields[12]),
                       int(fields[13]) + int(fields[14]))
    return out


def _descendants(table: dict[int, tuple[int, str, int, int]], root: int) -> list[int]:
    kids: dict[int, list[int]] = {}
    for pid, row in table.items():
        kids.setdefault(row[0], []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += kids.get(pid, [])
    return out


def classify(table: dict[int, tuple[int, str, int, int]], pid: int) -> str | None:
    """Which part of the hierarchy a process of this benchmark's tree is."""
    ppid, cmd = table[pid][0], table[pid][1]
    parent = table.get(ppid, (0, "", 0, 0))[1]
    if pid == os.getpid():
        return KINDS[0]
    if "redis-server" in cmd:
        return "store server"
    if "supervisor start" in cmd:
        return "supervisor"
    if "runner start" in cmd:
        return "runner pool" if "runner start" in parent else "runner main"
    if "herocelery.runners.zygote" in cmd:
        return "zygote"
    if "celery -A plain_app" in cmd or "-m celery -A plain_app" in cmd:
        return "worker pool" if "plain_app" in parent else "worker main"
    return None


def sample() -> dict[str, float]:
    """Ticks per kind over this process's tree (the job children: the zygotes' reaped)."""
    table = _table()
    out: dict[str, float] = {}
    for pid in _descendants(table, os.getpid()):
        kind = classify(table, pid)
        if kind is None:
            continue
        out[kind] = out.get(kind, 0) + table[pid][2]
        if kind == "zygote":
            out["job children"] = out.get("job children", 0) + table[pid][3]
    return out


def per_job_ms(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    kinds = set(before) | set(after)
    return {k: (after.get(k, 0) - before.get(k, 0)) * TICK_MS / n for k in kinds}


# ---- herocelery side ---------------------------------------------------------------------
def hero_throughput(settings: Settings, n: int) -> tuple[float, dict[str, float]]:
    f = Flow("accounting")
    for i in range(n):
        f.job(f"j{i}", script="result = None")
    before = sample()
    start = time.perf_counter()
    handle = f.submit(settings)
    status = handle.wait(900, poll_s=0.01)
    elapsed = time.perf_counter() - start
    after = sample()
    if status.value != "finished":
        errors: dict[str, int] = {}
        for job in handle.jobs().values():
            if job.error:
                what = f"{job.status.value}: {str(job.error.get('message'))[:160]}"
                errors[what] = errors.get(what, 0) + 1
        raise RuntimeError(f"flow ended {status.value}: {errors}")
    return n / elapsed, per_job_ms(before, after, n)


def hero_chain(settings: Settings, runner: str, script: str) -> float:
    """Submit -> the flow's finished_at of a 3-job chain a -> b -> c, in seconds."""
    f = Flow(f"chain-{runner}")
    f.job("a", runner=runner, script=script)
    f.job("b", runner=runner, after=["a"], script=script)
    f.job("c", runner=runner, after=["b"], script=script)
    start = time.time()
    handle = f.submit(settings)
    status = handle.wait(60, poll_s=0.002)
    record = handle.record()
    handle.close()
    assert status.value == "finished", status
    return float(record.finished_at or time.time()) - start


# ---- plain Celery side -------------------------------------------------------------------
class Plain:
    """A plain Celery worker (herocelery's options) on `url`, started once."""

    def __init__(self, url: str, conc: int) -> None:
        self.env = {**os.environ, "PLAIN_BROKER": url + "/8", "PLAIN_COUNTER": url + "/9",
                    "PLAIN_SAME_CONFIG": "1", "PYTHONPATH": str(ROOT / "bench")}
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "plain_app", "worker", "-c", str(conc),
             "--pool", "prefork", "-l", "WARNING", "--without-gossip", "--without-mingle",
             "-Q", "celery"], env=self.env, cwd=str(ROOT / "bench"),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        sys.path.insert(0, str(ROOT / "bench"))
        os.environ.update({k: self.env[k] for k in ("PLAIN_BROKER", "PLAIN_COUNTER",
                                                      "PLAIN_SAME_CONFIG")})
        import plain_app
        self.mod = plain_app
        self.counter = redis.Redis.from_url(url + "/9")
        key = uuid.uuid4().hex
        plain_app.noop.delay(key)
        self._until(key, 1, 60)

    def _until(self, key: str, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while int(self.counter.get(key) or 0) < n:
            if time.monotonic() > deadline:
                raise RuntimeError("plain Celery worker did not keep up")
            time.sleep(0.001)

    def throughput(self, n: int) -> tuple[float, dict[str, float]]:
        key = uuid.uuid4().hex
        before = sample()
        start = time.perf_counter()
        with self.mod.app.producer_or_acquire() as producer:
            for _ in range(n):
                self.mod.noop.apply_async((key,), producer=producer)
        self._until(key, n, 600)
        elapsed = time.perf_counter() - start
        after = sample()
        ms = per_job_ms(before, after, n)
        ms["sender"] = ms.pop(KINDS[0], 0.0)
        return n / elapsed, ms

    def chain(self) -> float:
        from celery import chain
        key = uuid.uuid4().hex
        m = self.mod
        start = time.time()
        chain(m.noop.si(key), m.noop.si(key), m.stamp.si(key)).apply_async()
        self._until(key, 3, 60)
        return float(self.counter.get(key + ":t") or 0) - start

    def close(self) -> None:
        os.killpg(self.worker.pid, signal.SIGTERM)
        self.worker.wait()
        self.mod.app.close()


# ---- one hop from timestamps -------------------------------------------------------------
class Events:
    """Celery task events of the installation, captured in a thread (as Flower does)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, Any]] = []
        self.receiver: Any = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with self.app.connection() as conn:
            self.receiver = self.app.events.Receiver(conn, handlers={"*": self.seen.append})
            self.ready.set()
            self.receiver.capture(limit=None, timeout=None, wakeup=False)

    def __enter__(self) -> Events:
        self.thread.start()
        assert self.ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self.receiver.should_stop = True
        self.thread.join(5)

    def at(self, uuid_: str, kind: str) -> float | None:
        for e in self.seen:
            if e.get("uuid") == uuid_ and e.get("type") == kind:
                return float(e["timestamp"])
        return None

    def admission_of(self, flow_id: str, name: str) -> str | None:
        for e in self.seen:
            if (e.get("type") == "task-sent" and e.get("name") == "hero.admit"
                    and f"flow={flow_id} jobs={name}" in str(e.get("args"))):
                return str(e["uuid"])
        return None


HOP = ("submit called -> a's script runs",
       "a: script ran -> settle begins (child exit, pipes, record)",
       "settle begins -> admission message sent (settle script, dispatch)",
       "admission sent -> received by the supervisor",
       "received -> admission task started (supervisor pool)",
       "admission started -> b marked dispatched (admission checks)",
       "b dispatched -> runner message sent",
       "runner message sent -> received by the runner",
       "received -> runner task started (pool)",
       "task started -> b claimed (claim script)",
       "b claimed -> b's script runs (context, fork)",
       "b's script ran -> the flow's finished_at (b is the last job)",
       "hop total: a's script -> b's script")


def hop_breakdown(settings: Settings, app: Any, events: Events) -> list[float]:
    script = "import time\nresult = time.time()"
    f = Flow("hop")
    f.job("a", script=script)
    f.job("b", after=["a"], script=script)
    submitted = time.time()
    handle = f.submit(settings)
    assert handle.wait(60, poll_s=0.005).value == "finished"
    store = Store.from_url(settings.store_url())
    try:
        flow = handle.record()
        ids = flow.jobs
        rec = {n: store.home(j).hgetall(Keys.job(j)) for n, j in ids.items()}
    finally:
        store.close()
        handle.close()
    a, b = rec["a"], rec["b"]
    deadline = time.monotonic() + 10
    while True:
        admit = events.admission_of(handle.id, "b")
        # no admission message: b was admitted by the runner that settled a (issue 16.2);
        # those three segments are then 0 and the admission's work counts from the settle
        settled = float(a["finished_at"])
        t = [submitted, float(a["result"]), settled,
             events.at(admit, "task-sent") if admit else settled,
             events.at(admit, "task-received") if admit else settled,
             events.at(admit, "task-started") if admit else settled,
             float(b["dispatched_at"]),
             events.at(str(b["task_id"]), "task-sent"),
             events.at(str(b["task_id"]), "task-received"),
             events.at(str(b["task_id"]), "task-started"),
             float(b["started_at"]), float(b["result"]), float(flow.finished_at or 0)]
        if (all(x is not None for x in t) and events.at(str(b["task_id"]), "task-started")
                is not None) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if any(x is None for x in t):
        return []
    vals = [float(x) for x in t]  # type: ignore[arg-type]
    return [(vals[i + 1] - vals[i]) * 1000 for i in range(len(vals) - 1)] + \
        [(vals[-2] - vals[1]) * 1000]


# ---- the run -----------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@__import__("contextlib").contextmanager
def installation(conc: int) -> Iterator[tuple[str, Settings]]:
    from herocelery.launcher import Cluster
    with redis_server() as url:
        settings = Settings.load(env={}, broker_url=url + "/1", concurrency=conc,
                                 data_dir=Path(tempfile.mkdtemp()), log_level="WARNING")
        with Cluster(settings, {"node1": ["python", "rhai"]}, Path(tempfile.mkdtemp())):
            yield url, settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--jobs", type=int, default=2000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--chains", type=int, default=30)
    ap.add_argument("--concurrency", type=int, default=2)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--json", action="store_true",
                    help="end with one line RESULT {...} (for bench_steps.py)")
    args = ap.parse_args()
    summary: dict[str, Any] = {"ratio": [], "hero_ms": [], "plain_ms": [], "chain": [],
                               "chain_p95": [], "rhai": [], "rhai_p95": [], "celery": [],
                               "celery_p95": [], "chain_ratio": [], "hop": []}
    import herocelery
    print(f"machine: {machine()}; load at start {load()}; herocelery from {herocelery.__file__}")
    from herocelery.celeryapp import make_app
    ratios, chain_ratios = [], []
    with installation(args.concurrency) as (url, settings):
        app = make_app(settings)
        # warm: both pool processes' zygotes and the rhai runner
        warm = Flow("warm")
        for i in range(8):
            warm.job(f"w{i}", script="result = 1")
        warm.job("r", runner="rhai", script="1")
        warm.submit(settings).wait(60)
        plain = Plain(url, args.concurrency)
        try:
            for r in range(args.repeat):
                print(f"\n== repeat {r + 1} (load {load()})")
                if not args.skip_throughput:
                    hero, hero_ms = hero_throughput(settings, args.jobs)
                    pl, plain_ms = plain.throughput(args.jobs)
                    ratios.append(hero / pl)
                    summary["ratio"].append(hero / pl)
                    summary["hero_ms"].append(hero_ms)
                    summary["plain_ms"].append(plain_ms)
                    print(f"throughput: herocelery {hero:.0f} jobs/s, plain Celery {pl:.0f} "
                          f"tasks/s, ratio {hero / pl:.2f}")
                    print("CPU ms per job   herocelery: " + ", ".join(
                        f"{k} {hero_ms.get(k, 0):.2f}" for k in KINDS)
                        + f"; total {sum(hero_ms.values()):.2f}")
                    print("CPU ms per task  plain Celery: " + ", ".join(
                        f"{k} {plain_ms.get(k, 0):.2f}" for k in PLAIN_KINDS)
                        + f"; total {sum(plain_ms.values()):.2f}")
                py = [hero_chain(settings, "python", "result = None")
                      for _ in range(args.chains)]
                rh = [hero_chain(settings, "rhai", "1") for _ in range(args.chains)]
                ce = [plain.chain() for _ in range(args.chains)]
                chain_ratios.append(median(py) / median(ce))
                for name, vals in (("chain", py), ("rhai", rh), ("celery", ce)):
                    summary[name].append(median(vals) * 1e3)
                    summary[name + "_p95"].append(pct(vals, .95) * 1e3)
                summary["chain_ratio"].append(chain_ratios[-1])
                print(f"chain of 3, ms median / p95: python {median(py) * 1e3:.1f} / "
                      f"{pct(py, .95) * 1e3:.1f}, rhai {median(rh) * 1e3:.1f} / "
                      f"{pct(rh, .95) * 1e3:.1f}, Celery chain {median(ce) * 1e3:.1f} / "
                      f"{pct(ce, .95) * 1e3:.1f}; ratio python/Celery "
                      f"{chain_ratios[-1]:.2f}")
                with Events(app) as events:
                    hops = [h for h in (hop_breakdown(settings, app, events)
                                        for _ in range(max(5, args.chains // 3))) if h]
                summary["hop"].append([statistics.median(h[i] for h in hops)
                                       for i in range(len(HOP))] if hops else [])
                print(f"one hop a -> b, ms (median of {len(hops)}):")
                for i, label in enumerate(HOP if hops else ()):
                    print(f"  {statistics.median(h[i] for h in hops):7.2f}  {label}")
        finally:
            plain.close()
            app.close()
    if ratios:
        print(f"\nthroughput ratio median {median(ratios):.2f} "
              f"(range {min(ratios):.2f}-{max(ratios):.2f}; target >= 0.5)")
    print(f"chain ratio median {median(chain_ratios):.2f} "
          f"(range {min(chain_ratios):.2f}-{max(chain_ratios):.2f}; target <= 2)")
    print(f"load at end {load()}")
    if args.json:
        print("RESULT " + json.dumps(summary))


if __name__ == "__main__":
    main()
