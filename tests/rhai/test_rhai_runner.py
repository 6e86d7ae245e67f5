"""The rhai runner against a real redis-server: scope, db functions, logs, result, limits."""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis

from herocelery.errors import RhaiError
from herocelery.runners import get_runner
from herocelery.runners.base import JobContext
from herocelery.runners.rhai.bindings import BINDINGS, register_binding
from herocelery.runners.rhai.runner import RUNNER


@pytest.fixture()
def db_url(redis_server: Any) -> Iterator[str]:
    url = redis_server.url + "/6"
    client = redis.Redis.from_url(url, decode_responses=True)
    client.flushdb()
    yield url
    client.flushdb()
    client.close()


def job(script: str, db_url: str, **kw: Any) -> JobContext:
    logs: list[str] = []
    ctx = JobContext(job_id="j1", flow_id="f1", name="step", runner="rhai", script=script,
                     args=kw.pop("args", {}), env={}, inputs=kw.pop("inputs", {}),
                     caller_id="alice", context_id="ctx-1", node="n1",
                     timeout_s=kw.pop("timeout_s", 10.0), db_url=db_url, log=logs.append,
                     **kw)
    ctx.logs = logs  # type: ignore[attr-defined]
    return ctx


def test_the_registry_finds_the_rhai_runner() -> None:
    assert get_runner("rhai") is RUNNER
    assert RUNNER.name == "rhai"


def test_scope_holds_inputs_args_and_ids(db_url: str) -> None:
    script = "#{sum: INPUTS.a.n + ARGS.k, caller: CALLER_ID, ctx: CONTEXT_ID, job: JOB_ID}"
    result = RUNNER.run(job(script, db_url, inputs={"a": {"n": 40}}, args={"k": 2}))
    assert result == {"sum": 42, "caller": "alice", "ctx": "ctx-1", "job": "j1"}


def test_result_is_json_data(db_url: str) -> None:
    result = RUNNER.run(job("[1, 2.5, 'c', (), #{x: [true]}, 1..3]", db_url))
    assert result == [1, 2.5, "c", None, {"x": [True]}, [1, 2]]


def test_db_functions_write_to_the_jobs_own_database(db_url: str) -> None:
    script = """
        db_set("greeting", "hello");
        db_set("n", 41);
        db_incr("n");
        db_incr("n", 10);
        db_hset("user:1", "name", "Ann");
        db_hset("user:1", "age", 30);
        db_lpush("q", "a"); db_rpush("q", "b"); db_rpush("q", "c");
        db_set("tmp", "x"); db_del("tmp");
        db_set("obj", #{a: [1, 2]});
        #{
            greeting: db_get("greeting"),
            n: parse_int(db_get("n")),
            user: db_hgetall("user:1"),
            name: db_hget("user:1", "name"),
            first: db_lpop("q"),
            last: db_rpop("q"),
            left: db_llen("q"),
            tmp: db_exists("tmp"),
            missing: db_get("nope"),
            keys: db_keys("user:*"),
        }
    """
    result = RUNNER.run(job(script, db_url))
    assert result == {"greeting": "hello", "n": 52, "user": {"name": "Ann", "age": "30"},
                      "name": "Ann", "first": "a", "last": "c", "left": 1, "tmp": False,
                      "missing": None, "keys": ["user:1"]}
    client = redis.Redis.from_url(db_url, decode_responses=True)
    assert client.get("greeting") == "hello"
    assert client.get("obj") == '{"a": [1, 2]}'
    assert RUNNER.run(job('parse_json(db_get("obj")).a[1]', db_url)) == 2
    assert client.lrange("q", 0, -1) == ["b"]
    client.close()


def test_print_and_debug_go_to_the_job_log(db_url: str) -> None:
    ctx = job('print("step one"); debug("two"); print(42); 0', db_url)
    RUNNER.run(ctx)
    assert ctx.logs == ["step one", '"two"', "42"]  # type: ignore[attr-defined]


