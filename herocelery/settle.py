"""What happens when a job ends: settle it, release or skip its dependents, end the flow.

Below every tier: a runner, a supervisor (a refused job), the reconciler (a lost one) and the
coordinator (dispatching a new flow's first jobs) import it directly; nobody hands it around
as a callable. The last prerequisite to settle releases a job, so a job starts as soon as -
and only when - all its prerequisites are done, for every DAG shape.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any, cast

from . import canvas, graph
from .models import FAILED_JOB, JobStatus, now
from .store import count_job_commands, publish_command

if TYPE_CHECKING:
    from .models import Job
    from .runtime import Runtime


def dispatch(rt: Runtime, flow_id: str, ready: Iterable[tuple[str, str, str]]) -> None:
    """Send ready jobs (id, node, name) to their nodes' supervisors, in batches."""
    by_node: dict[str, list[tuple[str, str]]] = {}
    for job_id, node, name in ready:
        by_node.setdefault(node, []).append((job_id, name))
    sigs = []
    size = max(1, rt.settings.supervisor_batch)
    for node, items in by_node.items():
        it = iter(items)
        while chunk := list(islice(it, size)):
            sigs.append(canvas.admission(rt.app, node, flow_id, [c[0] for c in chunk],
                                         [c[1] for c in chunk]))
    canvas.send(sigs)


def job_ended(rt: Runtime, job: Job, status: JobStatus, fields: Mapping[str, Any], *,
              lease_token: str | None = None, generation: int | None = None) -> bool:
    """Record the final state of a job and move its flow on. Returns True if this call settled
    the job (False: it was already terminal, or, with `generation`, re-dispatched since). The
    settling execution's lease, metrics and live events travel in the same atomic call."""
    store = rt.store
    failed = status in FAILED_JOB or status is JobStatus.cancelled
    if failed and not job.allow_failure:
        release: list[str] = []
        skip = store.descendants(job.id)
    else:
        release, skip = list(job.dependents), []
    record = {"status": status, "finished_at": now(), **fields}
    remaining, ready = store.settle(job.flow_id, job.id, record, release, skip,
                                    lease_token=lease_token, generation=generation,
                                    effects=_announcements(job, status, record, skip))
    if remaining < 0:
        return False
    if ready:
        # every job record has its node and name from submission on
        where = cast("list[list[str]]", store.job_fields(ready, "node", "name"))
        items = [(jid, node, name) for jid, (node, name) in zip(ready, where, strict=False)]
        if rt.admit_here is not None:   # this worker admits its own node's jobs (runtime.py)
            rt.released += [(job.flow_id, *it) for it in items if it[1] == rt.admit_here]
            items = [it for it in items if it[1] != rt.admit_here]
        dispatch(rt, job.flow_id, items)
    if remaining == 0:
        finish_flow(rt, job.flow_id)
    return True


def _announcements(job: Job, status: JobStatus, record: Mapping[str, Any],
                   skipped: list[str]) -> list[list[Any]]:
    """The job's end (and skipped dependents) as live events, and its /metrics counts; run by
    the settle script only when it settles. Pure."""
    started = record.get("started_at") or job.started_at
    duration = float(record["finished_at"]) - float(started) if started else None
    at = record["finished_at"]
    out = count_job_commands(job.runner, status.value, duration)
    out.append(publish_command(job.flow_id, {
        "type": "job", "flow_id": job.flow_id, "job_id": job.id, "name": job.name,
        "node": job.node, "runner": job.runner, "status": status.value, "at": at}))
    for jid in skipped:
        out.append(publish_command(job.flow_id, {"type": "job", "flow_id": job.flow_id,
                                                 "job_id": jid, "status": "skipped", "at": at}))
    return out


def finish_flow(rt: Runtime, flow_id: str) -> None:
    """Every job is terminal: give the flow its final status."""
    store = rt.store
    flow = store.flow(flow_id)
    statuses = {}
    allowed = []
    rows = store.job_fields(flow.jobs.values(), "status", "allow_failure")
    for name, (status, allow) in zip(flow.jobs, rows, strict=False):
        statuses[name] = JobStatus(status)
        if allow == "1":
            allowed.append(name)
    outcome = graph.flow_outcome(statuses, allowed)
    at = now()
    store.end_flow(flow_id, outcome, at, {"type": "flow", "flow_id": flow_id,
                                          "status": getattr(outcome, "value", str(outcome)),
                                          "at": at})
