"""Flows end to end: coordinator -> supervisor -> runner on real Celery workers and Redis."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import redis
from support import wait_for

from herocelery.errors import FlowError
from herocelery.flow import Flow, FlowHandle
from herocelery.keys import Keys
from herocelery.models import FlowStatus, JobStatus
from herocelery.store import Store

ROOT = Path(__file__).resolve().parents[1]


def run(flow: Flow, settings, timeout: float = 60) -> FlowHandle:
    handle = flow.submit(settings)
    handle.wait(timeout)
    return handle


def statuses(handle: FlowHandle) -> dict[str, str]:
    return {n: j.status.value for n, j in handle.jobs().items()}


def test_linear_flow_passes_results_as_inputs(cluster, hero_settings):
    f = Flow("linear")
    f.job("a", script="result = 1")
    f.job("b", after="a", script="result = inputs['a'] + 1")
    f.job("c", after="b", runner="shell", script="echo $(( 40 + 2 ))")
    h = run(f, hero_settings)
    assert h.status() is FlowStatus.finished
    assert h.results == {"a": 1, "b": 2, "c": {"stdout": "42\n", "exit_code": 0}}


def test_fan_out_then_fan_in_gets_every_input(cluster, hero_settings):
    f = Flow("fan")
    f.job("src", script="result = 10")
    for i in range(6):
        f.job(f"w{i}", after="src", script=f"result = inputs['src'] * {i}")
    f.job("sum", after=[f"w{i}" for i in range(6)],
          script="result = sum(inputs.values())")
    h = run(f, hero_settings)
    assert h.status() is FlowStatus.finished
    assert h.results["sum"] == 10 * sum(range(6))


def test_a_wide_flow_shares_runner_messages_and_every_job_runs_once(cluster, hero_settings):
    key = f"runs:{uuid.uuid4().hex}"
    f = Flow("wide")
    for i in range(60):
        f.job(f"w{i}", script=f"ctx.db.incr({key!r}); result = {i}")
    f.job("sum", after=[f"w{i}" for i in range(60)], script="result = sum(inputs.values())")
    h = run(f, hero_settings)
    unfinished = {n: (j.status, j.error) for n, j in h.jobs().items()
                  if j.status.value != "finished"}
    assert h.status() is FlowStatus.finished and h.results["sum"] == sum(range(60)), unfinished
    jobs = h.jobs()
    assert all(j.attempts == 1 for j in jobs.values())
    db = redis.Redis.from_url(hero_settings.broker_url.rsplit("/", 1)[0] + "/4")
    assert int(db.get(key)) == 60
    store = Store.from_url(hero_settings.store_url())
    task_ids = [store.home(j.id).hget(Keys.job(j.id), "task_id") for j in jobs.values()]
    store.close()
    assert len(set(task_ids)) < len(task_ids)  # some jobs travelled together


def test_diamond(cluster, hero_settings):
    f = Flow("diamond")
    f.job("a", script="result = 'a'")
    f.job("b", after="a", script="result = inputs['a'] + 'b'")
    f.job("c", after="a", script="result = inputs['a'] + 'c'")
    f.job("d", after=["b", "c"], script="result = sorted(inputs.items())")
    h = run(f, hero_settings)
    assert h.results["d"] == [["b", "ab"], ["c", "ac"]]


def test_n_shaped_dag_is_exact(cluster, hero_settings):
    """a->c, b->c, b->d (not series-parallel): d starts as soon as b ends, without waiting for
    a; c starts only when both a and b ended."""
    f = Flow("nshape")
    f.job("a", script="import time; time.sleep(2.0); result = 'a'")
    f.job("b", script="result = 'b'")
    f.job("c", after=["a", "b"], script="result = inputs")
    f.job("d", after=["b"], script="result = inputs")
    h = run(f, hero_settings)
    jobs = h.jobs()
    assert h.status() is FlowStatus.finished
    assert jobs["d"].started_at < jobs["a"].finished_at
    assert jobs["c"].started_at >= max(jobs["a"].finished_at, jobs["b"].finished_at)
    assert jobs["c"].result == {"a": "a", "b": "b"} and jobs["d"].result == {"b": "b"}


def test_retry_then_success(cluster, hero_settings):
    key = f"attempts:{uuid.uuid4().hex}"
    f = Flow("retry")
    f.job("flaky", retries=2, retry_backoff=0.1, script=(
        f"n = ctx.db.incr({key!r})\n"
        "if n < 2:\n    raise RuntimeError('first try fails')\nresult = n\n"))
    h = run(f, hero_settings)
    job = h.jobs()["flaky"]
    assert h.status() is FlowStatus.finished
    assert job.attempts == 2 and job.result == 2


def test_a_job_knows_its_attempt(cluster, hero_settings):
    """At-least-once, visibly: a job that runs again sees its attempt number (ctx.attempt,
    HERO_ATTEMPT), so it can make its effect idempotent."""
    f = Flow("attempt")
    f.job("py", retries=1, retry_backoff=0.1, script=(
        "import os\nif ctx.attempt == 1:\n    raise RuntimeError('first run fails')\n"
        "result = [ctx.attempt, os.environ['HERO_ATTEMPT']]"))
    f.job("sh", runner="shell", script="echo attempt=$HERO_ATTEMPT")
    h = run(f, hero_settings)
    assert h.status() is FlowStatus.finished
    assert h.results["py"] == [2, "2"]
    assert h.results["sh"]["stdout"].strip() == "attempt=1"


def test_retries_exhausted_records_the_last_error(cluster, hero_settings):
    f = Flow("exhaust")
    f.job("bad", retries=1, retry_backoff=0.1, script="x = 1\nraise KeyError('nope')")
    h = run(f, hero_settings)
    job = h.jobs()["bad"]
    assert job.status is JobStatus.error and job.attempts == 2
    assert job.error["line"] == 2 and "KeyError" in job.error["message"]


def test_timeout_marks_the_job_and_skips_dependents(cluster, hero_settings):
    f = Flow("timeout")
    f.job("slow", timeout=1, script="import time; time.sleep(30)")
    f.job("after_slow", after="slow", script="result = 1")
    h = run(f, hero_settings)
    assert statuses(h) == {"slow": "timeout", "after_slow": "skipped"}
    assert h.status() is FlowStatus.error


def test_failure_skips_dependents_and_independent_branch_finishes(cluster, hero_settings):
    f = Flow("failure")
    f.job("bad", script="raise ValueError('broken')")
    f.job("child", after="bad", script="result = 1")
    f.job("grandchild", after="child", script="result = 1")
    f.job("other", script="import time; time.sleep(0.5); result = 'done'")
    f.job("other2", after="other", script="result = inputs['other']")
    h = run(f, hero_settings)
    assert statuses(h) == {"bad": "error", "child": "skipped", "grandchild": "skipped",
                           "other": "finished", "other2": "finished"}
    assert h.status() is FlowStatus.error and h.results["other2"] == "done"
    assert "broken" in h.jobs()["bad"].error["message"]


def test_allow_failure_lets_dependents_run(cluster, hero_settings):
    f = Flow("allowed")
    f.job("bad", allow_failure=True, script="raise ValueError('tolerated')")
    f.job("next", after="bad", script="result = inputs['bad'] is None")
    h = run(f, hero_settings)
    assert statuses(h) == {"bad": "error", "next": "finished"}
    assert h.status() is FlowStatus.finished and h.results["next"] is True


def test_cancel_stops_running_and_waiting_jobs(cluster, hero_settings):
    from herocelery.celeryapp import make_app
    from herocelery.coordinator import cancel
    key = f"pid:{uuid.uuid4().hex}"
    f = Flow("cancel")
    f.job("long", script=f"import os, time\nctx.db.set({key!r}, os.getpid())\ntime.sleep(60)")
    f.job("later", after="long", script="result = 1")
    h = f.submit(hero_settings)
    db = redis.Redis.from_url(hero_settings.broker_url.rsplit("/", 1)[0] + "/4")
    pid = int(wait_for(lambda: db.get(key), 30, what="the long job to start"))
    app = make_app(hero_settings)
    try:
        names = cancel(app.runtime, h.id)
    finally:
        app.runtime.close()
        app.close()
    assert set(names) == {"long", "later"}
    assert h.wait(10) is FlowStatus.cancelled
    assert statuses(h) == {"long": "cancelled", "later": "cancelled"}
    wait_for(lambda: not os.path.exists(f"/proc/{pid}") or
             open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z", 10,
             what="the cancelled job's process to die")


def test_retry_from_failure_reruns_only_what_failed_and_its_dependents(cluster, hero_settings):
    from herocelery.celeryapp import make_app
    from herocelery.coordinator import retry
    key = f"fixed:{uuid.uuid4().hex}"
    f = Flow("rerun")
    f.job("good", script="result = 'kept'")
    f.job("fragile", after="good", script=(
        f"if not ctx.db.get({key!r}):\n    raise RuntimeError('not yet')\nresult = 'fixed'"))
    f.job("tail", after="fragile", script="result = inputs['fragile'] + '!'")
    h = run(f, hero_settings)
    assert statuses(h) == {"good": "finished", "fragile": "error", "tail": "skipped"}
    good_before = h.jobs()["good"]
    redis.Redis.from_url(hero_settings.broker_url.rsplit("/", 1)[0] + "/4").set(key, "1")
    app = make_app(hero_settings)
    try:
        assert retry(app.runtime, h.id) == ["fragile", "tail"]
        with pytest.raises(FlowError, match="still started"):
            retry(app.runtime, h.id)
    finally:
        app.runtime.close()
        app.close()
    assert h.wait(30) is FlowStatus.finished
    jobs = h.jobs()
    assert jobs["tail"].result == "fixed!"
    assert jobs["good"].attempts == 1 and jobs["good"].finished_at == good_before.finished_at


def test_every_dispatch_of_a_job_gets_a_fresh_task_id():
    from herocelery.canvas import batch_task_id, job_task_id
    from herocelery.models import Job
    job = Job(id="4-" + "a" * 32, flow_id="4-" + "b" * 32, name="j", node="node1",
              runner="python", script="", timeout_s=1)
    again = job.model_copy(update={"generation": 1, "attempts": 0})
    assert job_task_id(job) == job_task_id(job.model_copy())   # one dispatch, one id
    assert job_task_id(again) != job_task_id(job)               # a re-dispatch, a new one
    assert batch_task_id([job, job]) != batch_task_id([again, job])


def test_retry_after_cancel_runs_the_job_again(cluster, hero_settings):
    """issue 12.2: the retried job used the task id its cancel had revoked, and stayed
    `dispatched` forever."""
    from herocelery.celeryapp import make_app
    from herocelery.coordinator import cancel, retry
    key = f"runs:{uuid.uuid4().hex}"
    f = Flow("cancel-retry")
    f.job("long", script=(f"import time\nn = ctx.db.incr({key!r})\n"
                          "if n == 1:\n    time.sleep(60)\nresult = n"))
    f.job("later", after="long", script="result = inputs['long'] + 1")
    h = f.submit(hero_settings)
    db = redis.Redis.from_url(hero_settings.broker_url.rsplit("/", 1)[0] + "/4")
    wait_for(lambda: db.get(key) == b"1", 30, what="the long job to start")
    store = Store.from_url(hero_settings.store_url())
    job_id = h.record().jobs["long"]
    first_task = store.home(job_id).hget(Keys.job(job_id), "task_id")
    app = make_app(hero_settings)
    try:
        cancel(app.runtime, h.id)
        assert h.wait(10) is FlowStatus.cancelled
        assert retry(app.runtime, h.id) == ["long", "later"]
    finally:
        app.runtime.close()
        app.close()
    assert h.wait(30) is FlowStatus.finished, {n: (j.status, j.error) for n, j in h.jobs().items()}
    assert h.results == {"long": 2, "later": 3}
    assert store.home(job_id).hget(Keys.job(job_id), "task_id") != first_task
    store.close()


def test_a_runner_killed_mid_job_does_not_lose_the_job(cluster, hero_settings):
    key = f"runs:{uuid.uuid4().hex}"
    f = Flow("kill9")
    f.job("victim", script=(
        f"import time\nn = ctx.db.incr({key!r})\n"
        "if n == 1:\n    time.sleep(60)\nresult = n"))
    f.job("after", after="victim", script="result = inputs['victim']")
    h = f.submit(hero_settings)
    store = Store.from_url(hero_settings.store_url())
    job_id = h.record().jobs["victim"]
    ctx_db = redis.Redis.from_url(hero_settings.broker_url.rsplit("/", 1)[0] + "/4")
    wait_for(lambda: ctx_db.get(key) == b"1", 30, what="the job's script to start")
    worker = store.home(job_id).hget(Keys.job(job_id), "worker")
    store.close()
    pid = int(worker.rsplit(":", 1)[1])
    os.kill(pid, signal.SIGKILL)  # the runner process executing the job dies
    assert h.wait(60) is FlowStatus.finished
    assert h.results == {"victim": 2, "after": 2}


def _stored(hero_settings) -> dict[str, int]:
    """What a submit would add: records (store and default context databases) and the
    supervisor's queue (the broker database also holds kombu's own, changing keys)."""
    base = hero_settings.broker_url.rsplit("/", 1)[0]
    out = {str(db): redis.Redis.from_url(f"{base}/{db}").dbsize() for db in (3, 4)}
    out["queue"] = redis.Redis.from_url(hero_settings.broker_url).llen("supervisor.node1")
    return out


def test_bad_input_stores_and_queues_nothing(cluster, hero_settings):
    before = _stored(hero_settings)
    for jobs in ({"a": {"script": "x", "after": ["a"]}},
                 {"a": {"script": "x", "node": "nowhere"}},
                 {"a": {"script": "x", "runner": "cobol"}}):
        f = Flow("bad")
        for name, spec in jobs.items():
            f.job(name, **spec)
        with pytest.raises(FlowError):
            f.submit(hero_settings)
    assert _stored(hero_settings) == before


def test_cli_run_prints_the_flow_as_json(redis_server, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env["HEROCELERY_DATA_DIR"] = str(tmp_path)
    # a store of its own: the session's workers share this redis-server (store database 3)
    env["HEROCELERY_STORE_DB"] = "37"
    proc = subprocess.run([sys.executable, "-m", "herocelery", "--broker",
                           redis_server.url + "/7", "run", str(ROOT / "examples" / "etl.yaml"),
                           "--json"], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["status"] == "finished"
    assert out["jobs"]["double"] == {"status": "finished", "result": [2, 4, 6], "error": None}
    assert "Traceback" not in proc.stderr and "AsyncResult" not in proc.stderr
    # the shape `up` ships (issue 12.7): a supervisor that managed its runner, then stopped it
    store = Store.from_url(redis_server.url + "/37")
    try:
        state = store.runner_states("node1")["python"]
    finally:
        store.close()
    assert state["state"] == "stopped" and str(tmp_path / "logs") in state["log"]
