"""OSIS `fulltext` fields: indexed in HeroDB's FT.* index on `set`, found with `search` from the
store, the osis runner (JSON and HeroScript), and python, rhai and heroscript jobs in a flow on
real workers; against the secured HeroDB subprocess of the context fixtures."""
from __future__ import annotations

import json
import uuid

import pytest
import redis

from herocelery.contexts import scoped_url
from herocelery.errors import ScriptError
from herocelery.flow import Flow
from herocelery.models import FlowStatus
from herocelery.runners import get_runner
from herocelery.runners.base import JobContext
from herocelery.runners.osis import Osis, OsisError, OsisModel, fulltext, indexed

NOTE = {"fields": {"title": "str", "body": "str", "tags": "list"}, "index": ["tags"],
        "fulltext": ["title", "body"]}


@pytest.fixture(scope="module")
def ctx(registry):
    return registry.create_context(f"osis-ft-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def url(ctx, secure_settings):
    u = scoped_url(secure_settings.broker_url, ctx)
    client = redis.Redis.from_url(u)
    client.flushdb()
    client.close()
    return u


@pytest.fixture
def osis(url):
    client = redis.Redis.from_url(url, decode_responses=True)
    o = Osis(client)
    o.define("note", NOTE["fields"], NOTE["index"], NOTE["fulltext"])
    yield o
    client.close()


def titles(found: list[dict]) -> list[str]:
    return sorted(o["title"] for o in found)


def test_set_indexes_fulltext_fields_and_search_finds_them(osis):
    a = osis.set("note", {"title": "Groceries", "body": "buy apples and pears", "tags": ["home"]})
    osis.set("note", {"title": "Work", "body": "ship the quarterly report", "tags": ["job"]})
    osis.set("note", {"title": "Apple pie", "body": "bake it", "tags": ["home"]})
    assert titles(osis.search("note", "apples")) == ["Groceries"]
    assert titles(osis.search("note", "appl*")) == ["Apple pie", "Groceries"]
    assert titles(osis.search("note", '"quarterly report"')) == ["Work"]
    assert titles(osis.search("note", "@title:apple")) == ["Apple pie"]
    assert titles(osis.search("note", "home")) == []  # tags are not fulltext
    assert titles(osis.search("note", "home | report")) == ["Work"]
    assert titles(osis.search("note", "bake | ship")) == ["Apple pie", "Work"]
    # an update replaces the document; a delete removes it
    osis.set("note", {"id": a["id"], "title": "Groceries", "body": "buy bread"})
    assert osis.search("note", "apples") == []
    assert titles(osis.search("note", "bread")) == ["Groceries"]
    assert osis.delete("note", a["id"])
    assert osis.search("note", "bread") == []
    # the full objects come back
    (pie,) = osis.search("note", "bake")
    assert pie["tags"] == ["home"] and pie["body"] == "bake it" and pie["id"]


def test_namespaces_have_their_own_index(osis):
    osis.set("note", {"title": "private", "body": "zebra"}, ns="alice")
    osis.set("note", {"title": "public", "body": "zebra"})
    assert titles(osis.search("note", "zebra")) == ["public"]
    assert titles(osis.search("note", "zebra", ns="alice")) == ["private"]


def test_python_classes_declare_fulltext_fields(url):
    class Article(OsisModel):
        headline: str = fulltext("")
        section: str = indexed("")

    client = redis.Redis.from_url(url, decode_responses=True)
    o = Osis(client)
    o.models.register(Article, "article")
    o.set("article", {"headline": "Rivers rise after storms", "section": "news"})
    assert [x["section"] for x in o.search("article", "storms")] == ["news"]
    client.close()


@pytest.mark.parametrize("call, message", [
    (lambda o: o.search("note", "(open"), "Syntax error"),
    (lambda o: o.search("note", "@nope:x"), "unknown field 'nope'"),
    (lambda o: o.search("note", "  "), "query must be non-empty"),
    (lambda o: o.define("plain", {"a": "str"}, []) and o.search("plain", "x"),
     "has no fulltext field"),
    (lambda o: o.define("bad", {"n": "int"}, [], ["n"]), "cannot be a fulltext field"),
    (lambda o: o.define("bad2", {"n": "str"}, [], ["m"]), "fulltext field 'm' is not one"),
])
def test_bad_searches_and_definitions_name_the_problem(osis, call, message):
    osis.set("note", {"title": "kept", "body": "still here"})
    with pytest.raises(OsisError, match=message):
        call(osis)
    assert titles(osis.search("note", "still")) == ["kept"]


def job(url: str, script: str, runner: str) -> JobContext:
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


def test_the_osis_runner_searches_from_json_and_heroscript(url):
    define = {"action": "define", "model": "note", **NOTE}
    out = run(url, json.dumps([define, {"action": "set", "model": "note",
                                        "object": {"title": "a", "body": "red fox"}},
                               {"action": "search", "model": "note", "query": "fox"}]))
    assert out[0]["fulltext"] == ["title", "body"] and [o["title"] for o in out[2]] == ["a"]
    out = run(url, "!!osis.set model:note title:b body:'brown fox'\n"
                   "!!osis.search model:note query:'brown fox'\n")
    assert [o["title"] for o in out[1]] == ["b"]
    with pytest.raises(ScriptError, match="unexpected param"):
        run(url, "!!osis.search model:note query:fox colour:red\n")
    with pytest.raises(OsisError, match="field 'query'"):
        run(url, json.dumps({"action": "search", "model": "note"}))


def test_python_rhai_and_heroscript_jobs_search_in_a_flow(secure_cluster, secure_settings,
                                                          registry, ctx):
    key = registry.create_key(f"osis-ft-{uuid.uuid4().hex[:6]}", "admin")
    f = Flow("osis-fulltext", context=ctx.name)
    f.job("define", runner="osis", script=json.dumps({"action": "define", "model": "memo",
                                                      "fields": {"text": "str"},
                                                      "fulltext": ["text"]}))
    f.job("py", after="define", script="""
ctx.osis.set('memo', {'text': 'python wrote about comets'})
result = [m['text'] for m in ctx.osis.search('memo', 'comet*')]
""")
    f.job("rh", runner="rhai", after="py", script="""
osis_set("memo", #{text: "rhai wrote about comets too"});
let found = osis_search("memo", "comets");
found.len()
""")
    f.job("hs", runner="heroscript", after="rh",
          script="!!osis.search model:memo query:'rhai comets'\n")
    h = f.submit(secure_settings, api_key=key)
    assert h.wait(90) is FlowStatus.finished, h.jobs()
    assert h.results["py"] == ["python wrote about comets"]
    assert h.results["rh"] == 2
    assert [m["text"] for m in h.results["hs"][0]] == ["rhai wrote about comets too"]
    h.close()
