"""The reconciler (issue 13.1): its decisions as tables, then each kind of stale work — left
by a process that died at the worst moment — moved on against real workers and redis-server.
Process kills themselves are in tests/faults/."""
from __future__ import annotations

import base64
import json
import threading
import time
import uuid

import pytest
from support import wait_for

from herocelery import canvas
from herocelery.celeryapp import make_app
from herocelery.contexts import Registry
from herocelery.coordinator import build_records
from herocelery.flow import FlowHandle
from herocelery.keys import Keys, runner_queue
from herocelery.models import FlowSpec, FlowStatus, JobStatus
from herocelery.reconciler import Action, JobView, Reconciler, broker, decide, orphans
from herocelery.reconciler.broker import job_ids

NOW = 1000.0
W, D, S = "waiting_for_prerequisites", "dispatched", "started"


def job(status, **kw):
    return JobView(id="j", status=status, **kw)


@pytest.mark.parametrize("view,held,busy,since,expected", [
    (job(None), False, False, None, Action("forget")),
    (job("finished"), False, False, None, Action("forget")),
    (job("cancelled"), True, True, None, Action("forget")),
    (job(W, pending=1), False, False, None, Action("forget")),          # not released yet
    (job(W), True, False, None, Action("later", NOW + 10)),            # its admission is held
    (job(W), False, True, None, Action("later", NOW + 10)),            # ... or queued
    (job(W), False, False, None, Action("redispatch",
                                        reason="released, but no admission message holds it")),
    (job(D, dispatched_at=NOW - 100), True, False, None, Action("later", NOW + 50)),
    (job(D, dispatched_at=NOW - 500), False, True, None, Action("later", NOW + 60)),
    (job(D), False, False, None, Action("redispatch",
                                        reason="dispatched, but no runner message holds it")),
    (job(D, dispatched_at=NOW - 1), False, False, None, Action("later", NOW + 10)),  # just sent
    (job(S, lease_held=True), False, False, None, Action("later", NOW + 9)),
    (job(S), False, False, None, Action("later", NOW + 4)),             # first seen lease-less
    (job(S), False, False, NOW - 1, Action("later", NOW + 4)),          # a keeper may renew
    (job(S), True, False, NOW - 100, Action("later", NOW + 4)),         # a live worker has it
    (job(S, attempts=1, runs_allowed=3), False, False, NOW - 5,
     Action("redispatch", reason="its worker was lost mid-run (its lease expired)")),
    (job(S, attempts=3, runs_allowed=3), False, False, NOW - 5, Action("fail", reason="lost")),
])
def test_what_the_reconciler_does_with_a_job(view, held, busy, since, expected):
    assert decide(view, now=NOW, held=held, queue_busy=busy, lease_missing_since=since,
                  lease_s=9.0, grace_s=10.0) == expected


def test_a_message_is_an_orphan_when_no_live_worker_reports_it():
    unacked = {"old-dead": NOW - 60, "old-live": NOW - 60, "fresh": NOW - 1}
    assert orphans(unacked, {"old-live"}, now=NOW, grace_s=5) == ["old-dead"]


def _message(task: str, args: list) -> dict:
    body = base64.b64encode(json.dumps([args, {}, {}]).encode()).decode()
    return {"headers": {"task": task}, "properties": {"body_encoding": "base64"}, "body": body}


def test_the_job_ids_a_message_carries():
    assert job_ids(_message("hero.run", ["4-abc"])) == ["4-abc"]
    assert job_ids(_message("hero.admit", [["4-a", "4-b"]])) == ["4-a", "4-b"]
    assert job_ids(_message("someone.else", ["x"])) is None      # never ours to restore
    assert job_ids({"headers": {"task": "hero.run"}, "body": "not json"}) == []


# ---- against real workers ------------------------------------------------------------------
@pytest.fixture
def fast(hero_settings):
    return hero_settings.with_(reconcile_grace_s=0.5, reconcile_interval_s=0.2)


@pytest.fixture
def rt(fast):
    app = make_app(fast)
    yield app.runtime
    app.runtime.close()
    app.close()


@pytest.fixture
def reconciler(fast, cluster):
    rec = Reconciler(fast, name=f"test-{uuid.uuid4().hex[:6]}").start_thread()
    yield rec
    rec.stop()


