"""Builds the Celery app from Settings and wires the three tiers' tasks onto it; only wires.

The tasks are thin: `hero.admit` calls the supervisor, `hero.run` calls the runner executor,
which settles the job through `settle.py` (below every tier). Everything is built from the one
Settings object; nothing here runs at import time. The `Runtime` an app carries is
`runtime.py`'s; it is re-exported here for callers that built it from here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery import Celery

from .canvas import ADMIT_TASK, RUN_TASK
from .errors import JobFailed, NotFound
from .models import FAILED_JOB, JobStatus
from .runtime import HeroApp, Runtime
from .settings import Settings
from .store import TRANSIENT_ERRORS

__all__ = ["HeroApp", "Runtime", "make_app", "failure", "store_trouble_requeues"]


def make_app(settings: Settings, *, name: str = "herocelery") -> HeroApp:
    """A configured Celery app with the hero tasks registered; `app.runtime` holds the rest."""
    app = HeroApp(name, set_as_current=False)
    broker = settings.require_broker()
    vt = settings.visibility_timeout_s
    transport = {
        "visibility_timeout": vt,
        "unacked_restore_interval": min(10, max(1, int(vt / 4))),
        "unacked_restore_throttle": 1,
    }
    app.conf.update(
        broker_url=broker,
        result_backend=settings.backend_url(),
        broker_transport_options=transport,
        result_backend_transport_options={"visibility_timeout": vt},
        broker_connection_retry_on_startup=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,                 # a worker that dies mid-job does not lose it
        task_reject_on_worker_lost=True,     # ... and its message is requeued at once
        task_ignore_result=True,             # job records are the truth, not Celery results
        worker_prefetch_multiplier=1,
        worker_send_task_events=True,        # Flower
        task_send_sent_event=True,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
        result_expires=86400,
        broker_pool_limit=20,
    )
    runtime = Runtime(settings, app)
    app.runtime = runtime
    _register_tasks(app, runtime)
    return app


def _register_tasks(app: Celery, runtime: Runtime) -> None:
    # shared=False: a task must reach only the runtime of the app it was registered on
    app.task(name=ADMIT_TASK, bind=True, ignore_result=True, shared=False)(admit_task)
    # throws: a job that failed is a FAILURE in Flower, without a traceback in the log
    app.task(name=RUN_TASK, bind=True, ignore_result=True, shared=False,
             throws=(JobFailed,))(run_task)


def admit_task(self: Any, job_ids: list[str], flow_id: str = "") -> int:
    """Supervisor tier: admit a batch of ready jobs of one node."""
    from .supervisor import admit_batch
    with store_trouble_requeues(job_ids):
        return admit_batch(self.app.runtime, job_ids)
    return 0  # the records are gone: nothing to admit


def run_task(self: Any, job_id: str | list[str], flow_id: str = "") -> None:
    """Runner tier: execute one job, or several of one flow one after the other. Ends in
    JobFailed (task state FAILURE; the message is acked all the same) when a job it settled
    ended error or timeout."""
    from .runners.execute import run_job, run_jobs
    rt = self.app.runtime
    settled: dict[str, JobStatus] = {}
    with store_trouble_requeues(job_id):
        if isinstance(job_id, list):
            settled = run_jobs(rt, job_id, flow_id)
        else:
            rt.admit_here = rt.node
            try:
                status = run_job(rt, self, job_id, flow_id)
            finally:
                rt.admit_here = None
                admit_released(rt)
            settled = {job_id: status} if status is not None else {}
    failed = failure(settled)
    if failed:
        raise JobFailed(failed)


def admit_released(rt: Runtime) -> None:
    """Admit the jobs that the job this runner just settled released on this runner's own
    node, here and now: the supervisor's admission (`supervisor.admit_batch`, every check it
    makes) run in this process instead of after a message to the node's supervisor and back,
    which cost a chain about 1.5-2 ms per hop (bench/bench_accounting.py). Jobs of other
    nodes went to their supervisors as before (settle.dispatch). Whatever goes wrong here
    hands the jobs to the supervisor after all; if even that fails, they are released jobs
    the reconciler re-dispatches."""
    released, rt.released = rt.released, []
    if not released:
        return
    import logging

    from .settle import dispatch
    from .supervisor import admit_batch
    try:
        admit_batch(rt, [jid for _, jid, _, _ in released])
        return
    except Exception as exc:  # noqa: BLE001 - the supervisor is the fallback, not an error
        logging.getLogger(__name__).warning("admitting %d released job(s) here failed (%s); "
                                            "sending them to the supervisor", len(released),
                                            exc)
    by_flow: dict[str, list[tuple[str, str, str]]] = {}
    for flow_id, jid, node, name in released:
        by_flow.setdefault(flow_id, []).append((jid, node, name))
    try:
        for flow_id, items in by_flow.items():
            dispatch(rt, flow_id, items)
    except Exception as exc:  # noqa: BLE001 - released jobs: the reconciler's to move on
        logging.getLogger(__name__).warning("could not hand released jobs to the "
                                            "supervisor either (%s): the reconciler will", exc)


class store_trouble_requeues:
    """Around a tier's task: a store (or broker) that stays unreachable past the retries is
    not the job's failure. The message is rejected with requeue, not acked, so it comes back
    (or, if even the reject cannot reach the broker, the reconciler restores it); nothing is
    recorded as the job's error. A record that no longer exists (its context deleted, or
    the store's data lost) ends the task quietly: there is nothing left to run."""

    def __init__(self, what: Any) -> None:
        self.what = what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> bool:
        from celery.exceptions import Reject
        from kombu.exceptions import OperationalError
        if exc is None:
            return False
        if isinstance(exc, (*TRANSIENT_ERRORS, OperationalError)):
            raise Reject(f"store unreachable, requeued {self.what}: {exc}",
                         requeue=True) from None
        if isinstance(exc, NotFound):
            import logging
            logging.getLogger(__name__).warning("dropped %s: %s", self.what, exc)
            return True
        return False


def failure(settled: Mapping[str, JobStatus]) -> str | None:
    """What a runner task reports when jobs it settled failed (None: none did). Pure."""
    bad = [(jid, st) for jid, st in settled.items() if st in FAILED_JOB]
    if not bad:
        return None
    listed = ", ".join(f"{jid} {st.value}" for jid, st in bad[:8])
    more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
    return f"{len(bad)} of {len(settled)} job(s) failed: {listed}{more}"

