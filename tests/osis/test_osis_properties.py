"""OSIS against a plain Python model: any sequence of sets and deletes leaves `get`, `find`
and `list` agreeing with the model, and the index exact (hypothesis, real HeroDB)."""
from __future__ import annotations

import uuid

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_osis_store import consistent

from herocelery.contexts import scoped_url
from herocelery.runners.osis import Osis

TEXT = st.sampled_from(["", "a", "ab", "abc", "b", "żó", "x y"])
OPS = st.lists(st.one_of(
    st.tuples(st.just("set"), st.integers(1, 5), TEXT, st.integers(0, 3),
              st.lists(st.sampled_from("pqr"), max_size=3, unique=True)),
    st.tuples(st.just("delete"), st.integers(1, 5))), min_size=1, max_size=25)


@pytest.fixture(scope="module")
def osis(registry, secure_settings):
    ctx = registry.create_context(f"osis-prop-{uuid.uuid4().hex[:6]}")
    client = redis.Redis.from_url(scoped_url(secure_settings.broker_url, ctx),
                                  decode_responses=True)
    yield Osis(client)
    client.close()


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS)
def test_any_sequence_of_writes_agrees_with_a_dict(osis, ops) -> None:
    osis.r.flushdb()
    osis.define("doc", {"title": "str", "n": "int", "tags": "list"}, ["title", "n", "tags"])
    model: dict[str, dict] = {}
    for op in ops:
        if op[0] == "set":
            _, i, title, n, tags = op
            osis.set("doc", {"id": str(i), "title": title, "n": n, "tags": tags})
            model[str(i)] = {"title": title, "n": n, "tags": tags}
        else:
            assert osis.delete("doc", str(op[1])) is (str(op[1]) in model)
            model.pop(str(op[1]), None)
    consistent(osis, "doc")
    for i in map(str, range(1, 6)):
        got = osis.get("doc", i)
        assert (got is None) == (i not in model)
        if got:
            assert {k: got[k] for k in ("title", "n", "tags")} == model[i]
    ids = lambda items: sorted(o["id"] for o in items)  # noqa: E731
    for n in range(4):
        assert ids(osis.find("doc", {"n": n})) == sorted(i for i, o in model.items()
                                                         if o["n"] == n)
    for tag in "pqr":
        assert ids(osis.find("doc", {"tags": tag})) == sorted(
            i for i, o in model.items() if tag in o["tags"])
    for pre in ("", "a", "ab", "ż"):
        assert ids(osis.find("doc", prefix={"title": pre})) == sorted(
            i for i, o in model.items() if o["title"].startswith(pre))
    assert [o["id"] for o in osis.list("doc")["items"]] == sorted(model, key=int)
