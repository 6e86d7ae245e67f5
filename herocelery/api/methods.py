"""The RPC methods: flows, jobs and runners, read from the store and sent through the
coordinator. Each handler takes (backend, params) and returns JSON-able data.

Never executes a job; submit/cancel/retry go through `herocelery.coordinator` as the CLI does.
"""
from __future__ import annotations

import json
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..errors import FlowError, NotFound
from ..models import FlowRecord, FlowSpec, Job
from ..settings import Settings
from ..store import Store
from .access import may_read, require
from .rpc import Method

MAX_FLOW_TEXT = 8 * 1024 * 1024


class Backend:
    """What the methods use: settings, the store and (lazily) the Celery app."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store.from_url(settings.store_url())
        self._app: Any = None
        self.caller: Any = "api"       # a contexts.Caller, or a name without that room
        self._parent: Backend | None = None

    def for_caller(self, caller: Any) -> Backend:
        """The same backend acting for one caller (recorded as the flows' caller_id)."""
        clone = object.__new__(Backend)
        clone.__dict__.update(self.__dict__)
        clone.caller = caller
        clone._parent = self
        return clone

    @property
    def runtime(self) -> Any:
        root = self._parent or self
        if root._app is None:
            from ..celeryapp import make_app
            root._app = make_app(self.settings)
        return root._app.runtime

    def close(self) -> None:
        self.store.close()
        if self._app is not None:
            self._app.runtime.close()
            self._app.close()


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SubmitParams(_Params):
    flow: str | dict[str, Any] = Field(description="the flow: YAML, JSON or HeroScript text, "
                                       "or a mapping with name and jobs")
    format: Literal["auto", "yaml", "json", "heroscript"] = "auto"


class FlowIdParams(_Params):
    flow_id: str = Field(min_length=1, max_length=200)


class ListParams(_Params):
    limit: int = Field(default=50, ge=1, le=1000)


class JobIdParams(_Params):
    job_id: str = Field(min_length=1, max_length=200)


class NoParams(_Params):
    pass


def spec_from_param(flow: str | dict[str, Any], fmt: str) -> FlowSpec:
    """A flow given as text or a mapping -> FlowSpec; FlowError names what is wrong."""
    from ..flow.load import parse_text, spec_from_mapping
    if isinstance(flow, dict):
        return spec_from_mapping(flow, "param 'flow'")
    if len(flow) > MAX_FLOW_TEXT:
        raise FlowError(f"param 'flow': text larger than {MAX_FLOW_TEXT} bytes")
    if fmt == "auto":
        stripped = flow.lstrip()
        fmt = "json" if stripped.startswith(("{", "[")) else (
            "heroscript" if stripped.startswith("!!") or "\n!!" in flow else "yaml")
    suffix = {"yaml": ".yaml", "json": ".json", "heroscript": ".heroscript"}[fmt]
    return parse_text(flow, "param 'flow'", suffix)


def flow_submit(b: Backend, p: SubmitParams) -> dict[str, Any]:
    from ..coordinator import submit
    spec = spec_from_param(p.flow, p.format)
    flow_id = submit(b.runtime, spec, b.caller)
    return {"flow_id": flow_id, "name": spec.name, "jobs": len(spec.jobs)}


def job_summary(job: Job) -> dict[str, Any]:
    return {"id": job.id, "name": job.name, "status": job.status.value, "runner": job.runner,
            "node": job.node, "after": job.after, "attempts": job.attempts,
            "created_at": job.created_at, "started_at": job.started_at,
            "finished_at": job.finished_at,
            "error": (job.error or {}).get("message") if job.error else None}


def flow_summary(f: FlowRecord) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "status": f.status.value, "context_id": f.context_id,
            "caller_id": f.caller_id, "jobs": len(f.jobs), "remaining": f.remaining,
            "created_at": f.created_at, "started_at": f.started_at,
            "finished_at": f.finished_at}


def flow_status(b: Backend, p: FlowIdParams) -> dict[str, Any]:
    flow = b.store.flow(p.flow_id)
    require(b, "read", flow.context_id)
    jobs = b.store.flow_jobs(flow)
    return {**flow_summary(flow), "jobs": {n: job_summary(j) for n, j in jobs.items()}}


def flow_list(b: Backend, p: ListParams) -> dict[str, Any]:
    return {"flows": [flow_summary(f) for f in b.store.flows(p.limit)
                      if may_read(b, f.context_id)]}


def flow_cancel(b: Backend, p: FlowIdParams) -> dict[str, Any]:
    from ..coordinator import cancel
    require(b, "execute", b.store.flow(p.flow_id).context_id)
    return {"flow_id": p.flow_id, "cancelled": cancel(b.runtime, p.flow_id)}


