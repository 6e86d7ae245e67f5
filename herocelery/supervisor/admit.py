"""Admission: may this job run here, now? Pure decision plus the hand-over to the runner."""
from __future__ import annotations

import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import canvas
from ..canvas import batch_task_id, job_task_id
from ..contexts import JobCheck, Registry
from ..contexts.seal import restore, verify
from ..errors import NotFound
from ..keys import home_of
from ..models import Job, JobStatus
from ..settle import job_ended
from .registry import chunk_size, live_capacity

if TYPE_CHECKING:
    from ..runtime import Runtime

ADMISSIBLE = (JobStatus.waiting_for_prerequisites, JobStatus.dispatched)


NO_RUNNER = "no live "              # how the message of a NO_LIVE_RUNNER refusal starts
WAIT_NOTE = "WaitingForRunner"     # error.type of a job waiting for a live runner
RECHECK_S = 1.0                    # how often a waiting job's admission is tried again

CANCELLED, DENIED, NO_LIVE_RUNNER = "cancelled", "denied", "no_live_runner"


@dataclass(frozen=True)
class Refusal:
    """Why a job may not be dispatched: `kind` (CANCELLED, DENIED: the caller, context ACL or
    signatures; NO_LIVE_RUNNER) and the message recorded with it."""

    kind: str
    message: str

    def __str__(self) -> str:
        return self.message


def refusal(job: Job, live_types: Collection[str], flow_status: str | None,
            denied: str | None = None) -> Refusal | None:
    """Why a job may not be dispatched (None: it may). Pure.

    `denied` is the contexts room's verdict on caller, context ACL and signatures."""
    if flow_status == "cancelled":
        return Refusal(CANCELLED, "cancelled")
    if denied is not None:
        return Refusal(DENIED, denied)
    if job.runner not in live_types:
        return Refusal(NO_LIVE_RUNNER, (
            f"{NO_RUNNER}{job.runner!r} runner on node {job.node!r} (start one with "
            f"`herocelery runner start {job.runner} --node {job.node}`)"))
    return None


def waits(reason: Refusal | str, waiting_since: float | None, now: float,
          runner_wait_s: float) -> bool:
    """Whether a refused job waits and is tried again (True) or ends `error` now: only the
    lack of a live runner is waited out, for at most `runner_wait_s` (a runner restarting,
    or one that is busy but not yet seen, must not fail a flow). `reason`: the refusal, or
    its message. Pure."""
    lacks_runner = reason.kind == NO_LIVE_RUNNER if isinstance(reason, Refusal) \
        else reason.startswith(NO_RUNNER)
    if not lacks_runner:
        return False
    return now - (waiting_since if waiting_since is not None else now) < runner_wait_s


