"""The osis runner and OSIS from the other runners (heroscript, rhai, python), each on the
job's scoped connection to a real HeroDB."""
from __future__ import annotations

import json
import uuid

import pytest
import redis

from herocelery.contexts import scoped_url
from herocelery.errors import HeroScriptError, ScriptError
from herocelery.flow import Flow
from herocelery.models import FlowStatus
from herocelery.runners import get_runner
from herocelery.runners.base import JobContext
from herocelery.runners.osis import Osis, OsisError

DEFINE = {"action": "define", "model": "task", "fields": {"title": "str", "done": "bool",
                                                          "tags": "list"},
          "index": ["title", "done", "tags"]}


@pytest.fixture(scope="module")
def ctx(registry):
    return registry.create_context(f"osis-run-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def url(ctx, secure_settings):
    u = scoped_url(secure_settings.broker_url, ctx)
    redis.Redis.from_url(u).flushdb()
    return u


def job(url: str, script: str, runner: str = "osis") -> JobContext:
    return JobContext(job_id=uuid.uuid4().hex, flow_id="f", name="j", runner=runner,
                      script=script, args={}, env={}, inputs={}, caller_id="me",
                      context_id="c", node="node1", timeout_s=20.0, db_url=url,
                      log=lambda line: None)


def run(url: str, script: str, runner: str = "osis"):
    j = job(url, script, runner)
    try:
        return get_runner(runner).run(j)
    finally:
        j.close()


def test_json_payload_single_action_and_list(url) -> None:
    assert run(url, json.dumps(DEFINE))["index"] == ["title", "done", "tags"]
    out = run(url, json.dumps([
        {"action": "set", "model": "task", "object": {"title": "write", "tags": ["a"]}},
        {"action": "set", "model": "task", "object": {"title": "wrap", "done": True}},
        {"action": "find", "model": "task", "prefix": {"title": "wr"}},
        {"action": "find", "model": "task", "where": {"done": True}},
        {"action": "get", "model": "task", "id": "1"},
        {"action": "delete", "model": "task", "id": "1"},
        {"action": "list", "model": "task"}]))
    assert [o["title"] for o in out[2]] == ["write", "wrap"]
    assert [o["title"] for o in out[3]] == ["wrap"]
    assert out[4]["tags"] == ["a"] and out[5] is True
    assert out[6]["total"] == 1


def test_heroscript_payload(url) -> None:
    out = run(url, """
!!osis.define model:task fields:'title:str,done:bool,tags:list' index:'title,done,tags'
!!osis.set model:task title:'buy milk' tags:'home,food'
!!osis.set model:task title:'buy bread' done:true tags:food
!!osis.find model:task title:'buy*' tags:food
!!osis.find model:task done:true
""")
    assert [o["title"] for o in out[3]] == ["buy milk", "buy bread"]
    assert out[1]["tags"] == ["home", "food"]
    assert [o["title"] for o in out[4]] == ["buy bread"]


@pytest.mark.parametrize("payload,message", [
    ('{"action": "set", "model": ', "payload: not valid JSON"),
    ('[{"action": "get", "model": "task", "id": "1"}, {"action": "explode"}]',
     "action 2: field 'action'"),
    ('{"action": "set", "model": "task"}', "field 'object'"),
    ('{"action": "set", "model": "task", "object": {"title": 3}}',
     "action 1: model 'task', field 'title'"),
    ('{"action": "list", "model": "task", "limit": "ten"}', "field 'limit'"),
    ('"just text"', "expected an action object"),
    ('plain words', "payload: not valid JSON"),
    ('7', "expected an action object"),
])
def test_bad_json_payloads_name_the_action_and_field(url, payload, message) -> None:
    run(url, json.dumps(DEFINE))
    with pytest.raises(OsisError, match=message):
        run(url, payload)


def test_bad_heroscript_payloads_name_the_line(url) -> None:
    run(url, json.dumps(DEFINE))
    with pytest.raises(HeroScriptError) as err:
        run(url, "!!osis.set model:task title:ok\n!!osis.set model:task colour:red\n")
    assert err.value.line == 2 and "field 'colour'" in str(err.value)
    with pytest.raises(HeroScriptError, match="only runs !!osis"):
        run(url, "!!db.set key:x value:1\n")
    assert Osis(redis.Redis.from_url(url, decode_responses=True)).list("task")["total"] == 1


def test_heroscript_runner_reaches_osis(url) -> None:
    out = run(url, """
!!osis.define model:task fields:'title:str,done:bool,tags:list' index:'title,done,tags'
!!osis.set model:task title:'from heroscript'
!!osis.find model:task title:'from*'
""", runner="heroscript")
    assert [o["title"] for o in out[-1]] == ["from heroscript"]
    with pytest.raises(ScriptError, match="field 'done'"):
        run(url, "!!osis.set model:task title:x done:maybe\n", runner="heroscript")


def test_rhai_runner_reaches_osis(url) -> None:
    from herocelery.runners.osis import register_rhai
    register_rhai()
    run(url, json.dumps(DEFINE))
    out = run(url, """
let a = osis_set("task", #{title: "from rhai", tags: ["x", "y"]});
let b = osis_get("task", a.id);
let found = osis_find("task", #{title: "from*", tags: "y"});
[b.title, found.len(), osis_list("task").len(), osis_delete("task", a.id)]
""", runner="rhai")
    assert out == ["from rhai", 1, 1, True]
    with pytest.raises(ScriptError, match="field 'title'"):
        run(url, 'osis_set("task", #{title: 42})', runner="rhai")


def test_python_jobs_use_ctx_osis(secure_cluster, secure_settings, registry, ctx) -> None:
    key = registry.create_key(f"osis-py-{uuid.uuid4().hex[:6]}", "admin")
    f = Flow("osis-python", context=ctx.name)
    f.job("py", script="""
ctx.osis.define('pet', {'name': 'str', 'kind': 'str'}, ['kind'])
ctx.osis.set('pet', {'name': 'rex', 'kind': 'dog'})
ctx.osis.set('pet', {'name': 'tom', 'kind': 'cat'})
result = [p['name'] for p in ctx.osis.find('pet', {'kind': 'dog'})]
""")
    f.job("os", runner="osis", after="py",
          script='{"action": "find", "model": "pet", "where": {"kind": "cat"}}')
    h = f.submit(secure_settings, api_key=key)
    assert h.wait(60) is FlowStatus.finished, h.jobs()
    assert h.results == {"py": ["rex"], "os": [h.results["os"][0]]}
    assert h.results["os"][0]["name"] == "tom"
    h.close()