def flow_retry(b: Backend, p: FlowIdParams) -> dict[str, Any]:
    from ..coordinator import retry
    require(b, "execute", b.store.flow(p.flow_id).context_id)
    return {"flow_id": p.flow_id, "retrying": retry(b.runtime, p.flow_id)}


def layers(after: dict[str, list[str]]) -> dict[str, int]:
    """Layer of each job for a layered drawing: 0 without prerequisites, else one more than
    its deepest prerequisite. Pure; the graph is acyclic (validated at submit)."""
    out: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in out:
            out[name] = 0
            out[name] = 1 + max((depth(p) for p in after.get(name, []) if p in after),
                                default=-1)
        return out[name]
    for name in after:
        depth(name)
    return out


def flow_graph(b: Backend, p: FlowIdParams) -> dict[str, Any]:
    flow = b.store.flow(p.flow_id)
    require(b, "read", flow.context_id)
    jobs = b.store.flow_jobs(flow)
    layer = layers({n: list(j.after) for n, j in jobs.items()})
    return {"id": flow.id, "name": flow.name, "status": flow.status.value,
            "nodes": [{**job_summary(j), "layer": layer[n]} for n, j in jobs.items()],
            "edges": [[pre, n] for n, j in jobs.items() for pre in j.after]}


def job_status(b: Backend, p: JobIdParams) -> dict[str, Any]:
    job = b.store.job(p.job_id)
    require(b, "read", job.context_id)
    queued = b.store.job_field(job.id, "dispatched_at")
    return {**job_summary(job), "flow_id": job.flow_id, "context_id": job.context_id,
            "timeout_s": job.timeout_s, "retries": job.retries, "script": job.script,
            "dispatched_at": float(queued) if queued else None, "error": job.error}


def job_result(b: Backend, p: JobIdParams) -> dict[str, Any]:
    job = b.store.job(p.job_id)
    require(b, "read", job.context_id)
    return {"id": job.id, "status": job.status.value, "result": job.result, "error": job.error}


def job_logs(b: Backend, p: JobIdParams) -> dict[str, Any]:
    (raw,) = b.store.job_fields([p.job_id], "status", "logs", "context_id")
    if raw[0] is None:
        raise NotFound(f"no job with id {p.job_id!r}")
    require(b, "read", str(raw[2] or "default"))
    return {"id": p.job_id, "status": raw[0], "logs": raw[1] or ""}


def runner_list(b: Backend, p: NoParams) -> dict[str, Any]:
    from ..supervisor.registry import is_alive
    nodes = sorted(set(b.store.nodes()) | set(b.settings.nodes))
    at = time.time()
    out: dict[str, Any] = {}
    for node in nodes:
        registered = [{"runner": e.get("runner"), "worker": e.get("worker"),
                       "pid": e.get("pid"), "heartbeat_age_s": round(at - e["heartbeat"], 3),
                       "alive": is_alive(e, b.settings.heartbeat_s, at)}
                      for e in b.store.runners(node)]
        out[node] = {"registered": registered, "managed": b.store.runner_states(node)}
    return {"nodes": out}


def _obj(props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": props}


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("flow.submit", SubmitParams, flow_submit, "Validate, store and start a flow.",
           _obj({"flow_id": {"type": "string"}, "name": {"type": "string"},
                 "jobs": {"type": "integer"}}), scope="write"),
    Method("flow.status", FlowIdParams, flow_status, "A flow and the status of each job."),
    Method("flow.list", ListParams, flow_list, "The most recent flows, newest first.",
           _obj({"flows": {"type": "array"}})),
    Method("flow.cancel", FlowIdParams, flow_cancel, "Cancel a flow's queued and running jobs.",
           _obj({"cancelled": {"type": "array", "items": {"type": "string"}}}), scope="write"),
    Method("flow.retry", FlowIdParams, flow_retry,
           "Run failed, skipped and cancelled jobs again, and what depends on them.",
           _obj({"retrying": {"type": "array", "items": {"type": "string"}}}), scope="write"),
    Method("flow.graph", FlowIdParams, flow_graph,
           "The flow's DAG: nodes (jobs with status and layer) and edges.",
           _obj({"nodes": {"type": "array"}, "edges": {"type": "array"}})),
    Method("job.status", JobIdParams, job_status, "One job's record (without logs)."),
    Method("job.result", JobIdParams, job_result, "One job's status, result and error."),
    Method("job.logs", JobIdParams, job_logs, "One job's captured output.",
           _obj({"logs": {"type": "string"}})),
    Method("runner.list", NoParams, runner_list,
           "Runners per node: registered workers with heartbeats, and supervised state.",
           _obj({"nodes": {"type": "object"}})),
]}


def _with_admin() -> None:
    from .admin import admin_methods
    METHODS.update(admin_methods())


_with_admin()


def to_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)
