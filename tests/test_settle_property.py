"""Settling, as a property (issue 17.3): random DAGs with random failures, retries and
allow_failure settle exactly as a pure-Python reference says — which jobs run, how often,
which are skipped, the flow's final status. Through the in-process runtime
(`herocelery.inprocess`): the real coordinator, admission, runner executor and settle
scripts on a real redis-server; only the hand-overs stay in this process."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import start_redis_server

from herocelery import runners
from herocelery.coordinator import submit
from herocelery.errors import ScriptError
from herocelery.inprocess import InProcess
from herocelery.models import FlowSpec, FlowStatus, JobStatus
from herocelery.settings import Settings

RUNNER_TYPE = "planned"


class Planned:
    """A runner type whose script is its plan: `ok` or `fail` per attempt (`fail,ok`: fails
    once, then finishes; the last step repeats)."""

    name = RUNNER_TYPE
    isolated = False

    def run(self, ctx):
        plan = ctx.script.split(",")
        if plan[min(ctx.attempt, len(plan)) - 1] == "fail":
            raise ScriptError(f"planned failure on attempt {ctx.attempt}")
        return ctx.attempt


RUNNER = Planned()


@dataclass(frozen=True)
class Plan:
    after: tuple[str, ...]
    steps: tuple[str, ...]
    retries: int
    allow_failure: bool


def reference(jobs: Mapping[str, Plan]) -> tuple[dict[str, str], dict[str, int], str]:
    """What settling must give, computed directly: (job -> status, job -> runs, flow status).
    `jobs` is in an order where prerequisites come first."""
    status: dict[str, str] = {}
    runs: dict[str, int] = {}
    for name, p in jobs.items():
        if any(status[a] == "skipped" or (status[a] == "error" and not jobs[a].allow_failure)
               for a in p.after):
            status[name], runs[name] = "skipped", 0
            continue
        tries = [p.steps[min(i, len(p.steps) - 1)] for i in range(p.retries + 1)]
        if "ok" in tries:
            status[name], runs[name] = "finished", tries.index("ok") + 1
        else:
            status[name], runs[name] = "error", len(tries)
    failed = any(s == "skipped" or (s == "error" and not jobs[n].allow_failure)
                 for n, s in status.items())
    return status, runs, "error" if failed else "finished"


@st.composite
def dags(draw) -> dict[str, Plan]:
    n = draw(st.integers(1, 8))
    out: dict[str, Plan] = {}
    for i in range(n):
        earlier = list(out)
        after = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) \
            if earlier else []
        steps = draw(st.lists(st.sampled_from(["ok", "fail"]), min_size=1, max_size=3))
        out[f"j{i}"] = Plan(tuple(after), tuple(steps), draw(st.integers(0, 2)),
                            draw(st.booleans()))
    return out


def spec_of(jobs: Mapping[str, Plan], name: str) -> FlowSpec:
    return FlowSpec.model_validate({"name": name, "jobs": {
        n: {"runner": RUNNER_TYPE, "script": ",".join(p.steps), "after": list(p.after),
            "retries": p.retries, "retry_backoff": 0, "allow_failure": p.allow_failure}
        for n, p in jobs.items()}})


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    server = start_redis_server()
    s = Settings.load(env={}, broker_url=server.url + "/1",
                      data_dir=tmp_path_factory.mktemp("inprocess"), node="inproc",
                      nodes=("inproc",), runner_types=(RUNNER_TYPE, "python"),
                      heartbeat_s=30.0, lease_s=5.0, job_timeout_s=20.0,
                      visibility_timeout_s=60.0, runner_wait_s=0.5)
    saved = runners.REGISTRY.get(RUNNER_TYPE)
    runners.REGISTRY[RUNNER_TYPE] = f"{__name__}:RUNNER"
    try:
        with InProcess(s, [RUNNER_TYPE]) as h:
            yield h
    finally:
        if saved is None:
            runners.REGISTRY.pop(RUNNER_TYPE, None)
        server.stop()


def settle(hub: InProcess, jobs: Mapping[str, Plan], name: str = "prop"):
    flow_id = submit(hub.runtime, spec_of(jobs, name))
    hub.drain()
    store = hub.runtime.store
    flow = store.flow(flow_id)
    records = store.flow_jobs(flow)
    return flow, records


@settings(max_examples=40, deadline=timedelta(seconds=10), database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(jobs=dags())
def test_random_dags_settle_as_the_reference_says(hub, jobs):
    flow, records = settle(hub, jobs)
    want_status, want_runs, want_flow = reference(jobs)
    assert {n: j.status.value for n, j in records.items()} == want_status
    assert {n: j.attempts for n, j in records.items()} == want_runs
    assert flow.status.value == want_flow
    assert flow.remaining == 0
    for n, j in records.items():       # a job that finished has its (last) run's result
        if want_status[n] == "finished":
            assert j.result == want_runs[n]


def test_the_reference_on_known_cases():
    ok, fail = ("ok",), ("fail",)
    jobs = {"a": Plan((), fail, 0, True), "b": Plan(("a",), ok, 0, False),
            "c": Plan((), ("fail", "ok"), 1, False), "d": Plan(("c", "b"), fail, 0, False),
            "e": Plan(("d",), ok, 0, False)}
    assert reference(jobs) == ({"a": "error", "b": "finished", "c": "finished",
                                "d": "error", "e": "skipped"},
                               {"a": 1, "b": 1, "c": 2, "d": 1, "e": 0}, "error")


def test_a_diamond_with_a_retried_middle(hub):
    jobs = {"top": Plan((), ("ok",), 0, False), "left": Plan(("top",), ("fail", "ok"), 2, False),
            "right": Plan(("top",), ("ok",), 0, False),
            "bottom": Plan(("left", "right"), ("ok",), 0, False)}
    flow, records = settle(hub, jobs, "diamond")
    assert flow.status is FlowStatus.finished
    assert records["left"].attempts == 2 and records["left"].result == 2
    assert records["bottom"].status is JobStatus.finished and records["bottom"].attempts == 1


def test_admission_ends_a_job_without_a_live_runner_after_the_wait(hub):
    spec = FlowSpec.model_validate({"name": "nobody", "jobs": {
        "a": {"runner": "python", "script": "result = 1"}}})
    # placement refuses a runner type no node runs: admit directly, as a settle would
    from herocelery.contexts import Registry
    from herocelery.coordinator import build_records
    from herocelery.settle import dispatch
    rt = hub.runtime
    ctx = Registry(rt.store.r, rt.settings).context("default")
    flow, jobs = build_records(rt, spec, "local", home=ctx.db)
    rt.store.create_flow(flow, jobs)
    dispatch(rt, flow.id, [(j.id, j.node, j.name) for j in jobs])
    hub.drain()
    record = rt.store.job(jobs[0].id)
    assert record.status is JobStatus.error
    assert record.error["type"] == "AdmissionError"
    assert "no live 'python' runner on node 'inproc'" in record.error["message"]
    assert rt.store.flow(flow.id).status is FlowStatus.error
    # it was looked at again (every RECHECK_S) until runner_wait_s had passed
    assert sum(m.task == "hero.admit" for m in hub.delivered[-5:]) >= 2


def test_admission_of_a_cancelled_flow_cancels_its_jobs_unrun(hub):
    from herocelery.keys import Keys
    rt = hub.runtime
    flow_id = submit(rt, spec_of({"a": Plan((), ("ok",), 0, False)}, "gone"))
    rt.store.home(flow_id).hset(Keys.flow(flow_id), "status", "cancelled")  # before admission
    hub.drain()
    job = rt.store.job(rt.store.flow(flow_id).jobs["a"])
    assert job.status is JobStatus.cancelled and job.attempts == 0


def test_admission_re_checks_the_callers_rights(hub):
    """A caller whose role was revoked between submit and admission: its job ends error
    PermissionDenied (admission's DENIED refusal), unrun, and its dependents are skipped."""
    from herocelery.contexts import Registry
    from herocelery.contexts.model import Role, Scope
    rt = hub.runtime
    registry = Registry(rt.store.r, rt.settings)
    registry.create_key("alice", Scope.user)
    try:
        registry.grant("default", "alice", Role.executor)
        flow_id = submit(rt, spec_of({"a": Plan((), ("ok",), 0, False),
                                      "b": Plan(("a",), ("ok",), 0, False)}, "revoked"),
                         "alice")
        registry.revoke("default", "alice")
        hub.drain()
        flow = rt.store.flow(flow_id)
        jobs = rt.store.flow_jobs(flow)
        assert jobs["a"].status is JobStatus.error and jobs["a"].attempts == 0
        assert jobs["a"].error["type"] == "PermissionDenied"
        assert "alice" in jobs["a"].error["message"]
        assert not jobs["a"].error["message"].startswith("PermissionDenied")
        assert jobs["b"].status is JobStatus.skipped and flow.status is FlowStatus.error
    finally:
        registry.revoke_key("alice")
