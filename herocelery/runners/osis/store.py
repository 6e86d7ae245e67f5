"""OSIS objects in HeroDB: one hash per object and one lexical sorted set per model and
namespace that indexes everything (`Keys.osis_index`).

Index members are `field \\0 value \\0 id` for each indexed value (each element of a list)
and `\\x01 \\0 sort-key \\0 id` (numeric ids zero-padded) for paging, all with score 0, so equality
(`[field\\0value\\0` ...), prefix (`[field\\0prefix` ...) and paging are ZRANGEBYLEX ranges,
and an object's whole index changes with one ZREM and one ZADD.

Guarantees: `set` and `delete` are single Lua scripts, so an object and its index entries
change together; no index entry ever points to a deleted object or to an old value of a
changed one, whatever other writers do at the same time. `find` re-checks every object it
reads against the query, so an object changed between the index read and the object read is
not returned under its old value. An object's current index members are kept in its `_m`
field, so a script knows exactly what to remove. Every key comes from `Keys`.
"""
from __future__ import annotations

import builtins
import json
from collections.abc import Iterable, Mapping
from typing import Any

import redis

from ...keys import Keys
from .schema import ModelRegistry, OsisError, OsisModel, define, now, tokens, validate

SEP = "\x1f"       # between the index members kept in an object's `_m` field
NUL = "\x00"       # between field, value and id in an index member
ORDER = "\x01"     # the pseudo-field of the paging (id order) members
MAX_PAGE = 1000

# Lua: the order member of an object: `\1 \0 sort-key \0 id`, the sort key being the id,
# zero-padded when numeric so numeric ids sort as numbers
ORDER_LUA = r"""
local function order_member(id)
  local sort = id
  if #id < 20 and string.match(id, '^%d+$') then sort = string.rep('0', 20 - #id) .. id end
  return '\1\0' .. sort .. '\0' .. id
end
"""

# ARGV: key prefix (the object key without its id), index, id ('' = take the next number
# from the sequence key), now, sequence key, n, member prefix* (without the id), full-text
# index ('' = none), m, (field, text){m}, (field, json)*.  One round trip per set, creation
# included: the id is drawn here. One ZADD of the order member and every new member: if all
# were new, the object is new; otherwise read its old members (`_m`) and remove those that
# went away. The full-text document (HeroDB FT.ADD) changes in the same script.
SET_LUA = ORDER_LUA + r"""
local index, id, now, seq = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local n = tonumber(ARGV[6])
local ft, m = ARGV[7 + n], tonumber(ARGV[8 + n])
if id == '' then id = tostring(redis.call('INCR', seq)) end
local key = ARGV[1] .. id
if ft ~= '' then
  local doc = {'FT.ADD', ft, id, 1}
  for i = 9 + n, 8 + n + 2 * m do doc[#doc + 1] = ARGV[i] end
  redis.call(unpack(doc))
end
local add = {'ZADD', index, 0, order_member(id)}
local members = {}
for i = 7, 6 + n do
  local m = ARGV[i] .. id
  members[#members + 1] = m
  add[#add + 1] = 0
  add[#add + 1] = m
end
local joined = table.concat(members, '\031')
local created = now
if redis.call(unpack(add)) < n + 1 then
  local old = redis.call('HMGET', key, 'created_at', '_m')
  created = old[1] or now
  if old[2] and old[2] ~= joined then
    local keep, rem = {}, {'ZREM', index}
    for _, m in ipairs(members) do keep[m] = true end
    for m in string.gmatch(old[2], '([^\031]+)') do
      if not keep[m] then rem[#rem + 1] = m end
    end
    if #rem > 2 then redis.call(unpack(rem)) end
  end
end
local h = {'HSET', key, 'id', cjson.encode(id), 'created_at', created, 'modified_at', now,
           '_m', joined}
for i = 9 + n + 2 * m, #ARGV do h[#h + 1] = ARGV[i] end
redis.call(unpack(h))
return {created, id}
"""

