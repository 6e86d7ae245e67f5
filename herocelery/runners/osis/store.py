"""OSIS objects in HeroDB: one hash per object, a set per indexed value, a lexical sorted set
per text index, a sorted set of ids per model and namespace.

Guarantees: `set` and `delete` are single Lua scripts, so an object and its index entries
change together; no index entry ever points to a deleted object or to an old value of a
changed one, whatever other writers do at the same time. `find` re-checks every object it
reads against the query, so an object changed between the index read and the object read
is not returned under its old value. Keys come from `Keys`; the scripts only append to the
prefix `Keys.osis_base(model, ns)`.
"""
from __future__ import annotations

import json
from typing import Any, Iterable, Mapping

import redis

from ...keys import Keys
from .schema import (INDEXABLE, ModelRegistry, OsisError, OsisModel, define, now, tokens,
                     validate)

SEP = "\x1f"       # ends each token in the `_i:<field>` bookkeeping field of an object
LEX_SEP = "\x00"   # between value and id in a lexical index member
MAX_PAGE = 1000

# ARGV: base, id, now, nfields, (field, json)*, nidx, (field, lex, tokens-joined)*
SET_LUA = r"""
local p, id, now = ARGV[1], ARGV[2], ARGV[3]
if id == '' then id = tostring(redis.call('INCR', p .. 'seq')) end
local key = p .. 'obj:' .. id
local created = redis.call('HGET', key, 'created_at') or now
local nf = tonumber(ARGV[4])
local j = 5 + 2 * nf
local nidx = tonumber(ARGV[j])
j = j + 1
local idx = {}
for k = 1, nidx do
  local f, lex, toks = ARGV[j], ARGV[j + 1], ARGV[j + 2]
  j = j + 3
  local old = redis.call('HGET', key, '_i:' .. f)
  if old then
    for tok in string.gmatch(old, '([^\031]*)\031') do
      redis.call('SREM', p .. 'idx:' .. f .. ':' .. tok, id)
      if lex == '1' then redis.call('ZREM', p .. 'lex:' .. f, tok .. '\0' .. id) end
    end
  end
  idx[k] = {f, lex, toks}
end
redis.call('DEL', key)
local args = {'HSET', key, 'id', cjson.encode(id), 'created_at', created, 'modified_at', now}
for i = 0, nf - 1 do
  table.insert(args, ARGV[5 + 2 * i])
  table.insert(args, ARGV[6 + 2 * i])
end
for _, e in ipairs(idx) do
  local f, lex, toks = e[1], e[2], e[3]
  table.insert(args, '_i:' .. f)
  table.insert(args, toks)
  for tok in string.gmatch(toks, '([^\031]*)\031') do
    redis.call('SADD', p .. 'idx:' .. f .. ':' .. tok, id)
    if lex == '1' then redis.call('ZADD', p .. 'lex:' .. f, 0, tok .. '\0' .. id) end
  end
end
redis.call(unpack(args))
if redis.call('ZSCORE', p .. 'ids', id) == false then
  redis.call('ZADD', p .. 'ids', tonumber(created), id)
end
return {id, created}
"""

# ARGV: base, id, nidx, (field, lex)*
DELETE_LUA = r"""
local p, id = ARGV[1], ARGV[2]
local key = p .. 'obj:' .. id
if redis.call('EXISTS', key) == 0 then return 0 end
local nidx = tonumber(ARGV[3])
for k = 0, nidx - 1 do
  local f, lex = ARGV[4 + 2 * k], ARGV[5 + 2 * k]
  local old = redis.call('HGET', key, '_i:' .. f)
  if old then
    for tok in string.gmatch(old, '([^\031]*)\031') do
      redis.call('SREM', p .. 'idx:' .. f .. ':' .. tok, id)
      if lex == '1' then redis.call('ZREM', p .. 'lex:' .. f, tok .. '\0' .. id) end
    end
  end
end
redis.call('DEL', key)
redis.call('ZREM', p .. 'ids', id)
return 1
"""


