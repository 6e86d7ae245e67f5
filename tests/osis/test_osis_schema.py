"""OSIS models: definitions as data and as classes; schema errors name the field."""
from __future__ import annotations

import pytest

from herocelery.runners.osis import ModelRegistry, OsisError, OsisModel, define, indexed
from herocelery.runners.osis.schema import tokens, validate


@pytest.mark.parametrize("name,fields,index,expected", [
    ("bad name", {"a": "str"}, [], "model name 'bad name'"),
    ("m", {}, [], "'fields' must map"),
    ("m", {"id": "str"}, [], "field 'id': not a valid field name (it is a base field)"),
    ("m", {"a-b": "str"}, [], "field 'a-b'"),
    ("m", {"a": "decimal"}, [], "field 'a': unknown type 'decimal'"),
    ("m", {"a": "str"}, ["b"], "indexed field 'b' is not one of its fields"),
    ("m", {"a": "dict"}, ["a"], "field 'a': type dict cannot be indexed"),
])
def test_bad_definitions_name_what_is_wrong(name, fields, index, expected) -> None:
    with pytest.raises(OsisError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        define(name, fields, index)


NOTE = define("note", {"title": "str", "n": "int", "tags": "list", "meta": "dict"},
              ["title", "n", "tags"])


@pytest.mark.parametrize("obj,field", [
    ({"title": 5}, "title"),
    ({"n": "five"}, "n"),
    ({"tags": "a"}, "tags"),
    ({"meta": [1]}, "meta"),
    ({"colour": "red"}, "colour"),
    ({"ns": "bad ns!"}, "ns"),
])
def test_bad_objects_name_model_and_field(obj, field) -> None:
    with pytest.raises(OsisError, match=f"model 'note', field '{field}'"):
        validate(NOTE, obj)


def test_objects_must_be_mappings() -> None:
    with pytest.raises(OsisError, match="must be a mapping"):
        validate(NOTE, ["title"])


def test_base_fields_and_defaults() -> None:
    item = validate(NOTE, {"title": "x"})
    assert (item.id, item.ns, item.created_at, item.modified_at) == ("", "default", 0.0, 0.0)
    assert item.n is None and NOTE.osis_index == ("title", "n", "tags")


@pytest.mark.parametrize("value,expected", [
    ("a", ["a"]), (3, ["3"]), (2.5, ["2.5"]), (True, ["true"]), (None, []),
    (["b", "a", "b"], ["a", "b"]), ([1, 2], ["1", "2"]),
])
def test_index_tokens(value, expected) -> None:
    assert tokens(value) == expected


def test_python_classes_with_indexed_fields() -> None:
    class Person(OsisModel):
        name: str = indexed()
        email: str = indexed("")
        age: int = 0

    models = ModelRegistry()
    models.register(Person)
    assert models.get("person") is Person and Person.osis_index == ("name", "email")
    with pytest.raises(OsisError, match="model 'person', field 'name': Field required"):
        validate(Person, {"age": 3})
