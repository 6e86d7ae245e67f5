"""The only module that builds Celery canvas. Nothing else imports chain, group or chord.

Why so little canvas: joins are exact for every DAG because they are counted in the store
(a per-job prerequisite counter, decremented atomically by whoever settles a prerequisite; the
last one releases the job). Canvas then only carries hand-overs: admission batches to
supervisor queues, and runner calls (one job each, or a few sharing a message when a backlog
outnumbers the runner's processes), sent independently (see `send`). No nested chord, no chain
carried inside messages, no result backend polling (DESIGN.md §10 lists why each hurts).
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from celery import Celery
from celery.canvas import Signature

from .keys import runner_queue, supervisor_queue

if TYPE_CHECKING:
    from .models import Job

ADMIT_TASK = "hero.admit"
RUN_TASK = "hero.run"


def admission(app: Celery, node: str, flow_id: str, job_ids: Sequence[str],
              names: Sequence[str]) -> Signature:
    """One supervisor message admitting a batch of ready jobs of one flow on one node."""
    return app.signature(ADMIT_TASK, args=(list(job_ids),), kwargs={"flow_id": flow_id},
                         queue=supervisor_queue(node), immutable=True,
                         argsrepr=f"flow={flow_id} jobs={','.join(names)[:200]}")


def runner_call(app: Celery, job_id: str, node: str, runner: str, flow_id: str, name: str
                ) -> Signature:
    """The runner task of one job on its node's runner queue."""
    return app.signature(RUN_TASK, args=(job_id,), kwargs={"flow_id": flow_id},
                         queue=runner_queue(node, runner),
                         immutable=True, argsrepr=f"flow={flow_id} job={name} id={job_id}")


def runner_batch(app: Celery, job_ids: Sequence[str], node: str, runner: str, flow_id: str,
                 names: Sequence[str]) -> Signature:
    """One runner task carrying several jobs of one flow, run one after the other."""
    if len(job_ids) == 1:
        return runner_call(app, job_ids[0], node, runner, flow_id, names[0])
    return app.signature(RUN_TASK, args=(list(job_ids),), kwargs={"flow_id": flow_id},
                         queue=runner_queue(node, runner), immutable=True,
                         argsrepr=f"flow={flow_id} jobs={','.join(names)[:200]}")


def job_task_id(job: Job, generation: int | None = None) -> str:
    """The Celery id of a job's runner task: the same for one dispatch of the job (a second
    admission of the same batch sends the same id), a new one for every re-dispatch (the
    generation only grows), so a cancel's revoked ids never match a later run. Pure."""
    gen = job.generation if generation is None else generation
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{job.id}:{gen}"))


def batch_task_id(jobs: Sequence[Job]) -> str:
    """The Celery id of a runner message carrying several jobs, from their ids and
    generations. Pure."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, ",".join(f"{j.id}:{j.generation}" for j in jobs)))


def send(signatures: Iterable[Signature], *, countdown: float | None = None) -> None:
    """Send independent signatures through one producer.

    The one seam where hand-overs leave the process: an app with an in-process runtime
    attached (`inprocess.InProcess`, for tests) gets them queued there instead.

    Not `group(...).apply_async()`: a group registers every member's result with the result
    backend (a SUBSCRIBE per task on Redis), which nobody here waits for; measured, that was
    the largest single cost of the supervisor's hand-over."""
    sigs = list(signatures)
    if not sigs:
        return
    app = sigs[0].app
    local = getattr(app, "inprocess", None)   # an in-process runtime (inprocess.py): no broker
    if local is not None:
        local.accept(sigs, countdown)
        return
    options: dict[str, Any] = {"countdown": countdown} if countdown else {}
    with app.producer_or_acquire() as producer:
        for sig in sigs:
            sig.apply_async(producer=producer, **options)

