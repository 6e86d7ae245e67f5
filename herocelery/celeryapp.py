"""Builds the Celery app from Settings and wires the three tiers' tasks onto it.

The tasks are thin: `hero.admit` calls the supervisor, `hero.run` calls the runner executor,
which settles the job through the coordinator. Everything is built from the one Settings
object; nothing here runs at import time.
"""
from __future__ import annotations

from typing import Any, Mapping

from celery import Celery

from .canvas import ADMIT_TASK, RUN_TASK
from .errors import JobFailed
from .models import FAILED_JOB, JobStatus
from .settings import Settings
from .store import Store


class Runtime:
    """What a worker process needs: settings, the Celery app and (lazily) the store."""

    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app
        self._store: Store | None = None
        # context id -> (valid until, the context); see runners/execute.py
        self.contexts: dict[str, tuple[float, Any]] = {}
        from .coordinator import job_ended
        self.job_ended = job_ended

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.from_url(self.settings.store_url())
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def make_app(settings: Settings, *, name: str = "herocelery") -> Celery:
    """A configured Celery app with the hero tasks registered; `app.runtime` holds the rest."""
    app = Celery(name, set_as_current=False)
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
    app.runtime = runtime  # type: ignore[attr-defined]
    _register_tasks(app, runtime)
    return app


def _register_tasks(app: Celery, rt: Runtime) -> None:
    # shared=False: a task must reach only the runtime of the app it was registered on
    app.task(name=ADMIT_TASK, bind=True, ignore_result=True, shared=False)(admit_task)
    # throws: a job that failed is a FAILURE in Flower, without a traceback in the log
    app.task(name=RUN_TASK, bind=True, ignore_result=True, shared=False,
             throws=(JobFailed,))(run_task)


def admit_task(self: Any, job_ids: list[str], flow_id: str = "") -> int:
    """Supervisor tier: admit a batch of ready jobs of one node."""
    from .supervisor import admit_batch
    return admit_batch(self.app.runtime, job_ids)


def run_task(self: Any, job_id: str | list[str], flow_id: str = "") -> None:
    """Runner tier: execute one job, or several of one flow one after the other. Ends in
    JobFailed (task state FAILURE; the message is acked all the same) when a job it settled
    ended error or timeout."""
    from .runners.execute import run_job, run_jobs
    if isinstance(job_id, list):
        settled = run_jobs(self.app.runtime, job_id, flow_id)
    else:
        status = run_job(self.app.runtime, self, job_id, flow_id)
        settled = {job_id: status} if status is not None else {}
    failed = failure(settled)
    if failed:
        raise JobFailed(failed)


def failure(settled: Mapping[str, JobStatus]) -> str | None:
    """What a runner task reports when jobs it settled failed (None: none did). Pure."""
    bad = [(jid, st) for jid, st in settled.items() if st in FAILED_JOB]
    if not bad:
        return None
    listed = ", ".join(f"{jid} {st.value}" for jid, st in bad[:8])
    more = f" and {len(bad) - 8} more" if len(bad) > 8 else ""
    return f"{len(bad)} of {len(settled)} job(s) failed: {listed}{more}"

