"""What Celery (and so Flower) sees of a job: its runner task ends FAILURE when the job ended
error or timeout, SUCCESS when it finished; the message is acked either way; no traceback in
the worker's log for a job that merely failed; no health-check tasks at all."""
from __future__ import annotations

import pytest
import redis
from support import Events, wait_for

from herocelery.celeryapp import failure, make_app
from herocelery.flow import Flow
from herocelery.keys import Keys
from herocelery.models import FlowStatus, JobStatus
from herocelery.store import Store


@pytest.mark.parametrize("settled,expected", [
    ({}, None),
    ({"a": JobStatus.finished}, None),
    ({"a": JobStatus.cancelled}, None),
    ({"a": JobStatus.error}, "1 of 1 job(s) failed: a error"),
    ({"a": JobStatus.finished, "b": JobStatus.timeout}, "1 of 2 job(s) failed: b timeout"),
])
def test_a_runner_task_fails_only_for_jobs_it_settled_as_failed(settled, expected):
    assert failure(settled) == expected


def test_flower_sees_failure_for_a_failed_job_and_success_for_a_finished_one(cluster,
                                                                           hero_settings):
    app = make_app(hero_settings)
    store = Store.from_url(hero_settings.store_url())
    broker = redis.Redis.from_url(hero_settings.broker_url)
    try:
        with Events(app) as events:
            f = Flow("flower-states")
            f.job("good", script="result = 1")
            f.job("bad", script="raise ValueError('no good')")
            f.job("slow", script="import time\ntime.sleep(30)", timeout=1)
            h = f.submit(hero_settings)
            assert h.wait(60) is FlowStatus.error
            ids = h.record().jobs
            task = {n: store.home(j).hget(Keys.job(j), "task_id") for n, j in ids.items()}
            wait_for(lambda: "task-succeeded" in events.types(task["good"]), 20,
                     what="the finished job's task to succeed")
            wait_for(lambda: "task-failed" in events.types(task["bad"]), 20,
                     what="the failed job's task to fail")
            wait_for(lambda: "task-failed" in events.types(task["slow"]), 20,
                     what="the timed-out job's task to fail")
            failed = {e["uuid"]: e for e in events.of("task-failed")}
            assert "JobFailed" in failed[task["bad"]]["exception"]
            assert ids["bad"] in failed[task["bad"]]["exception"]
            assert "timeout" in failed[task["slow"]]["exception"]
            assert "task-succeeded" not in events.types(task["bad"])
            # the record settled before the task failed: nothing lost
            assert h.jobs()["bad"].status is JobStatus.error
            # no health check travels as a task (Flower's list would fill with them)
            assert not [e for e in events.of("task-received")
                        if not str(e.get("name", "")).startswith(("hero.run", "hero.admit"))]
        # acked as for a success: nothing of these tasks left in kombu's unacked hash
        wait_for(lambda: not any(t in v.decode(errors="replace")
                                 for v in broker.hvals("unacked") for t in task.values()),
                 20, what="the failed tasks' messages to be acked")
        log = cluster.runner_log("node1", "python").read_text()
        assert "raise JobFailed" not in log and "JobFailed" in log  # logged, without traceback
    finally:
        store.close()
        app.close()
