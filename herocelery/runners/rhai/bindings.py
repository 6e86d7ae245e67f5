"""Functions bound to a job: each binding makes one script function from the JobContext.

Later rooms add their own (e.g. `osis_set`, `osis_get`, `osis_find`) with `register_binding`;
the rhai runner binds every registered function for each job it runs.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .values import Char, to_json

if TYPE_CHECKING:
    from ..base import JobContext

Binding = Callable[["JobContext"], Callable[..., Any]]
BINDINGS: dict[str, Binding] = {}


def register_binding(name: str, factory: Binding) -> None:
    """Bind `name(...)` in every rhai job: `factory(job)` returns the Python function."""
    BINDINGS[name] = factory


def binding(name: str) -> Callable[[Binding], Binding]:
    """Decorator form of register_binding."""
    def deco(factory: Binding) -> Binding:
        register_binding(name, factory)
        return factory
    return deco


def stored(value: Any) -> Any:
    """A Rhai value as a Redis value: text and numbers as they are, containers as JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Char):
        return str(value)
    if isinstance(value, (str, int, float)):
        return value
    return json.dumps(to_json(value))


def _db(job: JobContext) -> Any:
    return job.db()


@binding("db_get")
def _get(job: JobContext) -> Callable[..., Any]:
    return lambda key: _db(job).get(key)


@binding("db_set")
def _set(job: JobContext) -> Callable[..., Any]:
    def db_set(key: str, value: Any) -> bool:
        return bool(_db(job).set(key, stored(value)))
    return db_set


@binding("db_del")
def _del(job: JobContext) -> Callable[..., Any]:
    return lambda key: int(_db(job).delete(key))


@binding("db_exists")
def _exists(job: JobContext) -> Callable[..., Any]:
    return lambda key: bool(_db(job).exists(key))


@binding("db_incr")
def _incr(job: JobContext) -> Callable[..., Any]:
    def db_incr(key: str, by: int = 1) -> int:
        return int(_db(job).incrby(key, by))
    return db_incr


@binding("db_keys")
def _keys(job: JobContext) -> Callable[..., Any]:
    def db_keys(pattern: str = "*") -> list[str]:
        return sorted(_db(job).keys(pattern))
    return db_keys


@binding("db_expire")
def _expire(job: JobContext) -> Callable[..., Any]:
    return lambda key, seconds: bool(_db(job).expire(key, int(seconds)))


@binding("db_hset")
def _hset(job: JobContext) -> Callable[..., Any]:
    return lambda key, field, value: int(_db(job).hset(key, field, stored(value)))


@binding("db_hget")
def _hget(job: JobContext) -> Callable[..., Any]:
    return lambda key, field: _db(job).hget(key, field)


@binding("db_hgetall")
def _hgetall(job: JobContext) -> Callable[..., Any]:
    return lambda key: dict(_db(job).hgetall(key))


@binding("db_hdel")
def _hdel(job: JobContext) -> Callable[..., Any]:
    return lambda key, field: int(_db(job).hdel(key, field))


@binding("db_hkeys")
def _hkeys(job: JobContext) -> Callable[..., Any]:
    return lambda key: sorted(_db(job).hkeys(key))


@binding("db_lpush")
def _lpush(job: JobContext) -> Callable[..., Any]:
    return lambda key, value: int(_db(job).lpush(key, stored(value)))


@binding("db_rpush")
def _rpush(job: JobContext) -> Callable[..., Any]:
    return lambda key, value: int(_db(job).rpush(key, stored(value)))


@binding("db_lpop")
def _lpop(job: JobContext) -> Callable[..., Any]:
    return lambda key: _db(job).lpop(key)


@binding("db_rpop")
def _rpop(job: JobContext) -> Callable[..., Any]:
    return lambda key: _db(job).rpop(key)


@binding("db_llen")
def _llen(job: JobContext) -> Callable[..., Any]:
    return lambda key: int(_db(job).llen(key))


@binding("db_lrange")
def _lrange(job: JobContext) -> Callable[..., Any]:
    def db_lrange(key: str, start: int = 0, stop: int = -1) -> list[str]:
        return list(_db(job).lrange(key, start, stop))
    return db_lrange


@binding("db_sadd")
def _sadd(job: JobContext) -> Callable[..., Any]:
    return lambda key, value: int(_db(job).sadd(key, stored(value)))


@binding("db_smembers")
def _smembers(job: JobContext) -> Callable[..., Any]:
    return lambda key: sorted(_db(job).smembers(key))
