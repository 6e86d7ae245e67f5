"""The heroscript runner: built-ins against a real redis-server, references, result, limits."""
from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from support import RedisServer

from herocelery.errors import HeroScriptError, JobTimeout
from herocelery.runners import get_runner
from herocelery.runners.base import JobContext
from herocelery.runners.heroscript import RUNNER, HeroScriptRunner


@pytest.fixture
def make_job(redis_server: RedisServer) -> Iterator[Any]:
    jobs: list[JobContext] = []

    def make(script: str, **kw: Any) -> tuple[JobContext, list[str]]:
        logs: list[str] = []
        fields: dict[str, Any] = dict(
            job_id=str(uuid.uuid4()), flow_id="f1", name="hs", runner="heroscript",
            script=script, args={}, env={}, inputs={}, caller_id="tester",
            context_id="ctx", node="node1", timeout_s=10.0,
            db_url=redis_server.url + "/5", log=logs.append)
        fields.update(kw)
        job = JobContext(**fields)
        jobs.append(job)
        return job, logs
    yield make
    for job in jobs:
        job.close()


@pytest.fixture
def db(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url + "/5", decode_responses=True, protocol=2)
    yield client
    client.close()


def test_the_registry_finds_the_runner() -> None:
    assert get_runner("heroscript") is RUNNER and RUNNER.name == "heroscript"


def test_db_builtins_against_the_jobs_own_database(make_job: Any, db: redis.Redis) -> None:
    p = uuid.uuid4().hex[:8]
    script = f"""
!!db.set key:{p}:s value:'hello world'
!!db.get key:{p}:s
!!db.incr key:{p}:n
!!db.incr key:{p}:n by:41
!!db.hset key:{p}:h field:a value:1
!!db.hset key:{p}:h field:b value:2
!!db.hget key:{p}:h field:b
!!db.hgetall key:{p}:h
!!db.rpush key:{p}:l values:x,y,z
!!db.lpush key:{p}:l value:w
!!db.llen key:{p}:l
!!db.lpop key:{p}:l
!!db.rpop key:{p}:l
!!db.sadd key:{p}:set members:'b, a, b'
!!db.smembers key:{p}:set
!!db.expire key:{p}:s seconds:100
!!db.del keys:{p}:n,{p}:missing
"""
    job, _ = make_job(script)
    result = RUNNER.run(job)
    assert result == [True, "hello world", 1, 42, 1, 1, "2", {"a": "1", "b": "2"}, 3, 4, 4,
                      "w", "z", 2, ["a", "b"], True, 1]
    assert db.get(f"{p}:s") == "hello world" and 0 < db.ttl(f"{p}:s") <= 100
    assert db.lrange(f"{p}:l", 0, -1) == ["x", "y"]
    assert not db.exists(f"{p}:n")


def test_job_result_value_json_and_echo_to_the_log(make_job: Any) -> None:
    job, logs = make_job("!!play.echo text:'step one'\n!!job.result value:'first'\n"
                         "!!play.echo second step\n"
                         "!!job.result json:'{\"n\": [1, 2], \"ok\": true}'\n")
    assert RUNNER.run(job) == {"n": [1, 2], "ok": True}
    assert logs == ["step one", "second step"]


def test_inputs_args_env_and_job_references(make_job: Any, db: redis.Redis) -> None:
    key = "ref:" + uuid.uuid4().hex[:8]
    job, logs = make_job(
        f"!!play.echo text:'{{inputs.extract}} | {{inputs.extract.1}} | {{inputs.meta.who}}'\n"
        f"!!play.echo text:'{{inputs.name}} {{args.limit}} {{args.nested.k}} {{env.MODE}}'\n"
        f"!!db.set key:{key} value:'{{job.name}}@{{job.flow_id}}'\n"
        "!!job.result json:'{\"doubled\": {inputs.extract}, \"who\": \"{inputs.meta.who}\"}'\n",
        inputs={"extract": [1, 2, 3], "meta": {"who": "jan"}, "name": "it's text"},
        args={"limit": 10, "nested": {"k": "v"}}, env={"MODE": "test"})
    assert RUNNER.run(job) == {"doubled": [1, 2, 3], "who": "jan"}
    assert logs == ["[1, 2, 3] | 2 | jan", "it's text 10 v test"]
    assert db.get(key) == "hs@f1"


