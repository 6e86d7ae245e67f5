"""Transactions: MULTI EXEC DISCARD WATCH UNWATCH (EXECABORT after a queueing error)."""
from __future__ import annotations

from typing import Any

from ..errors import (
    DISCARD_WITHOUT_MULTI,
    EXEC_WITHOUT_MULTI,
    EXECABORT,
    NESTED_MULTI,
    WATCH_IN_MULTI,
    CommandError,
)
from ..protocol import NULL_ARRAY, OK
from .base import Command, registrar

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


@command("MULTI", 1, "fast noscript transaction")
def multi(c: Any, argv: list[bytes]) -> Any:
    if c.multi is not None:
        raise CommandError(NESTED_MULTI)
    c.multi = []
    c.multi_error = False
    return OK


@command("EXEC", 1, "noscript transaction")
def exec_(c: Any, argv: list[bytes]) -> Any:
    if c.multi is None:
        raise CommandError(EXEC_WITHOUT_MULTI)
    queued, c.multi = c.multi, None
    engine = c.engine
    failed, c.multi_error = c.multi_error, False
    dirty = c.watch_dirty or (bool(c.watching) and engine.watched_expired(c))
    engine.unwatch(c)
    if failed:
        raise CommandError(EXECABORT)
    if dirty:
        return NULL_ARRAY
    replies = []
    c.in_exec = True
    try:
        for cmd, args in queued:
            replies.append(engine.run(c, cmd, args))
    finally:
        c.in_exec = False
    return replies


@command("DISCARD", 1, "fast noscript transaction")
def discard(c: Any, argv: list[bytes]) -> Any:
    if c.multi is None:
        raise CommandError(DISCARD_WITHOUT_MULTI)
    c.multi = None
    c.multi_error = False
    c.engine.unwatch(c)
    return OK


@command("WATCH", -2, "fast noscript transaction", keys=(1, -1, 1))
def watch(c: Any, argv: list[bytes]) -> Any:
    if c.multi is not None:
        raise CommandError(WATCH_IN_MULTI)
    c.engine.watch(c, argv[1:])
    return OK


@command("UNWATCH", 1, "fast noscript transaction")
def unwatch(c: Any, argv: list[bytes]) -> Any:
    c.engine.unwatch(c)
    return OK
