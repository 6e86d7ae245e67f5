"""A flow is validated once (issue 17.4): `graph.checked` returns a `ValidFlow`, and the
coordinator takes one that holds for its settings without checking it again."""
from __future__ import annotations

import pytest

from herocelery import graph
from herocelery.celeryapp import make_app
from herocelery.coordinator import build_records, submit
from herocelery.errors import FlowError, NotRunning
from herocelery.flow.load import spec_from_mapping
from herocelery.settings import Settings


def _spec(runner: str = "python", name: str = "once"):
    # on a node nothing runs on: a submit ends at placement, after every check
    return spec_from_mapping({"name": name, "jobs": {
        "a": {"runner": runner, "script": "result = 1", "node": "ghost"},
        "b": {"runner": runner, "script": "result = 2", "after": ["a"], "node": "ghost"}}},
        "test")


@pytest.fixture
def counted(monkeypatch):
    calls = []
    real = graph.validate

    def validate(spec, **kw):
        calls.append(spec.name)
        return real(spec, **kw)
    monkeypatch.setattr(graph, "validate", validate)
    return calls


def test_checked_validates_once_and_keeps_what_holds(counted):
    s = Settings.load(env={})
    valid = graph.checked(_spec(), s)
    assert isinstance(valid, graph.ValidFlow) and counted == ["once"]
    assert graph.checked(valid, s) is valid and counted == ["once"]
    assert valid.holds_for(s)


def test_other_limits_check_it_again(counted):
    valid = graph.checked(_spec("shell"), Settings.load(env={}))
    narrower = Settings.load(env={}, runner_types=("python",))
    assert not valid.holds_for(narrower)
    with pytest.raises(FlowError, match="unknown runner type 'shell'"):
        graph.checked(valid, narrower)
    assert counted == ["once", "once"]
    assert not valid.holds_for(Settings.load(env={}, max_jobs_per_flow=1))
    assert not valid.holds_for(Settings.load(env={}, max_script_bytes=5))


def test_signed_accepts_only_added_signatures():
    valid = graph.checked(_spec(), Settings.load(env={}))
    jobs = {n: j.model_copy(update={"signatures": [{"public_key": "k", "signature": "s"}]})
            for n, j in valid.spec.jobs.items()}
    signed = valid.signed(valid.spec.model_copy(update={"jobs": jobs}))
    assert signed.spec.jobs["a"].signatures and signed.holds_for(Settings.load(env={}))
    changed = {**jobs, "a": jobs["a"].model_copy(update={"script": "result = 3"})}
    with pytest.raises(ValueError, match="not the validated flow"):
        valid.signed(valid.spec.model_copy(update={"jobs": changed}))


@pytest.fixture
def rt(hero_settings):
    app = make_app(hero_settings.with_(nodes=(hero_settings.node, "ghost")))
    yield app.runtime
    app.runtime.close()
    app.close()


def test_submit_and_build_records_take_a_valid_flow_as_it_is(rt, counted):
    valid = graph.checked(_spec(), rt.settings)
    assert counted == ["once"]
    _, jobs = build_records(rt, valid, "local", home=rt.settings.context_db)
    assert [j.name for j in jobs] == ["a", "b"] and counted == ["once"]
    with pytest.raises(NotRunning, match="node 'ghost' has no live supervisor"):
        submit(rt, valid)
    assert counted == ["once"]                      # checked by the caller, not again
    with pytest.raises(NotRunning, match="node 'ghost'"):
        submit(rt, _spec(name="plain"))
    assert counted == ["once", "plain"]             # a plain spec: validated, once
