"""The reconciler's decisions, as pure functions of what a pass read (tested with tables).

A job in flight has an owner and a deadline:

    released  (waiting_for_prerequisites, pending 0)  owner: the admission message of its node's
              supervisor, from the settle (or submit) that released it
    dispatched                                         owner: its runner message
    started                                            owner: the run holding its lease

The owner is gone when no message holds the job — none in a live worker's hands (kombu's
unacked messages, minus those of dead workers, which the pass restores first) and its queue
holds nothing at all, so it cannot be waiting there — or, for a started job, when its lease
has been missing for longer than a keeper takes to renew it. Such a job is stale: it is
re-dispatched (a new generation, so a fresh task id) or, when it already started as often as
it may (`Job.runs_allowed`), ended `error`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..models import TERMINAL_JOB, JobStatus

MAX_LOOK_AFTER_S = 60.0
TERMINAL = frozenset(s.value for s in TERMINAL_JOB)

Kind = Literal["forget", "later", "redispatch", "fail"]


@dataclass(frozen=True)
class JobView:
    """What a pass read about one job of the `inflight` index (status None: no record)."""

    id: str
    status: str | None
    pending: int = 0
    generation: int = 0
    attempts: int = 0
    runs_allowed: int = 1
    lease_held: bool = False
    dispatched_at: float | None = None


@dataclass(frozen=True)
class Action:
    """forget: drop it from the index; later: look again at `at`; redispatch or fail it,
    for `reason`."""

    kind: Kind
    at: float = 0.0
    reason: str = ""


def decide(job: JobView, *, now: float, held: bool, queue_busy: bool,
           lease_missing_since: float | None, lease_s: float, grace_s: float) -> Action:
    """What to do with one job. `held`: a message holding it is in a live worker's hands;
    `queue_busy`: the queue its message would wait in (its node's supervisor queue when
    released, its runner queue when dispatched) is not empty; `lease_missing_since`: when
    this reconciler first saw the started job, in this generation, without a lease."""
    status = job.status
    if status is None or status in TERMINAL:
        return Action("forget")
    if status == JobStatus.waiting_for_prerequisites.value:
        if job.pending > 0:                       # not released (again) yet: not in flight
            return Action("forget")
        if held or queue_busy:
            return Action("later", now + grace_s)
        return Action("redispatch", reason="released, but no admission message holds it")
    if status == JobStatus.dispatched.value:
        if held or queue_busy:
            waited = now - job.dispatched_at if job.dispatched_at else 0.0
            return Action("later", now + min(MAX_LOOK_AFTER_S, max(grace_s, waited / 2)))
        if job.dispatched_at and now - job.dispatched_at < grace_s:
            return Action("later", now + grace_s)   # its message may be on its way still
        return Action("redispatch", reason="dispatched, but no runner message holds it")
    if status == JobStatus.started.value:
        if job.lease_held:
            return Action("later", now + lease_s)
        settle_s = renew_window_s(lease_s)
        if held or lease_missing_since is None or now - lease_missing_since < settle_s:
            return Action("later", now + settle_s)
        if job.attempts >= job.runs_allowed:
            return Action("fail", reason="lost")
        return Action("redispatch", reason="its worker was lost mid-run (its lease expired)")
    return Action("forget")


def renew_window_s(lease_s: float) -> float:
    """How long a started job's lease may be missing before its run counts as lost: longer
    than a live keeper takes to take a lapsed lease back (it renews every third of a
    lease). Pure."""
    return lease_s / 3 + 1.0


def orphans(unacked: dict[str, float], live_tags: set[str], *, now: float, grace_s: float
            ) -> list[str]:
    """Delivery tags of unacked messages no live worker holds: delivered more than
    `grace_s` ago (a live holder reports a tag within a heartbeat) and in no live worker's
    report. `unacked`: tag -> when it was delivered. Pure."""
    return sorted(tag for tag, at in unacked.items()
                  if tag not in live_tags and now - at > grace_s)
