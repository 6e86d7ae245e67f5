"""The reconciler: every `reconcile_interval_s`, one bounded pass that moves on what nobody
moves any more (see decide.py for the rules).

A pass: (1) the broker's unacked messages that no live worker holds go back to their
queues; (2) per context database, the jobs of the `inflight` index that are due are read in
one round trip and decided on — re-dispatched (the store's `reclaim` script takes each for
exactly one reconciler; then an admission message, as a settle would send), ended `error`,
or looked at again later; (3) flows whose last job settled but which were never finished
(their settler died in between) are finished. Several reconcilers may run; every change is
a compare-and-set in the store. What it did is counted in the store (`status`, `/metrics`).
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..keys import runner_queue, supervisor_queue
from ..models import JobStatus, runs_allowed
from ..settings import Settings
from ..settle import dispatch, finish_flow, job_ended
from ..store import TRANSIENT_ERRORS
from ..supervisor.registry import is_alive
from . import broker
from .decide import Action, JobView, decide, orphans

if TYPE_CHECKING:
    from kombu.transport.redis import Channel

log = logging.getLogger(__name__)

COUNTS = ("passes", "stale", "redispatched", "failed", "restored", "flows_finished")


@dataclass
class PassReport:
    """What one pass did."""

    looked: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class Reconciler:
    """One reconciler; `run()` until `stop()`, or `pass_once()` from a test."""

    def __init__(self, settings: Settings, *, name: str | None = None) -> None:
        from ..celeryapp import make_app
        self.settings = settings
        self.name = name or f"reconciler@{socket.gethostname()}:{os.getpid()}"
        self.app = make_app(settings)
        self.rt = self.app.runtime
        self.rt.retry_s = 2.0              # a pass that fails is simply made again
        self.missing_lease: dict[tuple[str, int], float] = {}
        self.totals: Counter[str] = Counter()
        self.quiet_until = 0.0             # no restoring right after the store was away
        self.last_pass = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def run(self) -> None:
        """Pass after pass until stopped; a pass that hits an unreachable store is retried
        at the next interval."""
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.pass_once()
            except TRANSIENT_ERRORS as exc:
                self._store_was_away(f"store unreachable: {exc}")
            except Exception:  # noqa: BLE001 - a bug must not stop the reconciling
                log.exception("reconciler pass failed")
            self._stop.wait(max(0.0, self.settings.reconcile_interval_s -
                                (time.monotonic() - started)))

    def start_thread(self) -> Reconciler:
        self._thread = threading.Thread(target=self.run, name="hero-reconciler", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout_s)
        self.rt.close()
        self.app.close()

    def _store_was_away(self, why: str) -> None:
        # live workers could not heartbeat meanwhile: their reports are stale for a while
        self.quiet_until = time.time() + 3 * self.settings.heartbeat_s + \
            self.settings.reconcile_interval_s
        log.warning("reconciler: %s", why)

    # ---- one pass -------------------------------------------------------------------------
    def pass_once(self) -> PassReport:
        t0 = time.monotonic()
        now = time.time()
        if self.last_pass and now - self.last_pass > 3 * max(
                self.settings.reconcile_interval_s, self.settings.heartbeat_s):
            self._store_was_away("a pass came late (this process or the store was paused)")
        report = PassReport()
        store = self.rt.store
        with self.app.connection_for_write() as conn:
            channel = cast("Channel", conn.default_channel)  # the broker is Redis or HeroDB
            # Order matters (issue 13.1, several reconcilers): the jobs first, then the
            # queues, then the messages in workers' hands. A message only moves queue ->
            # worker, so one that moves meanwhile is seen in one of them, and whatever moves
            # a job after it was read changes its status or generation, which the store's
            # reclaim checks. Reading the broker first let a job re-dispatched by another
            # reconciler and already in a runner's hands look orphaned (taken twice).
            reads = [(db, self._read_jobs(db, now)) for db in store.homes()]
            queues = set().union(*(_queues(rows) for _, rows in reads)) if reads else set()
            busy = broker.busy_queues(channel.client, queues)
            unacked = broker.read_unacked(channel)
            live = self._live_tags(now)
            if unacked.delivered and now >= self.quiet_until:
                dead = orphans(unacked.delivered, live, now=now,
                               grace_s=3 * self.settings.heartbeat_s + 1.0)
                # restored messages are back in their queues: their jobs stay held
                report.counts["restored"] += broker.restore(channel, dead)
                if dead:
                    log.warning("reconciler: %d message(s) of dead workers put back in their "
                                "queues", len(dead))
            held = unacked.holding(unacked.delivered)
            for db, rows in reads:
                report.looked += self._jobs(db, rows, now, held, busy, report)
            for db in store.homes():
                self._flows(db, now, report)
        cutoff = now - 600.0          # forget what was seen of jobs that left the index
        self.missing_lease = {k: v for k, v in self.missing_lease.items() if v > cutoff}
        report.counts["passes"] += 1
        report.seconds = time.monotonic() - t0
        self.last_pass = time.time()
        self.totals.update(report.counts)
        store.record_reconciler(self.name, self.state(report), report.counts)
        return report

    def state(self, report: PassReport) -> dict[str, Any]:
        return {"name": self.name, "pid": os.getpid(), "host": socket.gethostname(),
                "last_pass": self.last_pass, "interval_s": self.settings.reconcile_interval_s,
                "pass_ms": round(report.seconds * 1000, 2), "looked": report.looked,
                **{k: self.totals.get(k, 0) for k in COUNTS}}

    def _live_tags(self, now: float) -> set[str]:
        """Delivery tags reported by every live worker (supervisors and runners)."""
        store = self.rt.store
        out: set[str] = set()
        for node in set(store.nodes()) | set(self.settings.nodes):
            for entry in store.runners(node):
                if is_alive(entry, self.settings.heartbeat_s, now):
                    out.update(str(t) for t in entry.get("held", ()))
        return out

    def _read_jobs(self, db: int, now: float) -> list[tuple[str, tuple[Any, ...], bool]]:
        """The due jobs of the `inflight` index of database `db`, with what decide needs:
        (id, fields, lease held), in one round trip."""
        store = self.rt.store
        ids = store.inflight_due(db, now, self.settings.reconcile_batch)
        if not ids:
            return []
        rows = store.inflight_rows(db, ids, "status", "pending", "generation", "attempts",
                                   "retries", "dispatched_at", "node", "runner", "flow_id",
                                   "name")
        return [(jid, tuple(fields), lease) for jid, (fields, lease) in zip(ids, rows,
                                                                            strict=False)]

    def _jobs(self, db: int, rows: list[tuple[str, tuple[Any, ...], bool]], now: float,
              held: set[str], busy: set[str], report: PassReport) -> int:
        if not rows:
            return 0
        store = self.rt.store
        later: dict[str, float] = {}
        forget: list[str] = []
        stale: list[tuple[JobView, tuple[Any, ...], Action]] = []
        for jid, f, lease in rows:
            view = _view(jid, f, lease, self.settings.lost_runs_limit)
            if view.status == JobStatus.started.value and not lease:
                since = self.missing_lease.setdefault((jid, view.generation), now)
            else:
                since = None
                self.missing_lease.pop((jid, view.generation), None)
            queue = supervisor_queue(f[6]) if view.status == \
                JobStatus.waiting_for_prerequisites.value else runner_queue(f[6] or "", f[7] or "")
            action = decide(view, now=now, held=jid in held, queue_busy=queue in busy,
                            lease_missing_since=since, lease_s=self.settings.lease_s,
                            grace_s=self.settings.reconcile_grace_s)
            if action.kind == "forget":
                forget.append(jid)
            elif action.kind == "later":
                later[jid] = action.at
            else:
                stale.append((view, f, action))
        store.reschedule(db, forget, later)
        for view, f, action in stale:
            report.counts["stale"] += 1
            self.missing_lease.pop((view.id, view.generation), None)
            self._act(view, f, action, report)
        return len(rows)

    def _act(self, view: JobView, f: tuple[Any, ...], action: Action,
             report: PassReport) -> None:
        store = self.rt.store
        node, flow_id, name = f[6], f[8], f[9]
        if action.kind == "fail":
            from ..runners.execute import lost_error
            job = store.job(view.id)
            if job.generation == view.generation and job_ended(
                    self.rt, job, JobStatus.error, {"error": lost_error(job, job.attempts)},
                    generation=view.generation):
                report.counts["failed"] += 1
                log.warning("reconciler: job %s (%s) ended error: %s", view.id, name,
                            lost_error(job, job.attempts)["message"])
            return
        started = view.status == JobStatus.started.value
        new_status = JobStatus.waiting_for_prerequisites if view.status == \
            JobStatus.waiting_for_prerequisites.value else JobStatus.dispatched
        note = {"type": "WorkerLost", "message": f"{action.reason}; running it again "
                f"(attempt {view.attempts + 1})"} if started else None
        if not store.reclaim(view.id, str(view.status), view.generation,
                             new_status=new_status.value, note=note):
            return   # another reconciler took it, or its run came back
        dispatch(self.rt, flow_id, [(view.id, node, name)])
        report.counts["redispatched"] += 1
        log.warning("reconciler: job %s (%s) re-dispatched: %s", view.id, name, action.reason)

    def _flows(self, db: int, now: float, report: PassReport) -> None:
        store = self.rt.store
        due = store.finishing_due(db, now - self.settings.reconcile_grace_s,
                                  self.settings.reconcile_batch)
        for flow_id in due:
            status, remaining = store.flow_fields(flow_id, "status", "remaining")
            if status == "started" and remaining is not None and int(remaining) <= 0:
                finish_flow(self.rt, flow_id)
                report.counts["flows_finished"] += 1
                log.warning("reconciler: flow %s finished (its last settler had not)", flow_id)
            else:
                store.unmark_finishing(db, flow_id)


def _queues(rows: list[tuple[str, tuple[Any, ...], bool]]) -> set[str]:
    """The queues the messages of these jobs would wait in. Pure."""
    out: set[str] = set()
    for _, f, _ in rows:
        if f[0] is not None and f[6]:
            out.add(supervisor_queue(f[6]))
            if f[7]:
                out.add(runner_queue(f[6], f[7]))
    return out


def _view(jid: str, f: tuple[Any, ...], lease: bool, lost_runs_limit: int) -> JobView:
    status, pending, generation, attempts, retries, dispatched_at = f[:6]
    return JobView(id=jid, status=status, pending=int(pending or 0),
                   generation=int(generation or 0), attempts=int(attempts or 0),
                   runs_allowed=runs_allowed(int(retries or 0), lost_runs_limit),
                   lease_held=lease,
                   dispatched_at=float(dispatched_at) if dispatched_at else None)