def test_the_jobs_deadline_stops_an_endless_script(db_url: str) -> None:
    ctx = job("loop { }", db_url, timeout_s=0.3)
    t0 = time.monotonic()
    with pytest.raises(RhaiError) as info:
        RUNNER.run(ctx)
    assert "Script terminated" in str(info.value)
    assert time.monotonic() - t0 < 5


def test_a_script_past_the_jobs_deadline_raises_a_job_timeout(db_url: str) -> None:
    # the runner task settles JobTimeout as `timeout`; a plain RhaiError would be `error`
    from herocelery.errors import JobTimeout
    with pytest.raises(JobTimeout) as info:
        RUNNER.run(job("let i = 0; loop { i += 1; }", db_url, timeout_s=0.3))
    assert isinstance(info.value, RhaiError)
    assert "wall-clock timeout" in str(info.value)
    with pytest.raises(RhaiError) as other:
        RUNNER.run(job("loop { }", db_url, timeout_s=10.0, cancelled=lambda: True))
    assert not isinstance(other.value, JobTimeout)


def test_cancellation_stops_the_script(db_url: str) -> None:
    flag = {"stop": False}
    ctx = job("let i = 0; loop { i += 1; if i == 1000 { db_set(\"seen\", 1); } }", db_url,
              cancelled=lambda: flag["stop"] or bool(
                  redis.Redis.from_url(db_url).exists("seen")))
    with pytest.raises(RhaiError) as info:
        RUNNER.run(ctx)
    assert "cancelled" in str(info.value)


def test_errors_are_rhai_errors_with_positions(db_url: str) -> None:
    with pytest.raises(RhaiError) as info:
        RUNNER.run(job("let x = 1;\nx + missing", db_url))
    assert (info.value.line, info.value.column) == (2, 5)
    with pytest.raises(RhaiError) as info:
        RUNNER.run(job('db_incr("k", "not a number")', db_url))
    assert "db_incr" in str(info.value)


def test_a_wrong_type_in_redis_is_a_script_error(db_url: str) -> None:
    with pytest.raises(RhaiError) as info:
        RUNNER.run(job('db_set("s", "x"); db_hget("s", "f")', db_url))
    assert "db_hget" in str(info.value)


def test_later_rooms_can_add_bound_functions(db_url: str) -> None:
    register_binding("ctx_tag", lambda j: lambda suffix: f"{j.context_id}/{suffix}")
    try:
        assert RUNNER.run(job('ctx_tag("x")', db_url)) == "ctx-1/x"
    finally:
        BINDINGS.pop("ctx_tag")


def test_modules_can_be_imported(db_url: str) -> None:
    from herocelery.runners.rhai.runner import RhaiRunner
    runner = RhaiRunner()
    runner.register_module("mathx", {"double": lambda x: x * 2, "TEN": 10})
    runner.register_module("util", "fn greet(n) { `hi ${n}` } export const VERSION = 3;")
    script = ('import "mathx" as m; import "util" as u; '
              '[m::double(m::TEN), u::greet("bo"), u::VERSION]')
    assert runner.run(job(script, db_url)) == [20, "hi bo", 3]


def test_modules_can_live_in_the_context_database(db_url: str) -> None:
    client = redis.Redis.from_url(db_url, decode_responses=True)
    client.set("rhai:module:pricing", "fn with_vat(x) { x * 121 / 100 } export const RATE = 21;")
    client.close()
    script = 'import "pricing" as p; [p::with_vat(100), p::RATE]'
    assert RUNNER.run(job(script, db_url)) == [121, 21]
    with pytest.raises(RhaiError, match="Module not found: nowhere"):
        RUNNER.run(job('import "nowhere" as n;', db_url))


def test_a_broken_binding_fails_the_job_with_a_rhai_error(db_url: str) -> None:
    def broken(j: JobContext) -> Any:
        raise KeyError("no config")
    register_binding("broken_fn", broken)
    try:
        with pytest.raises(RhaiError, match="cannot bind function broken_fn"):
            RUNNER.run(job("1", db_url))
    finally:
        BINDINGS.pop("broken_fn")
