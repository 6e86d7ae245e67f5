"""Submitting, cancelling and retrying flows: the coordinator's decisions about a whole flow."""
from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .. import graph
from ..contexts import Caller, Registry, check_flow
from ..contexts.seal import seal, seal_key, trusted_copy
from ..errors import FlowError, NotRunning
from ..graph import ValidFlow, checked
from ..keys import Keys, record_id
from ..models import TERMINAL_FLOW, FlowRecord, FlowSpec, FlowStatus, Job, JobStatus, now
from ..settle import dispatch
from .placement import Want, live_kinds, node_order, other_databases, place

if TYPE_CHECKING:
    from ..runtime import Runtime


def build_records(rt: Runtime, flow: FlowSpec | ValidFlow, caller: str = "local", *,
                  home: int, nodes: Mapping[str, str] | None = None
                  ) -> tuple[FlowRecord, list[Job]]:
    """Turn a flow into records whose ids name `home`, the database of the flow's context,
    each job on `nodes[name]` (placement; default its own node, else the `node` setting);
    pure apart from fresh ids and the clock. A `FlowSpec` is validated first; a `ValidFlow`
    that holds for these settings is not validated again."""
    s = rt.settings
    spec = checked(flow, s).spec
    flow_id = record_id(home)
    ids = {name: record_id(home) for name in spec.jobs}
    children = graph.dependents(spec)
    created = now()
    jobs = []
    template = Job(id="", flow_id=flow_id, name="", node=s.node, runner="python", script="",
                   timeout_s=s.job_timeout_s, created_at=created)
    for name, js in spec.jobs.items():
        timeout = js.timeout if js.timeout is not None else s.job_timeout_s
        if timeout >= s.visibility_timeout_s:
            raise FlowError(f"flow {spec.name!r}, job {name!r}, field 'timeout': {timeout}s is "
                            f"not below the broker visibility timeout "
                            f"({s.visibility_timeout_s}s); the job would be delivered twice")
        # a copy of a validated template: every value below was validated with the flow spec,
        # and model_construct would resolve each default factory again (slow at 5,000 jobs)
        jobs.append(template.model_copy(update=dict(
            id=ids[name], flow_id=flow_id, name=name, caller_id=caller,
            context_id=spec.context, node=(nodes or {}).get(name) or js.node or s.node,
            runner=js.runner,
            script=js.script, args=js.args, env=js.env, after=list(js.after),
            after_ids=[ids[p] for p in js.after], dependents=[ids[c] for c in children[name]],
            timeout_s=timeout, retries=js.retries,
            retry_backoff_s=js.retry_backoff if js.retry_backoff is not None
            else s.job_retry_backoff_s,
            allow_failure=js.allow_failure, signatures=list(js.signatures),
            status=JobStatus.waiting_for_prerequisites,
            pending=len(js.after), created_at=created)))
    # what admission checked, bound to each record; the key as the store holds it now (one
    # that lost its data makes a new one, which a long-lived submitter must not miss)
    key = seal_key(rt.store.r, fresh=True)
    for job in jobs:
        job.seal = seal(job, key)
    record = FlowRecord(id=flow_id, name=spec.name, context_id=spec.context, caller_id=caller,
                        status=FlowStatus.started, jobs=ids, remaining=len(jobs),
                        created_at=created, started_at=created)
    return record, jobs


def submit(rt: Runtime, flow: FlowSpec | ValidFlow, caller: Caller | str | None = None, *,
           api_key: str | None = None) -> str:
    """Validate (unless `flow` is a `ValidFlow` for these settings), store and start a flow;
    returns its id. Nothing is stored if invalid.

    `caller` is an already authenticated caller (the API server passes it); otherwise the
    caller is the owner of `api_key` (default: the `api_key` setting). PermissionDenied when
    the caller may not execute in the flow's context or a signature does not hold;
    NotRunning when a node the jobs need has no live supervisor or runner (placement.py)."""
    s = rt.settings
    valid = checked(flow, s)              # pure: before touching the store
    spec = valid.spec
    registry = Registry(rt.store.r, rt.settings)
    if caller is None:
        caller = registry.authenticate(api_key or rt.settings.api_key)
    elif isinstance(caller, str):  # a caller known by name (re-checked like the supervisor does)
        caller = registry.caller(caller)
    ctx = check_flow(registry, caller, spec)
    order = node_order(s.nodes, rt.store.nodes())
    entries = rt.store.live_entries(order, s.heartbeat_s)
    try:
        placed = place([Want(name, js.runner, js.node) for name, js in spec.jobs.items()],
                       order, live_kinds(entries, s.broker_db()), spec.name)
    except NotRunning as exc:
        others = other_databases(entries, s.broker_db())
        if not others:
            raise
        raise NotRunning(f"{exc} (the workers that run consume broker database "
                         f"{', '.join(map(str, others))}, not {s.broker_db()}: check the "
                         "database number at the end of the broker URL)") from None
    record, jobs = build_records(rt, valid, caller.name, home=ctx.db, nodes=placed)
    # first, out of the context's reach: what each job runs as (contexts/seal.py)
    rt.store.r.hset(Keys.trusted(ctx.db), mapping={j.id: trusted_copy(j) for j in jobs})
    rt.store.create_flow(record, jobs)
    dispatch(rt, record.id, [(j.id, j.node, j.name) for j in jobs if j.pending == 0])
    return record.id


def cancel(rt: Runtime, flow_id: str) -> list[str]:
    """Cancel a flow: waiting and queued jobs become cancelled, running ones are stopped by
    their runner (it watches the record). Returns the names of the jobs cancelled."""
    store = rt.store
    flow = store.flow(flow_id)
    ids = list(flow.jobs.values())
    cancelled = store.cancel(flow_id, ids)
    if cancelled is None:
        raise FlowError(f"flow {flow_id} already ended ({store.flow(flow_id).status.value})")
    task_ids = _task_ids(rt, cancelled)
    if task_ids:
        rt.app.control.revoke(task_ids)
    by_id = {v: k for k, v in flow.jobs.items()}
    return [by_id[j] for j in cancelled]


def _task_ids(rt: Runtime, job_ids: list[str]) -> list[str]:
    return [t for (t,) in rt.store.job_fields(job_ids, "task_id") if t]


def retry(rt: Runtime, flow_id: str) -> list[str]:
    """Run failed, skipped and cancelled jobs again, and what depends on them; finished jobs
    keep their results. Returns the names of the jobs that run again."""
    store = rt.store
    flow = store.flow(flow_id)
    if flow.status not in TERMINAL_FLOW:
        raise FlowError(f"flow {flow_id} is still {flow.status.value}; cancel it or wait "
                        "before retrying")
    jobs = store.flow_jobs(flow)
    children = {name: [] for name in jobs}  # type: dict[str, list[str]]
    for name, job in jobs.items():
        for pre in job.after:
            children[pre].append(name)
    again = graph.rerun_set(children, {n: j.status for n, j in jobs.items()})
    if not again:
        raise FlowError(f"flow {flow_id}: nothing to retry, every job finished")
    rerun = set(again)
    pending = {name: sum(1 for p in jobs[name].after if p in rerun) for name in again}
    store.rerun(flow_id, [(jobs[name].id, pending[name]) for name in again])
    # released again: the store put them on the reconciler's watch until they settle
    dispatch(rt, flow_id, [(jobs[n].id, jobs[n].node, jobs[n].name) for n in again
                           if pending[n] == 0])
    return again
