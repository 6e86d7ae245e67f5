"""OSIS actions as data: the JSON form, the HeroScript form, and applying one to an `Osis`.

JSON (one object, or a list of them):
    {"action": "define", "model": "note", "fields": {"title": "str", "tags": "list"},
     "index": ["title", "tags"]}
    {"action": "set", "model": "note", "object": {"title": "x", "tags": ["a"]}}
    {"action": "get" | "delete", "model": "note", "id": "1"}
    {"action": "list", "model": "note", "offset": 0, "limit": 100}
    {"action": "find", "model": "note", "where": {"tags": "a"}, "prefix": {"title": "x"}}
    {"action": "search", "model": "note", "query": "quick brown", "offset": 0, "limit": 100}
A define may name "fulltext" fields (text searched by words: `search`, HeroDB FT.*).
Every action takes an optional "ns" (namespace, default "default").

HeroScript: `!!osis.<action> model:note ...` with the object's fields as params
(`!!osis.set model:note title:x tags:a,b`), `!!osis.find model:note title:'ab*'` (a trailing
`*` asks for a prefix), `!!osis.define model:note fields:'title:str,tags:list' index:title,tags`
(`fulltext:body` adds full-text fields), `!!osis.search model:note query:'quick brown'`.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .schema import OsisError
from .store import Osis

ACTIONS = ("define", "set", "get", "delete", "list", "find", "search")
CONTROL = frozenset({"model", "ns", "id", "offset", "limit", "action"})


def parse_json(text: str) -> tuple[list[dict[str, Any]], bool]:
    """(actions, single) from a JSON payload; OsisError naming the position of bad JSON."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OsisError(f"payload: not valid JSON: {exc.msg} at line {exc.lineno} column "
                        f"{exc.colno}", line=exc.lineno, column=exc.colno) from None
    single = isinstance(data, dict)
    items = [data] if single else data
    if not isinstance(items, list) or not all(isinstance(a, dict) for a in items):
        raise OsisError("payload: expected an action object or a list of action objects")
    return items, single


def apply(osis: Osis, action: Mapping[str, Any], where: str = "action") -> Any:
    """Run one action; OsisError prefixed with `where` (e.g. `action 2`) on bad input."""
    try:
        return _apply(osis, action)
    except OsisError as exc:
        raise OsisError(f"{where}: {exc.message}", line=exc.line, column=exc.column) from None


def _apply(osis: Osis, a: Mapping[str, Any]) -> Any:
    kind = a.get("action")
    if kind not in ACTIONS:
        raise OsisError(f"field 'action': {kind!r} is not one of {', '.join(ACTIONS)}")
    model = a.get("model")
    if not isinstance(model, str) or not model:
        raise OsisError("field 'model': a model name is required")
    ns = str(a.get("ns", "default"))
    if kind == "define":
        cls = osis.define(model, a.get("fields") or {}, a.get("index") or [],
                          a.get("fulltext") or [])
        out = {"model": model, "fields": cls.osis_definition["fields"],  # type: ignore[attr-defined]
               "index": list(cls.osis_index)}
        if cls.osis_fulltext:
            out["fulltext"] = list(cls.osis_fulltext)
        return out
    if kind == "set":
        obj = a.get("object")
        if obj is None:
            raise OsisError("field 'object': the object to store is required")
        return osis.set(model, obj, ns if "ns" in a else None)
    if kind in ("get", "delete"):
        if "id" not in a:
            raise OsisError(f"field 'id': {kind} needs the object's id")
        fn = osis.get if kind == "get" else osis.delete
        return fn(model, str(a["id"]), ns)
    offset, limit = _int(a, "offset", 0), _int(a, "limit", 100)
    if kind == "search":
        query = a.get("query")
        if not isinstance(query, str):
            raise OsisError("field 'query': search needs the query text")
        return osis.search(model, query, ns=ns, offset=offset, limit=limit)
    if kind == "list":
        return osis.list(model, ns, offset=offset, limit=limit)
    where, prefix = a.get("where") or {}, a.get("prefix") or {}
    if not isinstance(where, Mapping) or not isinstance(prefix, Mapping):
        raise OsisError("fields 'where' and 'prefix' must be objects of field: value")
    return osis.find(model, where, prefix=prefix, ns=ns, offset=offset, limit=limit)


def _int(a: Mapping[str, Any], key: str, default: int) -> int:
    try:
        return int(a.get(key, default))
    except (TypeError, ValueError):
        raise OsisError(f"field {key!r}: {a.get(key)!r} is not an integer") from None


def from_heroscript(osis: Osis, name: str, params: Mapping[str, str]) -> dict[str, Any]:
    """The JSON form of `!!osis.<name> key:value ...`, with text values typed by the model."""
    if name not in ACTIONS:
        raise OsisError(f"!!osis.{name}: unknown action (known: {', '.join(ACTIONS)})")
    out: dict[str, Any] = {"action": name, **{k: v for k, v in params.items() if k in CONTROL}}
    fields = {k: v for k, v in params.items() if k not in CONTROL}
    if name == "define":
        spec = {}
        for part in (fields.get("fields") or "").split(","):
            fname, _, tname = part.strip().partition(":")
            if fname:
                spec[fname.strip()] = tname.strip() or "str"
        out["fields"] = spec
        out["index"] = [s.strip() for s in (fields.get("index") or "").split(",") if s.strip()]
        out["fulltext"] = [s.strip() for s in (fields.get("fulltext") or "").split(",")
                           if s.strip()]
        return out
    if name == "search":
        unexpected = set(fields) - {"query"}
        if unexpected:
            raise OsisError(f"!!osis.search: unexpected param(s) {', '.join(sorted(unexpected))}"
                            " (model, query, ns, offset, limit)")
        out["query"] = fields.get("query", "")
        return out
    if name == "set":
        cls = osis.model(str(params.get("model", "")))
        obj: dict[str, Any] = {k: _typed(cls, k, v) for k, v in fields.items()}
        if "id" in params:
            obj["id"] = params["id"]
        if "ns" in params:
            obj["ns"] = params["ns"]
        out["object"] = obj
    elif name == "find":
        cls = osis.model(str(params.get("model", "")))
        out["where"] = {k: _typed(cls, k, v) for k, v in fields.items() if not v.endswith("*")}
        out["prefix"] = {k: v[:-1] for k, v in fields.items() if v.endswith("*")}
    elif fields:
        raise OsisError(f"!!osis.{name}: unexpected param(s) {', '.join(sorted(fields))}")
    return out


def _typed(cls: Any, field: str, text: str) -> Any:
    """A HeroScript text value as the model field wants it (lists split on commas)."""
    definition = getattr(cls, "osis_definition", {}).get("fields", {})
    kind = definition.get(field)
    if kind is None and field in getattr(cls, "model_fields", {}):
        kind = "list" if "list" in str(cls.model_fields[field].annotation) else "str"
    if kind in ("list", "list[str]", "list[int]"):
        return [s.strip() for s in text.split(",") if s.strip()]
    if kind in ("dict", "json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise OsisError(f"field {field!r}: not valid JSON") from None
    return text
