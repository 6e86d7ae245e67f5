"""OSIS models: pydantic classes with the base fields and a set of indexed fields.

A model is either a Python class (`class Note(OsisModel)` with `title: str = indexed()`) or
a definition stored as data (`{"fields": {"title": "str"}, "index": ["title"]}`), which is
how runners in other processes learn it. Validation errors name the model and the field.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ...errors import ScriptError

NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
NS_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}$")
BASE_FIELDS = ("id", "ns", "created_at", "modified_at")
TYPES: dict[str, Any] = {"str": str, "int": int, "float": float, "bool": bool,
                         "list": list[str], "list[str]": list[str], "list[int]": list[int],
                         "dict": dict[str, Any], "json": Any, "any": Any}
INDEXABLE = frozenset({"str", "int", "float", "bool", "list", "list[str]", "list[int]"})
SEARCHABLE = frozenset({"str", "list", "list[str]"})  # what a `fulltext` field may hold


class OsisError(ScriptError):
    """An OSIS action is invalid: unknown model or field, bad object, bad payload."""

    def __init__(self, message: str, **kw: Any) -> None:
        kw.setdefault("kind", "OsisError")
        super().__init__(message, **kw)


class OsisModel(BaseModel):
    """Base of every OSIS model: `id`, `ns` (namespace), `created_at`, `modified_at`."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False)
    osis_name: ClassVar[str] = ""
    osis_index: ClassVar[tuple[str, ...]] = ()
    osis_fulltext: ClassVar[tuple[str, ...]] = ()  # text fields searched by `search`

    id: str = ""
    ns: str = Field(default="default", pattern=NS_RE.pattern)
    created_at: float = 0.0
    modified_at: float = 0.0


def indexed(default: Any = ..., **kw: Any) -> Any:
    """A model field that is indexed: `find` can select by it (equality; prefix if text)."""
    extra = dict(kw.pop("json_schema_extra", None) or {})
    extra["osis_index"] = True
    return Field(default, json_schema_extra=extra, **kw)


def fulltext(default: Any = ..., **kw: Any) -> Any:
    """A text model field indexed for full-text `search` (HeroDB FT.*), e.g. a note's body."""
    extra = dict(kw.pop("json_schema_extra", None) or {})
    extra["osis_fulltext"] = True
    return Field(default, json_schema_extra=extra, **kw)


def fulltext_of(cls: type[OsisModel]) -> tuple[str, ...]:
    """The full-text fields of a model class (declared with `fulltext()` or in
    `osis_fulltext`)."""
    marked = [name for name, f in cls.model_fields.items()
              if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("osis_fulltext")]
    return tuple(dict.fromkeys([*cls.osis_fulltext, *marked]))


def index_of(cls: type[OsisModel]) -> tuple[str, ...]:
    """The indexed fields of a model class (declared with `indexed()` or in `osis_index`)."""
    marked = [name for name, f in cls.model_fields.items()
              if isinstance(f.json_schema_extra, dict) and f.json_schema_extra.get("osis_index")]
    return tuple(dict.fromkeys([*cls.osis_index, *marked]))


def define(name: str, fields: Mapping[str, str], index: Iterable[str] = (),
           fulltext: Iterable[str] = ()) -> type[OsisModel]:
    """A model class from a data definition; OsisError naming the bad part. `fulltext`
    names text fields (str or list of str) that `search` finds by words."""
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise OsisError(f"model name {name!r} is not valid (letters, digits, '_')")
    if not isinstance(fields, Mapping) or not fields:
        raise OsisError(f"model {name!r}: 'fields' must map field names to types")
    spec: dict[str, Any] = {}
    for fname, tname in fields.items():
        if not isinstance(fname, str) or not NAME_RE.match(fname) or fname in BASE_FIELDS:
            raise OsisError(f"model {name!r}, field {fname!r}: not a valid field name"
                            + (" (it is a base field)" if fname in BASE_FIELDS else ""))
        if tname not in TYPES:
            raise OsisError(f"model {name!r}, field {fname!r}: unknown type {tname!r} "
                            f"(known: {', '.join(TYPES)})")
        spec[fname] = (TYPES[tname] | None, None)
    index = tuple(index)
    for fname in index:
        if fname not in fields:
            raise OsisError(f"model {name!r}: indexed field {fname!r} is not one of its fields")
        if fields[fname] not in INDEXABLE:
            raise OsisError(f"model {name!r}, field {fname!r}: type {fields[fname]} cannot "
                            "be indexed")
    searched = tuple(fulltext)
    for fname in searched:
        if fname not in fields:
            raise OsisError(f"model {name!r}: fulltext field {fname!r} is not one of its fields")
        if fields[fname] not in SEARCHABLE:
            raise OsisError(f"model {name!r}, field {fname!r}: type {fields[fname]} cannot be "
                            "a fulltext field (str or list of str)")
    cls = create_model(name, __base__=OsisModel, **spec)
    cls.osis_name = name
    cls.osis_index = index
    cls.osis_fulltext = searched
    definition: dict[str, Any] = {"fields": dict(fields), "index": list(index)}
    if searched:  # absent otherwise: definitions stored before fulltext existed stay equal
        definition["fulltext"] = list(searched)
    cls.osis_definition = definition  # type: ignore[attr-defined]
    return cls


def validate(cls: type[OsisModel], data: Any) -> OsisModel:
    """A model instance; OsisError naming the model and the first bad field."""
    if isinstance(data, cls):
        return data
    if isinstance(data, BaseModel):
        data = data.model_dump()
    if not isinstance(data, Mapping):
        raise OsisError(f"model {cls.osis_name!r}: an object must be a mapping of fields, "
                        f"got {type(data).__name__}")
    try:
        return cls.model_validate(dict(data))
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first.get("loc", ())) or "?"
        more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise OsisError(f"model {cls.osis_name!r}, field {loc!r}: {first['msg']}{more}") from None


def tokens(value: Any) -> list[str]:
    """The index entries of one indexed value: text as is, numbers and bools as JSON, each
    element of a list; nothing for None. Pure."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return sorted({t for v in value for t in tokens(v)})
    if isinstance(value, str):
        return [value]
    return [json.dumps(value)]


def now() -> float:
    return round(time.time(), 6)


class ModelRegistry:
    """Models by name. Python-registered classes plus definitions loaded from a database."""

    def __init__(self) -> None:
        self._models: dict[str, type[OsisModel]] = {}

    def register(self, cls: type[OsisModel], name: str | None = None) -> type[OsisModel]:
        name = name or cls.osis_name or cls.__name__.lower()
        if not NAME_RE.match(name):
            raise OsisError(f"model name {name!r} is not valid (letters, digits, '_')")
        cls.osis_name = name
        cls.osis_index = index_of(cls)
        cls.osis_fulltext = fulltext_of(cls)
        self._models[name] = cls
        return cls

    def get(self, name: str) -> type[OsisModel] | None:
        return self._models.get(name)

    def names(self) -> list[str]:
        return sorted(self._models)

    def copy(self) -> ModelRegistry:
        new = ModelRegistry()
        new._models = dict(self._models)
        return new
