"""A small real installation to break: a store (redis-server or HeroDB) on a fixed loopback
port and data directory, node1's supervisor managing its python runner, and a reconciler —
every one a subprocess that a fault can kill -9, pause or restart. HeroDB, the supervisor and
the reconciler are started by herocelery/launcher.py with the arguments `up` gives them (so
the processes broken here are the ones `up` ships); redis-server is Debian's.

Flows: a root, 100 short jobs and a few 2–5 s jobs fanned out, and a sink. Every job appends
`<flow> <job> <attempt>` to the effects file before it works, so after a fault every job's
effect can be counted: at least once each, more where a run was lost after its effect.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from support import free_port, port_open, wait_for

STORES = ("redis", "redis-aof", "herodb-always", "herodb-everysec")
RUN_S = 180.0          # a case's flows must all end within this after its fault

JOB = """import time
with open(args["effects"], "a") as out:
    out.write(f"{ctx.flow_id} {ctx.name} {ctx.attempt}\\n")
time.sleep(args.get("sleep", 0))
result = ctx.attempt
"""


@dataclass
class Store:
    """The store (broker, results, records) as a process that can be killed and restarted
    on the same port and data directory."""

    kind: str
    dir: Path
    port: int = field(default_factory=free_port)
    proc: Any = None                   # launcher.Proc (HeroDB) or subprocess.Popen (redis)
    settings: Any = None               # the rig's (HeroDB reads its key and policy there)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    @property
    def persistent(self) -> bool:
        return self.kind != "redis"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return int(self.proc.pid)

    def redis_command(self) -> list[str]:
        exe = shutil.which("redis-server")
        assert exe, "redis-server is not installed (bash scripts/test.sh installs it)"
        aof = ["--appendonly", "yes", "--appendfsync", "everysec"] if self.persistent else \
            ["--appendonly", "no"]
        return [exe, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--dir", str(self.dir), "--databases", "64", *aof]

    def start(self, settings: Any = None) -> None:
        """Start (again) on the same port and data directory."""
        if settings is not None:
            self.settings = settings
        self.dir.mkdir(parents=True, exist_ok=True)
        if self.kind.startswith("herodb"):          # as `up` starts it
            from herocelery import launcher
            self.proc = launcher.start_herodb(
                self.settings.with_(herodb_appendfsync=self.kind.split("-")[1]),
                data_dir=self.dir / "herodb", port=self.port, log=self.dir / "store.log")
            return
        with open(self.dir / "store.log", "ab") as log:
            self.proc = subprocess.Popen(self.redis_command(), stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
        wait_for(lambda: port_open(self.port) or self.proc.poll() is not None, 30,
                 what=f"{self.kind} to listen")
        assert self.proc.poll() is None, (self.dir / "store.log").read_text()[-2000:]

    def _wait(self, timeout: float) -> None:
        popen = getattr(self.proc, "popen", self.proc)
        popen.wait(timeout)

    def kill9(self) -> None:
        os.killpg(self.pid, signal.SIGKILL)
        self._wait(10)

    def pause(self) -> None:
        os.kill(self.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.proc is None:
            return
        popen = getattr(self.proc, "popen", self.proc)
        if popen.poll() is None:
            os.kill(popen.pid, signal.SIGCONT)
            popen.terminate()
            try:
                popen.wait(15)
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


@dataclass
class Outcome:
    """What a case saw, per the issue's report: flows, jobs, lost, stuck, duplicated
    effects, recovery time."""

    fault: str
    flows: int
    jobs: int
    lost: int
    stuck: int
    duplicated: int
    recovery_s: float
    settled_once: bool
    note: str = ""

    def line(self) -> str:
        return (f"{self.fault:<34} flows={self.flows:<3} jobs={self.jobs:<5} lost={self.lost} "
                f"stuck={self.stuck} duplicated_effects={self.duplicated:<3} "
                f"recovery_s={self.recovery_s:6.1f}  settled_once={self.settled_once}"
                + (f"  ({self.note})" if self.note else ""))


class Rig:
    """Store + node1 supervisor (managing its python runner) + a reconciler."""

    def __init__(self, kind: str, root: Path, *, concurrency: int = 3) -> None:
        from herocelery.settings import Settings
        self.root = root
        self.store = Store(kind, root / "store")
        self.effects = root / "effects.txt"
        self.concurrency = concurrency
        self.settings = Settings.load(
            env={}, broker_url=self.store.url + "/1", data_dir=root / "data", lease_s=4.0,
            heartbeat_s=0.5, health_timeout_s=3.0, health_interval_s=0.3,
            reconcile_interval_s=1.0, reconcile_grace_s=3.0, runner_backoff_s=0.2,
            runner_restart_limit=50, job_timeout_s=60.0, visibility_timeout_s=3600.0,
            store_retry_s=30.0, runner_wait_s=120.0, log_level="INFO")
        if kind.startswith("herodb"):   # as `up`: HeroDB requires the data directory's secret
            from herocelery import launcher
            self.settings = self.settings.with_secret(launcher.admin_secret_file(self.settings))
        self.procs: dict[str, Any] = {}          # name -> launcher.Proc

    # ---- processes: started as `up` starts them (herocelery/launcher.py) ----------------------
    def start_supervisor(self) -> None:
        from herocelery import launcher
        args = launcher.supervisor_args("node1", ["python"],
                                        runner_concurrency=self.concurrency)
        self.procs["supervisor"] = launcher.spawn(
            "supervisor", "node1", args, self.settings, self.root / "supervisor.log",
            kind="supervisor")

    def start_reconciler(self) -> None:
        from herocelery import launcher
        self.procs["reconciler"] = launcher.spawn(
            "reconciler", "-", ["reconciler", "start"], self.settings,
            self.root / "reconciler.log", kind="reconciler")

    def start(self) -> Rig:
        self.store.start(self.settings)
        if self.store.kind.startswith("herodb"):   # up's HeroDB requires its admin secret
            from herocelery import launcher
            self.settings = self.settings.with_secret(launcher.admin_secret_file(self.settings))
        self.start_supervisor()
        self.start_reconciler()
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until the supervisor reports its python runner running (launcher's readiness, as
        `up` waits for it) and the reconciler made a pass."""
        from herocelery import launcher

        def ready() -> bool:
            with self.client() as s:
                missing = launcher.runners_missing(
                    s, {"node1": self.procs["supervisor"]}, {"node1": ["python"]},
                    self.settings.heartbeat_s)
                passes = [r for r in s.reconcilers().values()
                          if r.get("pid") == self.procs["reconciler"].pid
                          and time.time() - r.get("last_pass", 0) < 5]
                return not missing and bool(passes)
        wait_for(lambda: _quiet(ready), timeout, interval=0.2, what="the rig to be ready")

    def kill9(self, name: str) -> int:
        """kill -9 of a whole process group (a process and everything it started in it)."""
        proc = self.procs[name]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.popen.wait(10)
        return int(proc.pid)

    def runner_log(self) -> Path:
        return self.settings.data_dir / "logs" / "node1" / "runner-python.log"

    def runner_pid(self) -> int:
        with self.client() as s:
            return int(s.runner_states("node1")["python"]["pid"])

    def stop(self) -> None:
        from herocelery import launcher
        launcher.Processes(list(self.procs.values())).stop(20.0)   # in up's order
        self.store.stop()

    def client(self) -> Any:
        from contextlib import closing

        from herocelery.store import Store as HeroStore
        return closing(HeroStore.from_url(self.settings.store_url(), retry_s=0.5))

    # ---- flows ----------------------------------------------------------------------------
    def submit(self, n: int, *, short: int = 100, long_s: tuple[float, ...] = (2, 3.5, 5)
               ) -> list[str]:
        return submit_flows(self.settings, self.effects, n, short=short, long_s=long_s)

    def effects_seen(self) -> Counter[tuple[str, str]]:
        seen: Counter[tuple[str, str]] = Counter()
        if self.effects.exists():
            for line in self.effects.read_text().splitlines():
                parts = line.split()
                if len(parts) == 3:
                    seen[(parts[0], parts[1])] += 1
        return seen

    def wait_running(self, flows: list[str], what: Callable[[Counter[tuple[str, str]]], bool],
                     timeout: float = 120.0) -> None:
        wait_for(lambda: what(self.effects_seen()), timeout, interval=0.05,
                 what="the flows to be under way")

    def finished_count(self) -> int:
        with self.client() as s:
            return sum(int(v) for k, v in s.metric_counters().items()
                       if k == "jobs|python|finished")

    def outcome(self, fault: str, flows: list[str], t_fault: float, before_finished: int,
                *, timeout: float = RUN_S, lost_ok: bool = False) -> Outcome:
        """Wait for every flow to end (tolerating a store that comes and goes), then count."""
        from herocelery.errors import NotFound
        from herocelery.keys import Keys
        from herocelery.models import TERMINAL_FLOW
        deadline = time.monotonic() + timeout
        ended: dict[str, Any] = {}
        lost: set[str] = set()
        done_at = time.monotonic()
        while time.monotonic() < deadline and len(ended) + len(lost) < len(flows):
            for fid in flows:
                if fid in ended or fid in lost:
                    continue
                try:
                    with self.client() as s:
                        record = s.flow(fid)
                except NotFound:
                    if lost_ok:
                        lost.add(fid)
                    continue
                except Exception:  # noqa: BLE001 - the store is away: look again
                    continue
                if record.status in TERMINAL_FLOW:
                    ended[fid] = record
                    done_at = time.monotonic()
            time.sleep(0.1)
        recovery = done_at - t_fault
        jobs = stuck = 0
        settled_once = True
        seen = self.effects_seen()
        duplicated = missing = 0
        with self.client() as s:
            for fid, record in ended.items():
                records = s.flow_jobs(record)
                jobs += len(records)
                stuck += sum(1 for j in records.values() if j.status.value != "finished")
                # nothing of an ended flow is left for the reconciler to look after
                home = s.home(fid)
                pipe = home.pipeline(transaction=False)
                for j in records.values():
                    pipe.zscore(Keys.inflight(), j.id)
                stuck += sum(1 for score in pipe.execute() if score is not None)
                settled_once &= record.remaining == 0 and record.status.value == "finished"
                for name in records:
                    n = seen.get((fid, name), 0)
                    missing += n == 0
                    duplicated += max(0, n - 1)
            finished = self.finished_count() - before_finished
        if ended and not lost:
            settled_once &= finished == jobs       # each job counted by exactly one settle
        unended = len(flows) - len(ended) - len(lost)
        note = f"{len(lost)} flow(s) reported lost with the store's data" if lost else ""
        return Outcome(fault, len(flows), jobs, unended + missing, stuck + unended, duplicated,
                       recovery, settled_once, note)


def submit_flows(settings: Any, effects: Path, n: int, *, short: int = 100,
                 long_s: tuple[float, ...] = (2, 3.5, 5),
                 on_submit: Callable[[str], None] | None = None) -> list[str]:
    """Submit `n` fan-out/fan-in flows: root, `short` short jobs and one job per `long_s`
    (sleeping that long), then a sink after all of them."""
    from herocelery.flow import Flow
    ids = []
    for i in range(n):
        f = Flow(f"fault-{i}")
        args = {"effects": str(effects)}
        f.job("root", script=JOB, args=args)
        names = []
        for j in range(short):
            f.job(f"s{j}", script=JOB, args=args, after="root")
            names.append(f"s{j}")
        for j, secs in enumerate(long_s):
            f.job(f"long{j}", script=JOB, args={**args, "sleep": secs}, after="root")
            names.append(f"long{j}")
        f.job("sink", script=JOB, args=args, after=names)
        handle = f.submit(settings)
        ids.append(handle.id)
        handle.close()
        if on_submit is not None:
            on_submit(handle.id)
    return ids


def _quiet(fn: Callable[[], bool]) -> bool:
    try:
        return fn()
    except Exception:  # noqa: BLE001 - not up yet
        return False