def admit_batch(rt: Runtime, job_ids: list[str]) -> int:
    """Admit ready jobs: mark them dispatched and hand each to its runner queue.

    Jobs with no live runner of their type on their node wait: the batch of them comes back
    every `RECHECK_S`, and past `runner_wait_s` they end `error` with the reason (never
    forever). Refused callers or signatures end `error` at once. A second delivery of the same
    batch re-sends the same runner task ids; the runner makes that harmless. Returns the
    number of jobs handed over.
    """
    store = rt.store
    by_home: dict[int | None, list[str]] = {}
    for jid in job_ids:
        by_home.setdefault(home_of(jid), []).append(jid)
    if len(by_home) > 1:  # a hand-made message mixing contexts: each home on its own
        return sum(admit_batch(rt, ids) for ids in by_home.values())
    if not job_ids:
        return 0
    try:
        jobs = store.jobs(job_ids)
    except NotFound:
        jobs = [j for j in (_maybe_job(rt, jid) for jid in job_ids) if j is not None]
    jobs = [j for j in jobs if j.status in ADMISSIBLE]
    if not jobs:
        return 0
    live: dict[str, dict[str, int]] = {}
    flow_status: dict[str, Any] = {}
    admitted: dict[tuple[str, str, str], list[Job]] = {}
    refused: list[tuple[Job, Refusal]] = []
    check = JobCheck(Registry(store.r, rt.settings))
    writes: dict[str, dict[str, Any]] = {}    # job id -> fields to write, in one round trip
    drops: dict[str, list[str]] = {}          # job id -> fields to drop
    for job in jobs:
        tampered = verify(job, store.r)
        if tampered is not None:     # re-derived from what submission kept, else refused
            fixed = restore(job, job.id if job.id in job_ids else "", store.r)
            if fixed is not None:
                job, tampered = fixed, None
        if job.node not in live:
            live[job.node] = live_capacity(store, job.node, rt.settings.heartbeat_s)
        if job.flow_id not in flow_status:
            flow_status[job.flow_id] = _flow_status(rt, job.flow_id)
        signatories, denied = check.refusal(job)
        if denied is None:
            denied = tampered
        reason = refusal(job, live[job.node], flow_status[job.flow_id], denied)
        if reason is not None:
            refused.append((job, reason))
            continue
        admitted.setdefault((job.node, job.runner, job.flow_id), []).append(job)
        if signatories:
            writes.setdefault(job.id, {})["signatories"] = signatories
        if job.waiting_since is not None:      # it waited for a runner: not any more
            drops[job.id] = ["waiting_since", *(
                ["error"] if job.error and job.error.get("type") == WAIT_NOTE else [])]
    sigs = []
    at = time.time()
    for (node, runner, flow_id), group in admitted.items():
        size = chunk_size(len(group), live[node].get(runner, 1))
        for i in range(0, len(group), size):
            chunk = group[i:i + size]
            task_id = job_task_id(chunk[0]) if size == 1 else batch_task_id(chunk)
            sig = canvas.runner_batch(rt.app, [j.id for j in chunk], node, runner, flow_id,
                                      [j.name for j in chunk])
            sig.set(task_id=task_id)
            sigs.append(sig)
            for job in chunk:
                writes.setdefault(job.id, {}).update(status=JobStatus.dispatched,
                                                     task_id=task_id, dispatched_at=at)
    at_now = time.time()
    waiting = [(job, reason) for job, reason in refused
               if waits(reason, job.waiting_since, at_now, rt.settings.runner_wait_s)]
    for job, reason in waiting:
        since = job.waiting_since or at_now
        writes.setdefault(job.id, {}).update(waiting_since=since, error={
            "type": WAIT_NOTE, "message": f"waiting for a {reason.message[len(NO_RUNNER):]}; "
            f"ends error after {rt.settings.runner_wait_s:g}s"})
    store.update_jobs((jid, writes.get(jid, {}), drops.get(jid, ()))
                      for jid in dict.fromkeys([*drops, *writes]))
    canvas.send(sigs)
    by_flow: dict[tuple[str, str], list[Job]] = {}
    for job, _ in waiting:
        by_flow.setdefault((job.node, job.flow_id), []).append(job)
    canvas.send([canvas.admission(rt.app, node, flow_id, [j.id for j in group],
                                  [j.name for j in group])
                 for (node, flow_id), group in by_flow.items()], countdown=RECHECK_S)
    waited = {job.id for job, _ in waiting}
    for job, reason in refused:
        if job.id in waited:
            continue
        if reason.kind == CANCELLED:
            job_ended(rt, job, JobStatus.cancelled, {}, generation=job.generation)
        elif reason.kind == DENIED:
            job_ended(rt, job, JobStatus.error, {"error": {
                "type": "PermissionDenied", "message": reason.message}},
                generation=job.generation)
        else:
            waited_s = at_now - job.waiting_since if job.waiting_since else 0.0
            tail = f" (waited {waited_s:.0f}s)" if waited_s else ""
            job_ended(rt, job, JobStatus.error,
                         {"error": {"type": "AdmissionError",
                                    "message": reason.message + tail}},
                         generation=job.generation)
    return sum(len(group) for group in admitted.values())


def _flow_status(rt: Runtime, flow_id: str) -> str | None:
    (value,) = rt.store.flow_fields(flow_id, "status")
    return str(value) if value is not None else None


def _maybe_job(rt: Runtime, job_id: str) -> Job | None:
    try:
        return rt.store.job(job_id)
    except NotFound:
        return None