def _is_text(cls: type[OsisModel], field: str) -> bool:
    definition = getattr(cls, "osis_definition", None)
    if definition is not None:
        return definition["fields"][field] in ("str", "list", "list[str]")
    ann = cls.model_fields[field].annotation
    return "str" in str(ann) and "int" not in str(ann)


class Osis:
    """Typed objects of one context database (`client` is the job's scoped connection)."""

    def __init__(self, client: redis.Redis, models: ModelRegistry | None = None) -> None:
        self.r = client
        self.models = (models or ModelRegistry()).copy()
        self._set = client.register_script(SET_LUA)
        self._delete = client.register_script(DELETE_LUA)

    # ---- models ---------------------------------------------------------------------------
    def define(self, name: str, fields: Mapping[str, str], index: Iterable[str] = ()
               ) -> type[OsisModel]:
        """Define a model as data, stored so every runner of this context knows it. Defining
        it again identically is a no-op; differently, an OsisError."""
        cls = define(name, fields, index)
        text = json.dumps(cls.osis_definition, sort_keys=True)  # type: ignore[attr-defined]
        if not self.r.set(Keys.osis_schema(name), text, nx=True):
            stored = self.r.get(Keys.osis_schema(name))
            stored = stored.decode() if isinstance(stored, bytes) else stored
            if stored != text:
                raise OsisError(f"model {name!r} is already defined differently: {stored}")
        self.models.register(cls, name)
        return cls

    def model(self, name: str) -> type[OsisModel]:
        cls = self.models.get(name)
        if cls is not None:
            return cls
        raw = self.r.get(Keys.osis_schema(name)) if isinstance(name, str) else None
        if raw is None:
            known = ", ".join(self.models.names()) or "none yet"
            raise OsisError(f"unknown model {name!r} (known: {known}; define it first)")
        d = json.loads(raw)
        return self.models.register(define(name, d["fields"], d["index"]), name)

    # ---- writes ---------------------------------------------------------------------------
    def set(self, model: str, obj: Any, ns: str | None = None) -> dict[str, Any]:
        """Create (no id, or an unknown one) or replace an object; returns it as stored."""
        cls = self.model(model)
        data = dict(obj) if isinstance(obj, Mapping) else obj
        if ns is not None and isinstance(data, dict):
            data["ns"] = ns
        item = validate(cls, data)
        if SEP in item.id or "\x00" in item.id or ":" in item.id:
            raise OsisError(f"model {model!r}, field 'id': must not contain ':' or control "
                            "characters")
        stamp = now()
        values = item.model_dump(mode="json", exclude={"id", "created_at", "modified_at"})
        args: list[Any] = [Keys.osis_base(model, item.ns), item.id, repr(stamp), len(values)]
        for key, value in values.items():
            args += [key, json.dumps(value)]
        args.append(len(cls.osis_index))
        for field in cls.osis_index:
            toks = tokens(values.get(field))
            for t in toks:
                if SEP in t or "\x00" in t:
                    raise OsisError(f"model {model!r}, field {field!r}: indexed text must not "
                                    "contain control characters \\x00 or \\x1f")
            args += [field, "1" if _is_text(cls, field) else "0", "".join(t + SEP for t in toks)]
        new_id, created = self._set(args=args)
        new_id = new_id.decode() if isinstance(new_id, bytes) else str(new_id)
        created_f = float(created.decode() if isinstance(created, bytes) else created)
        return {**values, "id": new_id, "created_at": created_f, "modified_at": stamp}

    def delete(self, model: str, obj_id: str, ns: str = "default") -> bool:
        cls = self.model(model)
        args: list[Any] = [Keys.osis_base(model, ns), str(obj_id), len(cls.osis_index)]
        for field in cls.osis_index:
            args += [field, "1" if _is_text(cls, field) else "0"]
        return bool(self._delete(args=args))

    # ---- reads ----------------------------------------------------------------------------
    def get(self, model: str, obj_id: str, ns: str = "default") -> dict[str, Any] | None:
        cls = self.model(model)
        raw = self.r.hgetall(Keys.osis_object(model, ns, str(obj_id)))
        return _decode(cls, raw) if raw else None

    def list(self, model: str, ns: str = "default", *, offset: int = 0, limit: int = 100
             ) -> dict[str, Any]:
        """One page of a model's objects in creation order, with the total count."""
        self.model(model)
        limit = _page(limit)
        base = Keys.osis_base(model, ns)
        pipe = self.r.pipeline(transaction=False)
        pipe.zrange(base + "ids", max(0, offset), max(0, offset) + limit - 1)
        pipe.zcard(base + "ids")
        ids, total = pipe.execute()
        items = self._fetch(model, ns, [_text(i) for i in ids])
        return {"items": items, "total": int(total), "offset": max(0, offset), "limit": limit}

    def find(self, model: str, where: Mapping[str, Any] | None = None, *,
             prefix: Mapping[str, str] | None = None, ns: str = "default", offset: int = 0,
             limit: int = 100) -> list[dict[str, Any]]:
        """Objects whose indexed fields equal `where` (a list value: contains every element)
        and whose text indexed fields start with `prefix`; ordered by id, paged."""
        cls = self.model(model)
        where, prefix = dict(where or {}), dict(prefix or {})
        if not where and not prefix:
            raise OsisError(f"find on model {model!r} needs at least one indexed field "
                            "(use list to page through everything)")
        base = Keys.osis_base(model, ns)
        sets: list[set[str]] = []
        eq_keys: list[str] = []
        for field, value in where.items():
            self._check_indexed(cls, model, field)
            toks = tokens(value)
            if not toks:
                raise OsisError(f"find on model {model!r}, field {field!r}: no value to match")
            eq_keys += [f"{base}idx:{field}:{t}" for t in toks]
        if eq_keys:
            sets.append({_text(i) for i in self.r.sinter(eq_keys)})
        for field, start in prefix.items():
            self._check_indexed(cls, model, field)
            if not _is_text(cls, field):
                raise OsisError(f"find on model {model!r}, field {field!r}: prefix search "
                                "needs a text field")
            members = self.r.zrangebylex(f"{base}lex:{field}", f"[{start}",
                                         f"[{start}\xff")
            sets.append({_text(m).rpartition(LEX_SEP)[2] for m in members})
        ids = set.intersection(*sets) if sets else set()
        ordered = sorted(ids, key=lambda i: (0, int(i), "") if i.isdigit() else (1, 0, i))
        out = []
        for item in self._fetch(model, ns, ordered):
            if _matches(item, where, prefix):
                out.append(item)
        return out[max(0, offset):max(0, offset) + _page(limit)]

    def _fetch(self, model: str, ns: str, ids: list[str]) -> list[dict[str, Any]]:
        cls = self.model(model)
        pipe = self.r.pipeline(transaction=False)
        for i in ids:
            pipe.hgetall(Keys.osis_object(model, ns, i))
        return [_decode(cls, raw) for raw in pipe.execute() if raw]

    @staticmethod
    def _check_indexed(cls: type[OsisModel], model: str, field: str) -> None:
        if field not in cls.osis_index:
            raise OsisError(f"find on model {model!r}: field {field!r} is not indexed "
                            f"(indexed: {', '.join(cls.osis_index) or 'none'})")


def _text(v: Any) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _page(limit: int) -> int:
    return max(1, min(int(limit), MAX_PAGE))


def _decode(cls: type[OsisModel], raw: Mapping[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in raw.items():
        key = _text(k)
        if key.startswith("_i:"):
            continue
        out[key] = json.loads(_text(v))
    out["id"] = str(out.get("id", ""))
    return out


def _matches(item: Mapping[str, Any], where: Mapping[str, Any], prefix: Mapping[str, str]
             ) -> bool:
    for field, value in where.items():
        have = set(tokens(item.get(field)))
        if not set(tokens(value)) <= have:
            return False
    for field, start in prefix.items():
        if not any(t.startswith(start) for t in tokens(item.get(field))):
            return False
    return True


assert INDEXABLE