def stored(rt, jobs: dict, name: str = "stale"):
    """A flow stored as a submitter stores it, but nothing sent (it died right after)."""
    spec = FlowSpec.model_validate({"name": name, "jobs": jobs})
    ctx = Registry(rt.store.r, rt.settings).context("default")
    flow, records = build_records(rt, spec, "local", home=ctx.db)
    rt.store.create_flow(flow, records)
    return flow, {j.name: j for j in records}


def test_a_flow_stored_but_never_dispatched_runs(rt, fast, reconciler):
    flow, _ = stored(rt, {"a": {"script": "result = 1"},
                          "b": {"script": "result = inputs['a'] + 1", "after": ["a"]}})
    h = FlowHandle(flow.id, fast)
    assert h.wait(30) is FlowStatus.finished and h.results == {"a": 1, "b": 2}
    assert reconciler.totals["redispatched"] >= 1
    h.close()


def test_a_dispatched_job_whose_message_is_gone_runs(rt, fast, reconciler):
    flow, jobs = stored(rt, {"a": {"script": "result = ctx.attempt"}})
    rt.store.set_job(jobs["a"].id, status=JobStatus.dispatched, dispatched_at=time.time())
    h = FlowHandle(flow.id, fast)
    assert h.wait(30) is FlowStatus.finished and h.results == {"a": 1}
    assert h.jobs()["a"].generation == 1          # a new dispatch: a fresh task id
    h.close()


def test_a_started_job_whose_run_vanished_runs_again_as_its_next_attempt(rt, fast, reconciler):
    flow, jobs = stored(rt, {"a": {"script": "result = ctx.attempt"}})
    rt.store.set_job(jobs["a"].id, status=JobStatus.started, attempts=1, started_at=time.time(),
                     worker="elsewhere:1")       # no lease, no message: its worker is gone
    h = FlowHandle(flow.id, fast)
    assert h.wait(30) is FlowStatus.finished and h.results == {"a": 2}
    h.close()


def test_a_job_whose_worker_is_lost_every_time_ends_error(rt, fast, reconciler):
    flow, jobs = stored(rt, {"a": {"script": "result = 1"}, "b": {"script": "result = 2",
                                                                 "after": ["a"]}})
    runs = jobs["a"].runs_allowed(fast.lost_runs_limit)
    rt.store.set_job(jobs["a"].id, status=JobStatus.started, attempts=runs,
                     started_at=time.time(), worker="elsewhere:1")
    h = FlowHandle(flow.id, fast)
    assert h.wait(30) is FlowStatus.error
    a = h.jobs()["a"]
    assert a.status is JobStatus.error and a.error["type"] == "WorkerLost"
    assert f"started {runs} times" in a.error["message"]
    assert h.jobs()["b"].status is JobStatus.skipped
    h.close()


def test_a_flow_whose_last_settler_died_before_finishing_it_is_finished(rt, fast, reconciler):
    flow, jobs = stored(rt, {"a": {"script": "result = 1"}})
    r = rt.store.home(flow.id)
    r.hset(Keys.job(jobs["a"].id), mapping={"status": "finished", "finished_at": time.time()})
    r.zrem(Keys.inflight(), jobs["a"].id)
    r.hset(Keys.flow(flow.id), "remaining", 0)
    r.zadd(Keys.finishing(), {flow.id: time.time()})  # what the settle script leaves behind
    h = FlowHandle(flow.id, fast)
    assert h.wait(30) is FlowStatus.finished
    assert reconciler.totals["flows_finished"] >= 1
    h.close()


