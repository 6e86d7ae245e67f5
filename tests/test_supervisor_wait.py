"""A released job whose node has no live runner of its type waits for one (issue 19.6), up to
`runner_wait_s`, instead of failing at once: a runner that restarts or is merely busy must
not fail a flow."""
from __future__ import annotations

import pytest
from support import wait_for

from herocelery import launcher
from herocelery.celeryapp import make_app
from herocelery.contexts import Registry
from herocelery.coordinator import build_records, dispatch
from herocelery.flow import FlowHandle
from herocelery.models import FlowSpec, FlowStatus, JobStatus
from herocelery.supervisor.admit import NO_RUNNER, waits

NODE = "waitnode"
NO_PYTHON = f"{NO_RUNNER}'python' runner on node '{NODE}' (start one with ...)"


@pytest.mark.parametrize("reason,since,now,expected", [
    (NO_PYTHON, None, 100.0, True),              # first refusal: starts waiting
    (NO_PYTHON, 90.0, 100.0, True),              # within runner_wait_s
    (NO_PYTHON, 50.0, 100.0, False),             # waited long enough: ends error
    ("PermissionDenied: alice may not execute", None, 100.0, False),   # never waits
    ("cancelled", None, 100.0, False),
])
def test_only_a_missing_runner_is_waited_out_and_only_so_long(reason, since, now, expected):
    assert waits(reason, since, now, runner_wait_s=30.0) is expected


def _spawn(settings, log, *args: str) -> launcher.Proc:
    """A node's worker as `up` and `run` start one (the one orchestrator, launcher.py)."""
    return launcher.spawn(args[0], NODE, args, settings, log, kind=args[0])


def test_a_job_waits_for_a_runner_that_comes_later_and_then_runs(hero_settings, tmp_path):
    settings = hero_settings.with_(runner_wait_s=120.0, nodes=(*hero_settings.nodes, NODE),
                                   data_dir=tmp_path)
    sup = _spawn(settings, tmp_path / "sup.log", "supervisor", "start", "--node", NODE)
    runner = None
    app = make_app(settings)
    rt = app.runtime
    try:
        spec = FlowSpec.model_validate({"name": "wait", "jobs": {
            "a": {"script": "result = 41", "node": NODE},
            "b": {"script": "result = inputs['a'] + 1", "after": ["a"], "node": NODE}}})
        # released the way a settle releases it: after the node's only runner went away
        # (submit itself refuses a node without a live runner of the job's type)
        ctx = Registry(rt.store.r, settings).context("default")
        flow, jobs = build_records(rt, spec, "local", home=ctx.db)
        rt.store.create_flow(flow, jobs)
        dispatch(rt, flow.id, [(j.id, j.node, j.name) for j in jobs if j.pending == 0])
        handle = FlowHandle(flow.id, settings)
        waiting = wait_for(lambda: (handle.jobs()["a"].error or {}).get("type") ==
                           "WaitingForRunner" and handle.jobs()["a"], 60,
                           what="the job to wait for a runner")
        assert waiting.status is JobStatus.waiting_for_prerequisites
        assert "python" in waiting.error["message"] and NODE in waiting.error["message"]
        runner = _spawn(settings, tmp_path / "runner.log", "runner", "start", "python",
                        "--node", NODE, "--concurrency", "1")
        assert handle.wait(90) is FlowStatus.finished
        assert handle.results == {"a": 41, "b": 42}
        assert handle.jobs()["a"].error is None        # the waiting note is gone
        handle.close()
    finally:
        rt.close()
        app.close()
        for proc in (runner, sup):
            if proc is not None:
                proc.stop(20)
