"""OSIS on HeroDB through a context's scoped connection: CRUD, find, paging, namespaces,
index consistency and bad objects."""
from __future__ import annotations

import uuid

import pytest
import redis

from herocelery.contexts import scoped_url
from herocelery.runners.osis import Osis, OsisError
from herocelery.runners.osis.store import NUL, ORDER, SEP


@pytest.fixture(scope="module")
def ctx(registry):
    return registry.create_context(f"osis-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def osis(ctx, secure_settings):
    client = redis.Redis.from_url(scoped_url(secure_settings.broker_url, ctx),
                                  decode_responses=True)
    client.flushdb()
    o = Osis(client)
    o.define("note", {"title": "str", "n": "int", "tags": "list", "body": "str"},
             ["title", "n", "tags"])
    yield o
    client.close()


def consistent(o: Osis, model: str = "note", ns: str = "default") -> None:
    """Every index member points to an existing object that has that value now, every value
    of every object is in the index, and the creation-order members are exactly the objects."""
    import json

    from herocelery.runners.osis.schema import tokens
    r = o.r
    base = f"hero:osis:{model}:{ns}:"
    cls = o.model(model)
    objects = {k.rsplit(":", 1)[1]: r.hgetall(k) for k in r.scan_iter(base + "obj:*")}
    values = {i: {f: set(tokens(json.loads(raw[f]))) if f in raw else set()
                  for f in cls.osis_index} for i, raw in objects.items()}
    members = r.zrange(base + "index", 0, -1)
    ordered = []
    for m in members:
        field, token, oid = m.split(NUL)
        assert oid in values, f"index member {m!r} -> deleted object {oid}"
        if field == ORDER:
            ordered.append(oid)
            continue
        assert token in values[oid][field], f"index {field}={token!r} -> {oid} which changed"
    assert sorted(ordered) == sorted(objects), "creation-order members differ from objects"
    present = set(members)
    for oid, fields in values.items():
        for field, toks in fields.items():
            for t in toks:
                assert f"{field}{NUL}{t}{NUL}{oid}" in present, (oid, field, t)


def test_create_get_update_delete(osis) -> None:
    a = osis.set("note", {"title": "first", "n": 1, "tags": ["x"]})
    assert a["id"] == "1" and a["created_at"] == a["modified_at"] > 0
    got = osis.get("note", "1")
    assert got == a
    b = osis.set("note", {**a, "title": "renamed", "tags": ["y", "z"]})
    assert b["id"] == "1" and b["created_at"] == a["created_at"]
    assert b["modified_at"] >= a["modified_at"]
    assert osis.get("note", "1")["title"] == "renamed"
    assert osis.find("note", {"title": "first"}) == []
    assert [o["id"] for o in osis.find("note", {"tags": "z"})] == ["1"]
    assert osis.delete("note", "1") is True
    assert osis.delete("note", "1") is False
    assert osis.get("note", "1") is None
    assert osis.find("note", {"tags": "z"}) == []
    consistent(osis)


def test_an_object_with_its_own_id_is_created_then_replaced(osis) -> None:
    osis.set("note", {"id": "abc", "title": "mine"})
    osis.set("note", {"id": "abc", "title": "again"})
    assert osis.get("note", "abc")["title"] == "again"
    assert osis.list("note")["total"] == 1
    consistent(osis)


def test_find_by_equality_prefix_numbers_and_list_elements(osis) -> None:
    for i, (title, tags) in enumerate([("apple pie", ["food", "sweet"]),
                                       ("apple juice", ["drink", "sweet"]),
                                       ("banana", ["food"]), ("applied", [])]):
        osis.set("note", {"title": title, "n": i % 2, "tags": tags})
    titles = lambda items: sorted(o["title"] for o in items)  # noqa: E731
    assert titles(osis.find("note", {"tags": "sweet"})) == ["apple juice", "apple pie"]
    assert titles(osis.find("note", {"tags": ["food", "sweet"]})) == ["apple pie"]
    assert titles(osis.find("note", prefix={"title": "apple"})) == ["apple juice", "apple pie"]
    assert titles(osis.find("note", prefix={"title": "appl"})) == ["apple juice", "apple pie",
                                                                   "applied"]
    assert titles(osis.find("note", {"n": 1}, prefix={"title": "apple"})) == ["apple juice"]
    assert titles(osis.find("note", {"n": 0})) == ["apple pie", "banana"]
    assert titles(osis.find("note", prefix={"tags": "dr"})) == ["apple juice"]
    assert osis.find("note", {"title": "cherry"}) == []
    page = osis.find("note", prefix={"title": "a"}, offset=1, limit=1)
    assert [o["id"] for o in page] == ["2"]
    consistent(osis)


def test_list_pages_in_creation_order(osis) -> None:
    ids = [osis.set("note", {"title": f"t{i}"})["id"] for i in range(7)]
    first = osis.list("note", limit=3)
    assert [o["id"] for o in first["items"]] == ids[:3] and first["total"] == 7
    assert [o["id"] for o in osis.list("note", offset=6, limit=3)["items"]] == ids[6:]
    assert osis.list("note", offset=10)["items"] == []


def test_namespaces_are_separate(osis) -> None:
    osis.set("note", {"title": "same"}, ns="one")
    osis.set("note", {"title": "same"}, ns="two")
    assert len(osis.find("note", {"title": "same"}, ns="one")) == 1
    assert osis.find("note", {"title": "same"}) == []
    assert osis.get("note", "1", ns="two")["ns"] == "two"


@pytest.mark.parametrize("obj,message", [
    ({"title": 1}, "field 'title'"),
    ({"n": "x"}, "field 'n'"),
    ({"nope": 1}, "field 'nope'"),
    ({"id": "a:b", "title": "x"}, "field 'id'"),
    ({"title": "bad\x1fsep"}, "field 'title': indexed text must not contain"),
])
def test_bad_objects_are_refused_and_nothing_is_stored(osis, obj, message) -> None:
    with pytest.raises(OsisError, match=message):
        osis.set("note", obj)
    assert osis.list("note")["total"] == 0


def test_unknown_models_unindexed_fields_and_redefinitions(osis) -> None:
    with pytest.raises(OsisError, match="unknown model 'ghost'"):
        osis.get("ghost", "1")
    with pytest.raises(OsisError, match="field 'body' is not indexed"):
        osis.find("note", {"body": "x"})
    with pytest.raises(OsisError, match="prefix search needs a text field"):
        osis.find("note", prefix={"n": "1"})
    with pytest.raises(OsisError, match="needs at least one indexed field"):
        osis.find("note")
    osis.define("note", {"title": "str", "n": "int", "tags": "list", "body": "str"},
                ["title", "n", "tags"])  # the same again: fine
    with pytest.raises(OsisError, match="already defined differently"):
        osis.define("note", {"title": "str"}, ["title"])


def test_a_model_defined_by_one_client_is_known_to_another(osis) -> None:
    other = Osis(osis.r)
    osis.define("thing", {"name": "str"}, ["name"])
    assert other.set("thing", {"name": "x"})["name"] == "x"


def test_non_ascii_text_is_found_by_equality_and_prefix(osis) -> None:
    osis.set("note", {"title": "żółw ü"})
    osis.set("note", {"title": "żółty"})
    osis.set("note", {"title": "żó"})
    assert [o["title"] for o in osis.find("note", {"title": "żó"})] == ["żó"]
    assert len(osis.find("note", prefix={"title": "żół"})) == 2
    assert len(osis.find("note", prefix={"title": "ż"})) == 3
    consistent(osis)


def test_updates_that_change_every_indexed_value_keep_indexes_exact(osis) -> None:
    import random
    rnd = random.Random(7)
    for i in range(40):
        osis.set("note", {"id": str(rnd.randint(1, 8)), "title": rnd.choice("abc") * 2,
                          "n": rnd.randint(0, 3), "tags": rnd.sample("wxyz", rnd.randint(0, 3))})
        if i % 7 == 0:
            osis.delete("note", str(rnd.randint(1, 8)))
    consistent(osis)
    assert SEP not in "".join(osis.r.keys("*"))