def test_several_reconcilers_take_each_stale_job_exactly_once(rt, fast, cluster):
    """Four reconcilers pass over and over, all at once, while the jobs they re-dispatch are
    admitted, run and settle: each job is taken once (failed under load with 31 of 30: a
    reconciler read the broker before the jobs, so a job another had just re-dispatched and
    that sat in a runner's hands looked orphaned again)."""
    n = 60
    flow, jobs = stored(rt, {f"j{i}": {"script": f"result = [{i}, ctx.attempt]"}
                             for i in range(n)})
    r = rt.store.home(flow.id)
    r.zadd(Keys.inflight(), {j.id: 0 for j in jobs.values()})     # all due now
    many = [Reconciler(fast.with_(reconcile_interval_s=0.05), name=f"twin-{i}")
            for i in range(4)]
    barrier = threading.Barrier(len(many))
    h = FlowHandle(flow.id, fast)

    def passes(rec):
        barrier.wait()
        time.sleep(0.6)                  # past the grace, all at once
        deadline = time.monotonic() + 60
        while h.status() is not FlowStatus.finished and time.monotonic() < deadline:
            rec.pass_once()
            time.sleep(0.02)
    threads = [threading.Thread(target=passes, args=(rec,)) for rec in many]
    for t in threads:
        t.start()
    for t in threads:
        t.join(90)
    for rec in many:
        rec.stop()
    assert h.wait(30) is FlowStatus.finished
    assert sum(rec.totals["redispatched"] for rec in many) == n
    assert [int(r.hget(Keys.job(j.id), "generation")) for j in jobs.values()] == [1] * n
    assert h.results == {f"j{i}": [i, 1] for i in range(n)}        # each ran once
    h.close()


def test_a_message_taken_by_a_worker_while_a_pass_reads_still_holds_its_job(rt, fast,
                                                                           monkeypatch):
    """The interleaving behind the 31-of-30 flake, made on purpose: a dispatched job's
    message waits in its runner queue, and a worker takes it (queue -> its unacked
    messages) right while a pass reads the broker. The pass must see it held in one of the
    two reads; it took the job again before (it read the workers' messages first, the
    queues last)."""
    flow, jobs = stored(rt, {"a": {"script": "result = 1"}})
    jid = jobs["a"].id
    node = f"nowhere-{uuid.uuid4().hex[:6]}"       # a node nobody consumes: the test does
    rt.store.set_job(jid, node=node, status=JobStatus.dispatched,
                     dispatched_at=time.time() - 60)
    rt.store.home(flow.id).zadd(Keys.inflight(), {jid: 0})
    canvas.send([canvas.runner_call(rt.app, jid, node, "python", flow.id, "a")])
    taken, reads = [], []
    with rt.app.connection_for_write() as conn:
        queue = conn.SimpleQueue(runner_queue(node, "python"))

        def between(real):
            def read(*args):              # the second of the two reads: the message moved
                if reads and not taken:
                    taken.append(queue.get(timeout=5))
                reads.append(real.__name__)
                return real(*args)
            return read
        monkeypatch.setattr(broker, "busy_queues", between(broker.busy_queues))
        monkeypatch.setattr(broker, "read_unacked", between(broker.read_unacked))
        rec = Reconciler(fast, name="reader")
        try:
            report = rec.pass_once()
            assert taken and report.counts["redispatched"] == 0
            assert rt.store.job(jid).generation == 0
        finally:
            rec.stop()
            if taken:
                taken[0].ack()
            queue.close()
    rt.store.cancel(flow.id, [jid])


def test_the_reclaim_takes_a_job_only_while_it_is_due(rt):
    """The store's claim is atomic and checks what the pass saw: status, generation, and
    that the job is still due in `inflight` (another reconciler that took it or put it off
    moved it on there)."""
    flow, jobs = stored(rt, {"a": {"script": "result = 1"}})
    jid = jobs["a"].id
    r = rt.store.home(flow.id)
    try:
        r.zadd(Keys.inflight(), {jid: time.time() + 60})      # put off by another pass
        assert rt.store.reclaim(jid, W, 0, new_status=W) == 0
        r.zrem(Keys.inflight(), jid)                          # not in flight any more
        assert rt.store.reclaim(jid, W, 0, new_status=W) == 0
        r.zadd(Keys.inflight(), {jid: 0})
        assert rt.store.reclaim(jid, D, 0, new_status=W) == 0  # not as the pass saw it
        assert rt.store.reclaim(jid, W, 0, new_status=W) == 1
        assert rt.store.reclaim(jid, W, 0, new_status=W) == 0  # taken: the next one loses
        assert rt.store.job(jid).generation == 1
    finally:
        rt.store.cancel(flow.id, [jid])


def test_the_reconciler_shows_what_it_did(rt, fast, reconciler):
    wait_for(lambda: reconciler.name in rt.store.reconcilers(), 10, what="a pass recorded")
    state = rt.store.reconcilers()[reconciler.name]
    assert state["passes"] >= 1 and time.time() - state["last_pass"] < 10
    assert "redispatched" in state and "stale" in state
    counts = rt.store.reconciler_counts()
    assert counts.get("passes", 0) >= 1