# ARGV: key, index, id, full-text index ('' = none)
DELETE_LUA = ORDER_LUA + r"""
local key, index, id, ft = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local old = redis.call('HMGET', key, 'created_at', '_m')
if not old[1] then return 0 end
if ft ~= '' then redis.call('FT.DEL', ft, id) end
local rem = {'ZREM', index, order_member(id)}
if old[2] then
  for m in string.gmatch(old[2], '([^\031]+)') do rem[#rem + 1] = m end
end
redis.call(unpack(rem))
redis.call('DEL', key)
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
        self._fulltext_ready: set[str] = set()  # full-text indexes known to exist

    # ---- models ---------------------------------------------------------------------------
    def define(self, name: str, fields: Mapping[str, str], index: Iterable[str] = (),
               fulltext: Iterable[str] = ()) -> type[OsisModel]:
        """Define a model as data, stored so every runner of this context knows it. Defining
        it again identically is a no-op; differently, an OsisError. `fulltext` fields are
        found by words with `search` (HeroDB's FT.* index)."""
        cls = define(name, fields, index, fulltext)
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
        return self.models.register(define(name, d["fields"], d["index"],
                                           d.get("fulltext", ())), name)

    # ---- writes ---------------------------------------------------------------------------
    def set(self, model: str, obj: Any, ns: str | None = None) -> dict[str, Any]:
        """Create (no id, or an unknown one) or replace an object; returns it as stored."""
        cls = self.model(model)
        data = dict(obj) if isinstance(obj, Mapping) else obj
        if ns is not None and isinstance(data, dict):
            data["ns"] = ns
        item = validate(cls, data)
        if SEP in item.id or NUL in item.id or ":" in item.id:
            raise OsisError(f"model {model!r}, field 'id': must not contain ':' or control "
                            "characters")
        values = item.model_dump(mode="json", exclude={"id", "created_at", "modified_at"})
        members: list[str] = []
        for field in cls.osis_index:
            for t in tokens(values.get(field)):
                if SEP in t or NUL in t:
                    raise OsisError(f"model {model!r}, field {field!r}: indexed text must not "
                                    "contain control characters \\x00 or \\x1f")
                members.append(f"{field}{NUL}{t}{NUL}")
        stamp = now()
        args: list[Any] = [Keys.osis_object(model, item.ns, ""),
                           Keys.osis_index(model, item.ns), item.id or "", repr(stamp),
                           Keys.osis_seq(model, item.ns), len(members), *members,
                           *self._document(cls, item.ns, values)]
        for key, value in values.items():
            args += [key, json.dumps(value)]
        created, obj_id = (v.decode() if isinstance(v, bytes) else str(v)
                           for v in self._set(args=args))
        return {**values, "id": obj_id, "created_at": float(created), "modified_at": stamp}

    def delete(self, model: str, obj_id: str, ns: str = "default") -> bool:
        """Remove an object and its index entries; False if it did not exist."""
        cls = self.model(model)
        obj_id = str(obj_id)
        ft = self._fulltext_index(cls, ns) if cls.osis_fulltext else ""
        return bool(self._delete(args=[Keys.osis_object(model, ns, obj_id),
                                       Keys.osis_index(model, ns), obj_id, ft]))

    # ---- full text ------------------------------------------------------------------------
    def search(self, model: str, query: str, *, ns: str = "default", offset: int = 0,
               limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Objects whose `fulltext` fields match `query` (HeroDB's FT query syntax: words,
        "phrases", prefix*, @field:word, a | b, -word), most relevant first, paged."""
        cls = self.model(model)
        if not cls.osis_fulltext:
            raise OsisError(f"search on model {model!r}: it has no fulltext field (declare "
                            "some with fulltext=[...] in define, or fulltext() in a class)")
        if not isinstance(query, str) or not query.strip():
            raise OsisError(f"search on model {model!r}: the query must be non-empty text")
        index = self._fulltext_index(cls, ns)
        try:
            reply = self.r.execute_command("FT.SEARCH", index, query, "NOCONTENT", "LIMIT",
                                           max(0, int(offset)), _page(limit))
        except redis.ResponseError as exc:
            raise OsisError(f"search on model {model!r}: {exc}") from None
        ids = [_text(i) for i in reply[1:]]
        fetched: Any = self._fetch(model, ns, ids)  # (`list` is a method name in this class)
        found = {item["id"]: item for item in fetched}
        return [found[i] for i in ids if i in found]

    def _document(self, cls: type[OsisModel], ns: str, values: Mapping[str, Any]
                  ) -> builtins.list[Any]:
        """The SET script's full-text arguments: index, m, (field, text){m}."""
        if not cls.osis_fulltext:
            return ["", 0]
        pairs: list[Any] = []
        for field in cls.osis_fulltext:
            value = values.get(field)
            if isinstance(value, list):
                value = "\n".join(str(v) for v in value)
            if value is not None:
                pairs += [field, str(value)]
        return [self._fulltext_index(cls, ns), len(pairs) // 2, *pairs]

    def _fulltext_index(self, cls: type[OsisModel], ns: str) -> str:
        """The model's FT index in `ns`, created on first use (an OsisError names a server
        without HeroDB's FT.* commands)."""
        index = Keys.osis_fulltext(cls.osis_name, ns)
        if index in self._fulltext_ready:
            return index
        schema = [x for f in cls.osis_fulltext for x in (f, "TEXT")]
        try:
            self.r.execute_command("FT.CREATE", index, "SCHEMA", *schema)
        except redis.ResponseError as exc:
            text = str(exc)
            if "already exists" not in text:
                raise OsisError(f"model {cls.osis_name!r}: fulltext fields need HeroDB's FT.* "
                                f"commands ({text})") from None
        self._fulltext_ready.add(index)
        return index

    # ---- reads ----------------------------------------------------------------------------
    def get(self, model: str, obj_id: str, ns: str = "default") -> dict[str, Any] | None:
        cls = self.model(model)
        raw = self.r.hgetall(Keys.osis_object(model, ns, str(obj_id)))
        return _decode(cls, raw) if raw else None

    def list(self, model: str, ns: str = "default", *, offset: int = 0, limit: int = 100
             ) -> dict[str, Any]:
        """One page of a model's objects in id order (numeric ids as numbers, so objects with
        generated ids come in creation order), with the total count."""
        self.model(model)
        limit, offset = _page(limit), max(0, offset)
        index = Keys.osis_index(model, ns)
        low, high = (ORDER + NUL).encode(), (ORDER + NUL).encode() + b"\xff"
        pipe = self.r.pipeline(transaction=False)
        pipe.zrangebylex(index, b"[" + low, b"[" + high, start=offset, num=limit)
        pipe.zlexcount(index, b"[" + low, b"[" + high)
        members, total = pipe.execute()
        ids = [_text(m).rpartition(NUL)[2] for m in members]
        items = self._fetch(model, ns, ids)
        return {"items": items, "total": int(total), "offset": offset, "limit": limit}

    def find(self, model: str, where: Mapping[str, Any] | None = None, *,
             prefix: Mapping[str, str] | None = None, ns: str = "default", offset: int = 0,
             limit: int = 100) -> builtins.list[dict[str, Any]]:
        """Objects whose indexed fields equal `where` (a list value: contains every element)
        and whose text indexed fields start with `prefix`; ordered by id, paged."""
        cls = self.model(model)
        where, prefix = dict(where or {}), dict(prefix or {})
        if not where and not prefix:
            raise OsisError(f"find on model {model!r} needs at least one indexed field "
                            "(use list to page through everything)")
        index = Keys.osis_index(model, ns)
        sets: list[set[str]] = []
        for field, value in where.items():
            self._check_indexed(cls, model, field)
            toks = tokens(value)
            if not toks:
                raise OsisError(f"find on model {model!r}, field {field!r}: no value to match")
            for t in toks:
                sets.append(self._ids(index, f"{field}{NUL}{t}{NUL}".encode()))
        for field, start in prefix.items():
            self._check_indexed(cls, model, field)
            if not _is_text(cls, field):
                raise OsisError(f"find on model {model!r}, field {field!r}: prefix search "
                                "needs a text field")
            sets.append(self._ids(index, f"{field}{NUL}{start}".encode()))
        ids = set.intersection(*sets) if sets else set()
        ordered = sorted(ids, key=lambda i: (0, int(i), "") if i.isdigit() else (1, 0, i))
        out = []
        for item in self._fetch(model, ns, ordered):
            if _matches(item, where, prefix):
                out.append(item)
        return out[max(0, offset):max(0, offset) + _page(limit)]

    def _ids(self, index: str, start: bytes) -> builtins.set[str]:
        """Ids of the index members starting with `start` (bytes: 0xff never occurs in UTF-8,
        so it closes the range)."""
        members = self.r.zrangebylex(index, b"[" + start, b"[" + start + b"\xff")
        return {_text(m).rpartition(NUL)[2] for m in members}

    def _fetch(self, model: str, ns: str, ids: builtins.list[str]
               ) -> builtins.list[dict[str, Any]]:
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
        if key == "_m":
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


