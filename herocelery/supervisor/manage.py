"""The supervisor manages its node's runner workers: starts each as a subprocess, restarts
one that dies (exponential backoff, then `failed` after `runner_restart_limit` restarts),
health-checks each from the reports of the worker's own event loop, stops them on shutdown.

Runner state lives in the store (`Keys.runner_states(node)`: runner type -> record with
state, pid, restarts, age of the last loop report, reason, log file), next to the heartbeats
of the workers themselves (`Keys.runners(node)`). States:

    starting  spawned, its loop has not reported yet (within the start-up grace period)
    running   its loop reported, consuming its queue, within `health_timeout_s`
    dead      process exited (a restart is scheduled), or alive but its loop has not
              reported consuming its queue for `health_timeout_s`
    failed    exited more than `runner_restart_limit` times; no more restarts
    stopped   stopped on shutdown

The loop reports from the worker's main process (see `worker.LoopReport`), which is not a
pool process: a runner whose every process runs a long job still reports, so a busy runner
is never taken for a dead one (an earlier build sent a ping task through the job queue and
declared a runner with two long jobs dead). A worker that is registered but no longer consumes
its queue reports so, and shows as `dead` within `health_timeout_s` although it heartbeats.
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import procs
from ..settings import Settings

if TYPE_CHECKING:
    from ..store import Store

SECRET_ENV = ("HERODB_ADMIN_SECRET", "HERODB_ENCRYPTION_KEY")   # never passed to a runner

# the seed's two-node picture; nodes past the second get the first node's runner types
NODE_RUNNERS: tuple[tuple[str, ...], ...] = (("python", "shell"), ("rhai", "heroscript", "osis"))
START_GRACE_S = 30.0          # a fresh worker may take this long to report its loop
MAX_BACKOFF_S = 30.0


def node_runner_types(index: int) -> tuple[str, ...]:
    """Runner types of the node at `index` (0-based) in the seed topology. Pure."""
    return NODE_RUNNERS[index] if index < len(NODE_RUNNERS) else NODE_RUNNERS[0]


def available(types: Sequence[str]) -> list[str]:
    """The types whose runner module is installed (rhai/osis may not be, in a partial
    install). Looks the modules up without importing them, so a supervisor starts fast; a
    runner that then fails to import exits, and is restarted and finally marked failed."""
    import importlib.util

    from ..runners import REGISTRY
    out = []
    for t in types:
        target = REGISTRY.get(t)
        if target is None:
            continue
        try:
            found = importlib.util.find_spec(target.split(":")[0]) is not None
        except (ImportError, ValueError):
            found = False
        if found:
            out.append(t)
    return out


def backoff_s(restarts: int, base_s: float) -> float:
    """Delay before restart number `restarts + 1`: base, 2×base, 4×base ... capped. Pure."""
    return min(MAX_BACKOFF_S, base_s * (2 ** restarts))


def health(alive: bool, started_at: float, last_seen: float | None, now: float,
           timeout_s: float, grace_s: float = START_GRACE_S) -> str:
    """State of a runner whose process is `alive`, from the last time its loop reported
    consuming its queue (`last_seen`). Pure."""
    if not alive:
        return "dead"
    if last_seen is not None and now - last_seen <= timeout_s:
        return "running"
    if last_seen is None and now - started_at <= grace_s:
        return "starting"
    return "dead"


def last_seen(entry: Mapping[str, Any] | None, before: float | None) -> float | None:
    """When a worker's loop last reported consuming its queue, from its registry entry (the
    previous value when this one says it does not consume). Pure."""
    if entry and entry.get("consuming") and entry.get("loop_at") is not None:
        return max(float(entry["loop_at"]), before or 0.0)
    return before


@dataclass
class Managed:
    """One runner worker under supervision."""

    runner: str
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    state: str = "starting"
    restarts: int = 0
    started_at: float = 0.0
    restart_at: float | None = None
    last_seen: float | None = None        # its loop last reported consuming its queue
    consuming: bool = False
    reason: str = ""
    exit_codes: list[int] = field(default_factory=list)

    def record(self, now: float) -> dict[str, Any]:
        return {"runner": self.runner, "state": self.state, "restarts": self.restarts,
                "pid": self.popen.pid if self.popen is not None else None,
                "last_seen_age_s": round(now - self.last_seen, 3) if self.last_seen else None,
                "reason": self.reason, "log": str(self.log), "updated": now}


class RunnerManager:
    """Supervises the runner workers of one node from a background thread."""

    def __init__(self, settings: Settings, node: str, runners: Sequence[str], *,
                 log_dir: Path | None = None, concurrency: int = 0,
                 grace_s: float = START_GRACE_S) -> None:
        self.settings, self.node = settings, node
        self.log_dir = log_dir or settings.data_dir / "logs" / node
        self.concurrency = concurrency
        self.grace_s = grace_s
        self.runners = {r: Managed(r, self.log_dir / f"runner-{r}.log") for r in runners}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: Store | None = None

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self, **_: Any) -> RunnerManager:
        """Spawn every runner and supervise them; returns at once."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name=f"manage-{self.node}",
                                            daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 15.0, **_: Any) -> None:
        """Stop supervising, then stop every runner (SIGTERM, SIGKILL past the timeout)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        # the loop stops its children on its way out; this covers a loop that never ran
        self._stop_children(timeout_s)

    def _loop(self) -> None:
        # children are spawned from this thread, so PDEATHSIG fires when it ends
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for m in self.runners.values():   # first, so the runners start while we import
            self._spawn(m)
        from ..store import Store
        self._store = Store.from_url(self.settings.store_url())
        try:
            while not self._stop.wait(min(self.settings.health_interval_s, 0.5)):
                try:
                    self.tick()
                except Exception:  # noqa: BLE001 - the store blinked; next tick retries
                    pass
        finally:
            self._stop_children(15.0)
            try:
                self._publish(time.time())
                self._store.close()
            except Exception:  # noqa: BLE001
                pass

    # ---- one supervision pass -------------------------------------------------------------
    def tick(self) -> None:
        now = time.time()
        store = self._store
        assert store is not None, "tick() runs in the supervision loop, which opens the store"
        entries = {int(e.get("pid", 0)): e for e in store.runners(self.node)}
        for m in self.runners.values():
            self._check(m, now, entries)
        self._publish(now)

    def _check(self, m: Managed, now: float, entries: Mapping[int, Mapping[str, Any]]
               ) -> None:
        if m.state in ("failed", "stopped"):
            return
        if m.popen is None:                                    # waiting to restart
            if m.restart_at is not None and now >= m.restart_at:
                m.restarts += 1
                self._spawn(m)
            return
        code = m.popen.poll()
        if code is not None:
            m.exit_codes.append(code)
            m.popen = None
            if m.restarts >= self.settings.runner_restart_limit:
                m.state, m.reason = "failed", (f"exited with code {code} after {m.restarts} "
                                               f"restart(s); see {m.log}")
                m.restart_at = None
            else:
                delay = backoff_s(m.restarts, self.settings.runner_backoff_s)
                m.state, m.reason = "dead", f"exited with code {code}; restart in {delay:g}s"
                m.restart_at = now + delay
            return
        entry = entries.get(m.popen.pid)
        m.last_seen = last_seen(entry, m.last_seen)
        if entry is not None:
            m.consuming = bool(entry.get("consuming"))
        m.state = health(True, m.started_at, m.last_seen, now, self.settings.health_timeout_s,
                         self.grace_s)
        if m.state != "dead":
            m.reason = ""
        elif entry is not None and not m.consuming:
            m.reason = f"not consuming its queue {entry.get('queue', '')}".rstrip()
        else:
            m.reason = (f"its worker loop has not reported for "
                        f"{now - (m.last_seen or m.started_at):.1f}s")

    def _publish(self, now: float) -> None:
        if self._store is None:
            return
        self._store.set_runner_states(self.node, {m.runner: m.record(now)
                                                  for m in self.runners.values()})

    # ---- processes ------------------------------------------------------------------------
    def _spawn(self, m: Managed) -> None:
        # the settings as HEROCELERY_* (the broker's password stays in broker_secret_file);
        # no HeroDB secret of the supervisor's own environment reaches a runner
        env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV}
        env.update(self.settings.to_env())
        args = [sys.executable, "-m", "herocelery", "runner", "start", m.runner,
                "--node", self.node]
        if self.concurrency:
            args += ["--concurrency", str(self.concurrency)]
        with open(m.log, "ab") as out:
            m.popen = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True,
                                       preexec_fn=_die_with_parent)
        m.started_at, m.last_seen, m.consuming, m.restart_at = time.time(), None, False, None
        m.state, m.reason = "starting", ""

    def _stop_children(self, timeout_s: float) -> None:
        live = [m for m in self.runners.values() if m.popen is not None]
        procs.stop([m.popen for m in live if m.popen is not None], timeout_s)
        for m in live:
            m.popen, m.state, m.reason = None, "stopped", "supervisor stopped"
        for m in self.runners.values():
            if m.state not in ("failed",):
                m.state = "stopped"

    def states(self) -> dict[str, str]:
        return {r: m.state for r, m in self.runners.items()}


def _die_with_parent() -> None:
    """In the child: receive SIGTERM when the supervising thread's process dies (Linux)."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass
