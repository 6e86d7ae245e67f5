"""A job's generation (dispatches, ever; it only grows) guards its record: a run that was
superseded — the job cancelled and retried, or re-dispatched — records nothing, whatever it
saw last. Against the real store scripts on redis-server, no workers."""
from __future__ import annotations

import pytest

from herocelery.celeryapp import make_app
from herocelery.contexts import Registry
from herocelery.coordinator import build_records
from herocelery.keys import Keys
from herocelery.models import FlowSpec, JobStatus
from herocelery.settle import job_ended


@pytest.fixture
def rt(hero_settings):
    app = make_app(hero_settings)
    yield app.runtime
    app.runtime.close()
    app.close()


def _flow(rt):
    spec = FlowSpec.model_validate({"name": "gen", "jobs": {
        "a": {"script": "result = 1"}, "b": {"script": "result = 2", "after": ["a"]}}})
    ctx = Registry(rt.store.r, rt.settings).context("default")
    flow, jobs = build_records(rt, spec, "local", home=ctx.db)
    rt.store.create_flow(flow, jobs)
    return flow, {j.name: j for j in jobs}


def test_a_superseded_run_cannot_settle_the_job(rt):
    flow, jobs = _flow(rt)
    a = jobs["a"]
    rt.store.home(a.id).hincrby(Keys.job(a.id), "generation", 1)   # retried meanwhile
    assert job_ended(rt, a, JobStatus.cancelled, {}, generation=0) is False
    record = rt.store.job(a.id)
    assert record.status is JobStatus.waiting_for_prerequisites and record.generation == 1
    assert rt.store.flow(flow.id).remaining == 2
    assert job_ended(rt, record, JobStatus.finished, {"result": 1}, generation=1) is True
    assert rt.store.job(a.id).status is JobStatus.finished


def test_a_retry_is_recorded_only_in_the_generation_that_ran(rt):
    _, jobs = _flow(rt)
    a = jobs["a"]
    assert rt.store.set_job_if(a.id, 0, status=JobStatus.dispatched, generation=1) is True
    assert rt.store.set_job_if(a.id, 0, status=JobStatus.error) is False   # moved on
    record = rt.store.job(a.id)
    assert record.status is JobStatus.dispatched and record.generation == 1


def test_a_claim_of_a_cancelled_flow_names_the_generation_it_saw(rt):
    flow, jobs = _flow(rt)
    a = jobs["a"]
    rt.store.home(a.id).hset(Keys.flow(flow.id), "status", "cancelled")
    rt.store.home(a.id).hset(Keys.job(a.id), "generation", 3)
    verdict, generation = rt.store.claim_job(a.id, flow.id, "tok", 3.0, "here:1")
    assert (verdict, int(generation)) == ("cancelled", 3)