def test_an_unknown_reference_is_a_positioned_error(make_job: Any) -> None:
    job, _ = make_job("!!play.echo text:hi\n!!play.echo\n    text:'{inputs.nope}'\n",
                      inputs={"extract": 1})
    with pytest.raises(HeroScriptError) as info:
        RUNNER.run(job)
    assert (info.value.file, info.value.line, info.value.column) == ("job:hs", 3, 5)
    assert "{inputs.nope}" in info.value.reason and "extract" in info.value.reason


def test_session_variables_and_result_list_when_no_job_result(make_job: Any) -> None:
    job, logs = make_job("!!session.env_set key:WHO val:world\n!!play.echo text:'hi {WHO}'\n")
    assert RUNNER.run(job) == [None, "hi world"]
    assert logs == ["hi world"]


def test_host_touching_actions_are_not_built_in(make_job: Any) -> None:
    job, logs = make_job("!!play.echo text:never\n!!play.include path:/etc/passwd\n"
                         "!!os.exec cmd:ls\n")
    with pytest.raises(HeroScriptError) as info:
        RUNNER.run(job)
    assert "!!play.include" in info.value.reason and "!!os.exec" in info.value.reason
    assert logs == []   # checked before anything ran


def test_a_redis_failure_names_the_action(make_job: Any) -> None:
    job, _ = make_job("\n!!db.incr key:x\n", db_url="redis://127.0.0.1:1/0")
    with pytest.raises(HeroScriptError) as info:
        RUNNER.run(job)
    assert info.value.line == 2 and "db.incr" in info.value.reason


def test_bad_script_and_bad_params_are_positioned(make_job: Any) -> None:
    job, _ = make_job("!!db.set key:a value:'x\n")
    with pytest.raises(HeroScriptError) as info:
        RUNNER.run(job)
    assert (info.value.line, info.value.column) == (1, 22)
    job2, _ = make_job("!!db.set key:a value:x ex:soon\n")
    with pytest.raises(HeroScriptError) as info2:
        RUNNER.run(job2)
    assert "'ex'" in info2.value.reason and info2.value.column == 24
    job3, _ = make_job("!!job.result json:'{nope'\n")
    with pytest.raises(HeroScriptError) as info3:
        RUNNER.run(job3)
    assert "not valid JSON" in info3.value.reason


def test_cancellation_is_checked_between_actions(make_job: Any) -> None:
    state = {"n": 0}

    def log(line: str) -> None:
        state["n"] += 1
    job, _ = make_job("!!play.echo a\n!!play.echo b\n!!play.echo c\n", log=log,
                      cancelled=lambda: state["n"] >= 2)
    with pytest.raises(HeroScriptError) as info:
        RUNNER.run(job)
    assert state["n"] == 2 and info.value.line == 3 and "cancelled" in info.value.reason


def test_the_deadline_is_checked_between_actions(make_job: Any) -> None:
    job, logs = make_job("!!play.echo a\n!!play.echo b\n", timeout_s=5.0,
                         started_monotonic=time.monotonic() - 6.0)
    with pytest.raises(JobTimeout) as info:
        RUNNER.run(job)
    assert logs == [] and info.value.line == 1


def test_other_rooms_can_register_actions(make_job: Any) -> None:
    runner = HeroScriptRunner(extensions=("tests_ext_hs:register",))
    job, logs = make_job("!!demo.hello who:jan\n")
    import sys
    import types
    mod = types.ModuleType("tests_ext_hs")
    mod.register = lambda reg: reg.register(  # type: ignore[attr-defined]
        "demo.hello", lambda call: f"hello {call.params.str('who')}")
    sys.modules["tests_ext_hs"] = mod
    try:
        assert runner.run(job) == ["hello jan"]
    finally:
        del sys.modules["tests_ext_hs"]
