"""The body of the runner task: claim the job, run it with its runner type, record the outcome.

A second delivery of the same job is harmless: a terminal job is not run again, and a job whose
lease is held (a live execution elsewhere, or a dead one whose lease has not expired yet) is
looked at again after one lease period instead of running twice at once.
"""
from __future__ import annotations

import functools
import os
import socket
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from .. import canvas
from ..errors import HeroCeleryError, JobTimeout, PermissionDenied, ScriptError
from ..models import Job, JobStatus, now
from ..settle import job_ended
from ..store import TRANSIENT_ERRORS
from . import get_runner
from .base import JobContext

if TYPE_CHECKING:
    from ..contexts import Context
    from ..runtime import Runtime


class Keeper:
    """Renews a running job's lease and notices that the run must stop (rate-limited store
    reads): the job or its flow was cancelled, or the job was superseded (retried or
    re-dispatched since this run claimed it: its generation moved on)."""

    def __init__(self, rt: Runtime, job: Job, token: str) -> None:
        self.rt, self.job, self.token = rt, job, token
        self.lease_s = rt.settings.lease_s
        self._next_renew = time.monotonic() + self.lease_s / 3
        self._next_check = time.monotonic() + 0.2
        self._cancelled = False
        self._superseded = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def cancelled(self) -> bool:
        now_m = time.monotonic()
        if self.stopping or now_m < self._next_check:
            return self.stopping
        self._next_check = now_m + 0.2
        store = self.rt.watch
        try:
            job_status, generation, flow_status = store.run_state(self.job.id,
                                                                  self.job.flow_id)
            self._cancelled = job_status == "cancelled" or flow_status == "cancelled"
            self._superseded = generation != self.job.generation
            if now_m >= self._next_renew:
                if not store.renew(self.job.id, self.token, self.lease_s, self.job.generation):
                    self._superseded = True   # another execution holds the lease now
                self._next_renew = now_m + self.lease_s / 3
        except TRANSIENT_ERRORS:
            pass  # the store is away: the job runs on; the next tick looks again
        return self.stopping

    @property
    def stopping(self) -> bool:
        return self._cancelled or self._superseded

    @property
    def was_cancelled(self) -> bool:
        return self._cancelled

    @property
    def was_superseded(self) -> bool:
        return self._superseded and not self._cancelled

    def start_thread(self) -> None:
        """For runners that run in this process: watch from a thread."""
        def loop() -> None:
            while not self._stop.wait(0.2):
                try:
                    self.cancelled()
                except Exception:  # noqa: BLE001 - never let the watch end the job
                    pass
        self._thread = threading.Thread(target=loop, name=f"keeper-{self.job.id[:8]}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)


def run_job(rt: Runtime, task: Any, job_id: str, flow_id: str = "") -> JobStatus | None:
    """Claim and execute one job; a duplicate delivery stands down or comes back later.
    Returns the status this call settled the job with (None: it settled nothing)."""
    store, s = rt.store, rt.settings
    if not flow_id:
        flow_id = store.job_field(job_id, "flow_id") or ""
    token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    worker = f"{socket.gethostname()}:{os.getpid()}"
    verdict, payload = store.claim_job(job_id, flow_id, token, s.lease_s, worker)
    if verdict == "leased":
        holder = str(payload)
        if holder_is_dead(holder) and store.steal(job_id, holder, token, s.lease_s):
            verdict, payload = store.claim_job(job_id, flow_id, token, s.lease_s, worker)
        else:
            # a live execution elsewhere, or one that died on another host: look again later
            raise task.retry(countdown=s.lease_s, max_retries=None)
    if verdict == "cancelled":   # payload: the generation the claim saw cancelled
        job_ended(rt, store.job(job_id), JobStatus.cancelled, {},
                     generation=int(payload or 0))
        return None
    if verdict != "ok":  # missing or already terminal: a late duplicate
        return None
    job = payload
    if job.id != job_id:     # its `id` field rewritten: the record we claimed is `job_id`
        job = job.model_copy(update={"id": job_id})
    if job.attempts > job.runs_allowed(s.lost_runs_limit):  # every earlier run was lost
        done = job_ended(rt, job, JobStatus.error, {"error": lost_error(job, job.attempts - 1)},
                            lease_token=token, generation=job.generation)
        return JobStatus.error if done else None
    released, settled = False, None
    try:
        released, settled = _execute(rt, job, token)
    finally:
        if not released:
            store.release(job.id, token)
    return settled


def run_jobs(rt: Runtime, job_ids: list[str], flow_id: str) -> dict[str, JobStatus]:
    """Several jobs delivered in one message: each runs as if it came alone. A job whose
    lease is held elsewhere goes back to the queue on its own, after one lease period.
    Returns job id -> the status this call settled it with."""
    out: dict[str, JobStatus] = {}
    for job_id in job_ids:
        try:
            settled = run_job(rt, _Alone(rt, job_id, flow_id), job_id, flow_id)
        except _Later:
            continue
        if settled is not None:
            out[job_id] = settled
    return out


class _Later(Exception):
    """Raised by `_Alone.retry`: this job was re-sent on its own."""


class _Alone:
    """Stands in for the Celery task when a job came in a batch: `retry` re-sends just it."""

    def __init__(self, rt: Runtime, job_id: str, flow_id: str) -> None:
        self.rt, self.job_id, self.flow_id = rt, job_id, flow_id

    def retry(self, countdown: float, max_retries: Any = None) -> Exception:
        job = self.rt.store.job(self.job_id)
        canvas.send([canvas.runner_call(self.rt.app, job.id, job.node, job.runner,
                                        self.flow_id, job.name)], countdown=countdown)
        return _Later()


def lost_error(job: Job, runs: int) -> dict[str, Any]:
    """The error of a job whose `runs` runs all lost their worker. Pure."""
    return {"type": "WorkerLost", "message": (
        f"started {runs} times and each time its worker was lost before it could record an "
        f"outcome (last on {job.worker or 'an unknown worker'}); not run again (retries "
        f"{job.retries}, plus lost_runs_limit); see that runner's log")}


def holder_is_dead(holder: str) -> bool:
    """True when a lease holder ran on this host and its process no longer exists."""
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


CONTEXT_CACHE_S = 2.0

# runner types whose jobs are processes: they get the scoped connection in their environment
SCOPED_ENV_RUNNERS = frozenset({"python", "shell"})


def job_context(rt: Runtime, job: Job) -> Context:
    """The job's context (database, access key, signing policy), cached briefly: a context's
    database and key change only when it is re-created, and admission re-checks the caller's
    rights on every job anyway. NotFound when the context no longer exists."""
    from ..contexts import Registry
    hit = rt.contexts.get(job.context_id)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    ctx = Registry(rt.store.r, rt.settings).context(job.context_id)
    rt.contexts[job.context_id] = (time.monotonic() + CONTEXT_CACHE_S, ctx)
    return ctx


def context_db_url(rt: Runtime, ctx: Context) -> tuple[str, bool]:
    """The only database a job may use: its context's, opened with the context's access key
    (never the admin secret); and whether that key is enforced (the server has an access
    model)."""
    from ..contexts import scoped_url
    s = rt.settings
    if s.node_db_url and ctx.access_key and (ctx.name, ctx.access_key) not in _REGISTERED:
        _register_on_node(s.node_db_url, ctx)
    return scoped_url(s.node_db_url or s.require_broker(), ctx), bool(ctx.access_key)


_REGISTERED: set[tuple[str, str]] = set()


def _register_on_node(node_db_url: str, ctx: Context) -> None:
    """The node's own Hero DB opens the context's database to the same key (once per process
    and context; a server without an access model needs nothing)."""
    import redis

    from ..contexts.registry import register_on
    from ..settings import with_db
    admin = redis.Redis.from_url(with_db(node_db_url, 0), protocol=2)
    try:
        register_on(admin, ctx)
    except redis.ResponseError:
        pass                     # no access model there (plain Redis): nothing to open
    finally:
        admin.close()
    _REGISTERED.add((ctx.name, ctx.access_key))


@functools.lru_cache(maxsize=4)
def _job_user(name: str | None) -> tuple[int, int] | None:
    from ..hardening import job_ids
    return job_ids(name)


def _execute(rt: Runtime, job: Job, token: str) -> tuple[bool, JobStatus | None]:
    """Run the job and record its outcome. Returns (whether the lease went with the settle,
    the status this run settled the job with, or None)."""
    from ..contexts import check_signatures
    from ..contexts.seal import restore, verify
    store, s = rt.store, rt.settings
    if verify(job, store.r) is not None:  # rewritten after submission: run as submitted,
        job = restore(job, job.id, store.r) or job     # or (below) not at all
    attempt = job.attempts
    started = job.started_at or now()
    keeper = Keeper(rt, job, token)
    logs = LogBuffer(s.max_log_bytes)
    inputs = dict(zip(job.after, (r for _, r in store.results(job.after_ids)), strict=False)) \
        if job.after_ids else {}
    try:
        context = job_context(rt, job)
        signatories, why = check_signatures(context, job)
        if why is None:  # the record changed after admission: caller, limits, script ...
            why = verify(job, store.r)
        if why is not None:
            raise PermissionDenied(why)
    except HeroCeleryError as exc:  # the context was deleted after admission
        done = job_ended(rt, job, JobStatus.error, {"error": {"type": "PermissionDenied",
                                                                 "message": str(exc)}},
                            generation=job.generation)
        return False, JobStatus.error if done else None
    db_url, protected = context_db_url(rt, context)
    job_user = _job_user(s.job_user)
    runner_env = job.env
    if job.runner in SCOPED_ENV_RUNNERS:
        runner_env = {**job.env, "HERO_DB_URL": db_url, "HERO_CONTEXT_ID": job.context_id,
                      "HERO_JOB_ID": job.id, "HERO_ATTEMPT": str(attempt)}
    ctx = JobContext(
        job_id=job.id, flow_id=job.flow_id, name=job.name, runner=job.runner,
        script=job.script, args=job.args, env=runner_env, inputs=inputs,
        caller_id=job.caller_id, context_id=job.context_id, node=job.node,
        timeout_s=job.timeout_s, db_url=db_url, log=logs.add,
        signatories=tuple(signatories), attempt=attempt, user=job_user,
        # a job under another user, or on a protected server, gets a fresh interpreter: the
        # worker image it would fork holds the tiers' secrets
        fresh_interpreter=protected or job_user is not None,
        cancelled=keeper.cancelled, cpu_s=s.job_cpu_s, memory_bytes=s.job_memory_bytes,
        output_bytes=s.max_log_bytes, env_allow=s.env_allow)
    status, fields = JobStatus.finished, {}
    try:
        runner = get_runner(job.runner)
        if not getattr(runner, "isolated", False):
            keeper.start_thread()
        result = runner.run(ctx)
        fields = {"result": result}
    except JobTimeout as exc:
        status, fields = JobStatus.timeout, {"error": exc.to_record()}
    except ScriptError as exc:
        status, fields = JobStatus.error, {"error": exc.to_record()}
    except HeroCeleryError as exc:
        status, fields = JobStatus.error, {"error": {"type": type(exc).__name__,
                                                     "message": str(exc)}}
    except TRANSIENT_ERRORS:  # the store or the node's HeroDB is away: not the job's error
        raise
    except Exception as exc:  # a bug in a runner type: record it, never lose the job
        status, fields = JobStatus.error, {"error": {
            "type": type(exc).__name__, "message": f"runner {job.runner!r} failed: {exc}"}}
    finally:
        keeper.stop()
        ctx.close()
    fields["logs"] = logs.text()
    if keeper.was_superseded:  # a newer run of this job owns the record now
        return False, None
    if keeper.was_cancelled:
        # guarded: a cancel followed at once by `flow retry` must not cancel the new run
        job_ended(rt, job, JobStatus.cancelled, {"logs": fields["logs"]},
                     generation=job.generation)
        return False, None
    fields["started_at"] = started  # unchanged; lets the settler measure the run time
    if status is not JobStatus.finished and attempt <= job.retries:
        delay = job.retry_backoff_s * (2 ** (attempt - 1))
        generation = job.generation + 1     # the retry's own task id (cancel revokes it)
        task_id = canvas.job_task_id(job, generation)
        if not store.set_job_if(job.id, job.generation, status=JobStatus.dispatched,
                                logs=fields["logs"], generation=generation, task_id=task_id,
                                error={**fields["error"], "retrying_in_s": delay,
                                       "attempt": attempt}):
            return False, None  # superseded (retried or re-dispatched) while it ran
        sig = canvas.runner_call(rt.app, job.id, job.node, job.runner, job.flow_id, job.name)
        sig.set(task_id=task_id)
        canvas.send([sig], countdown=delay)
        return False, None
    # settling is a no-op if the job was cancelled meanwhile (its record is already terminal)
    done = job_ended(rt, job, status, fields, lease_token=token, generation=job.generation)
    return True, status if done else None


class LogBuffer:
    """A job's log lines, bounded: the first `cap` bytes are kept, then one marker line."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.lines: list[str] = []
        self.dropped = 0

    def add(self, line: str) -> None:
        line = str(line)
        if self.size + len(line) + 1 > self.cap:
            self.dropped += 1
            return
        self.lines.append(line)
        self.size += len(line) + 1

    def text(self) -> str:
        tail = [f"[{self.dropped} more log lines dropped]"] if self.dropped else []
        return "\n".join(self.lines + tail)
