"""A runner admits what the job it settled released on its own node (issue 16.2): the
supervisor's admission code, run in the runner process, instead of a message to the node's
supervisor and back; the supervisor stays the fallback."""
from __future__ import annotations

from typing import Any

from support import Events, wait_for

from herocelery.celeryapp import admit_released, make_app
from herocelery.contexts import Registry
from herocelery.coordinator.submit import build_records
from herocelery.flow import Flow
from herocelery.models import FlowStatus, JobStatus


def test_a_chain_on_one_node_needs_one_admission_message(cluster, hero_settings):
    app = make_app(hero_settings)
    try:
        with Events(app) as events:
            f = Flow("local-admission")
            f.job("a", script="result = 20")
            f.job("b", runner="shell", after=["a"], script="echo 1")
            f.job("c", after=["a", "b"], script="result = inputs['a'] + 1")
            h = f.submit(hero_settings)
            assert h.wait(60) is FlowStatus.finished
            assert h.results["c"] == 21

            def sent(name: str) -> list[dict[str, Any]]:
                return [e for e in list(events.seen) if e.get("type") == "task-sent"
                        and e.get("name") == name and h.id in str(e.get("args"))]
            wait_for(lambda: len(sent("hero.run")) == 3, 10,
                     what="the three runner messages' sent events")
            admissions = sent("hero.admit")
            # the submit's admission of `a` only: b and c were admitted by the runners
            assert len(admissions) == 1, admissions
            assert "jobs=a" in str(admissions[0].get("args"))
    finally:
        app.runtime.close()
        app.close()


def test_when_admitting_here_fails_the_supervisor_admits(cluster, hero_settings, monkeypatch):
    app = make_app(hero_settings)
    rt = app.runtime
    try:
        ctx = Registry(rt.store.r, hero_settings).context("default")
        f = Flow("local-admission-fallback")
        f.job("x", script="result = 'via the supervisor'")
        flow, jobs = build_records(rt, f.spec(), "local", home=ctx.db)
        rt.store.create_flow(flow, jobs)       # stored and released, sent nowhere yet
        job = jobs[0]
        rt.released = [(flow.id, job.id, job.node, job.name)]

        def broken(*_: object) -> int:
            raise RuntimeError("admission broke")
        import herocelery.supervisor
        monkeypatch.setattr(herocelery.supervisor, "admit_batch", broken)
        admit_released(rt)
        assert rt.released == []
        wait_for(lambda: rt.store.job(job.id).status is JobStatus.finished, 30,
                 what="the supervisor to admit and the runner to run the job")
        assert rt.store.results([job.id])[0][1] == "via the supervisor"
    finally:
        rt.close()
        app.close()
