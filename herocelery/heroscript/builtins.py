"""Built-in actions of the heroscript runner: the job's own database, its result, its log.

Nothing here touches the host (no files, processes or network beyond the job's database).
Every handler reads its state (`JobState`) from `call.state`:

    !!db.set key:K value:V [ex:SECONDS]     -> True
    !!db.get key:K                          -> value or None
    !!db.del key:K | keys:a,b               -> number deleted
    !!db.incr key:K [by:N]                  -> new value
    !!db.hset key:H field:F value:V         -> fields added
    !!db.hget key:H field:F                 -> value or None
    !!db.hgetall key:H                      -> {field: value}
    !!db.lpush / db.rpush key:L value:V | values:a,b   -> new length
    !!db.lpop / db.rpop key:L               -> value or None
    !!db.llen key:L                         -> length
    !!db.sadd key:S member:M | members:a,b  -> members added
    !!db.smembers key:S                     -> sorted list
    !!db.expire key:K seconds:N             -> True if the key exists
    !!job.result value:'text' | json:'{"a": 1}'   -> sets the job result
    !!play.echo text:'...' (or words)       -> writes one line to the job log
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .handlers import Call, Registry, session_handlers
from .typed import check_known

UNSET = object()


@dataclass
class JobState:
    """What built-in handlers may use: a database client, a log and the result slot."""

    db: Callable[[], Any]
    log: Callable[[str], None]
    result: Any = field(default=UNSET)


def _db(call: Call) -> Any:
    return call.state.db()


def _values(call: Call, one: str, many: str) -> list[str]:
    p = call.params
    if p.exists(many):
        return p.list(many)
    if p.exists(one):
        return [call.action.params[one]]
    raise call.action.error(f"{call.action.full_name} needs {one}:... or {many}:a,b")


def _db_set(call: Call) -> Any:
    check_known(call.action, {"key", "value", "ex"})
    ex = call.params.int("ex", None)
    return bool(_db(call).set(call.params.str("key"), call.action.params.get("value", ""),
                              ex=ex))


def _db_get(call: Call) -> Any:
    return _db(call).get(call.params.str("key"))


def _db_del(call: Call) -> Any:
    return _db(call).delete(*_values(call, "key", "keys"))


def _db_incr(call: Call) -> Any:
    return _db(call).incrby(call.params.str("key"), call.params.int("by", 1))


def _db_hset(call: Call) -> Any:
    p = call.params
    return _db(call).hset(p.str("key"), p.str("field"), call.action.params.get("value", ""))


def _db_hget(call: Call) -> Any:
    return _db(call).hget(call.params.str("key"), call.params.str("field"))


def _db_hgetall(call: Call) -> Any:
    return dict(_db(call).hgetall(call.params.str("key")))


def _push(side: str) -> Callable[[Call], Any]:
    def push(call: Call) -> Any:
        client = _db(call)
        fn = client.lpush if side == "l" else client.rpush
        return fn(call.params.str("key"), *_values(call, "value", "values"))
    return push


def _pop(side: str) -> Callable[[Call], Any]:
    def pop(call: Call) -> Any:
        client = _db(call)
        return (client.lpop if side == "l" else client.rpop)(call.params.str("key"))
    return pop


def _db_llen(call: Call) -> Any:
    return _db(call).llen(call.params.str("key"))


def _db_sadd(call: Call) -> Any:
    return _db(call).sadd(call.params.str("key"), *_values(call, "member", "members"))


def _db_smembers(call: Call) -> Any:
    return sorted(_db(call).smembers(call.params.str("key")))


def _db_expire(call: Call) -> Any:
    return bool(_db(call).expire(call.params.str("key"), call.params.int("seconds")))


def _job_result(call: Call) -> Any:
    a = call.action
    check_known(a, {"value", "json"})
    if "json" in a.params:
        try:
            value = json.loads(a.params["json"])
        except json.JSONDecodeError as exc:
            raise a.error(f"param 'json': not valid JSON: {exc.msg} at line {exc.lineno} "
                          f"column {exc.colno}", "json") from None
    elif "value" in a.params:
        value = a.params["value"]
    elif a.args:
        value = " ".join(a.args)
    else:
        raise a.error("job.result needs value:'text' or json:'...'")
    call.state.result = value
    return value


def _echo(call: Call) -> Any:
    a = call.action
    text = a.params.get("text", a.params.get("msg", " ".join(a.args)))
    call.state.log(text)
    return text


DB_ACTIONS: dict[str, Callable[[Call], Any]] = {
    "set": _db_set, "get": _db_get, "del": _db_del, "incr": _db_incr,
    "hset": _db_hset, "hget": _db_hget, "hgetall": _db_hgetall,
    "lpush": _push("l"), "rpush": _push("r"), "lpop": _pop("l"), "rpop": _pop("r"),
    "llen": _db_llen, "sadd": _db_sadd, "smembers": _db_smembers, "expire": _db_expire,
}


def builtin_registry() -> Registry:
    """A new registry with session, db, job and play built-ins; add your own to it."""
    reg = session_handlers(Registry())
    for name, fn in DB_ACTIONS.items():
        reg.register(f"db.{name}", fn)
    reg.register("job.result", _job_result)
    reg.register("play.echo", _echo)
    return reg

