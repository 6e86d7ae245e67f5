"""Blocking list pops: BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP. With data they act at once; without
it the client waits (first come, first served) until a push from anyone or its timeout; inside
MULTI they answer at once. Served pops are logged as their non-blocking effect."""
from __future__ import annotations

from typing import Any

from ..engine import block_or_timeout
from ..errors import CommandError
from ..keyspace import Database
from ..protocol import ReplyError
from .base import Command, numkeys_fn, registrar
from .lists import (
    LIST_SIDES,
    _move_effect,
    _pop_effect,
    _side,
    move,
    parse_mpop,
    parse_timeout,
    pop_first,
)

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


def _serve_move(src: bytes, dst: bytes, from_left: bool, to_left: bool) -> Any:
    def serve(store: Database, key: bytes) -> Any:
        try:
            value = move(store, src, dst, from_left, to_left)
        except CommandError as exc:
            return ReplyError(exc.text), []
        if value is None:
            return None
        return value, [_move_effect(src, dst, from_left, to_left)]
    return serve


@command("BLMOVE", 6, "write blocking", keys=(1, 2, 1))
def blmove(c: Any, argv: list[bytes]) -> Any:
    from_left, to_left = _side(argv[3]), _side(argv[4])
    timeout = parse_timeout(argv[5])
    value = move(c.store, argv[1], argv[2], from_left, to_left)
    if value is not None:
        c.effects = [_move_effect(argv[1], argv[2], from_left, to_left)]
        return value
    return block_or_timeout(c, [argv[1]], timeout,
                            _serve_move(argv[1], argv[2], from_left, to_left), None)


@command("BRPOPLPUSH", 4, "write blocking", keys=(1, 2, 1))
def brpoplpush(c: Any, argv: list[bytes]) -> Any:
    return blmove(c, [b"BLMOVE", argv[1], argv[2], b"RIGHT", b"LEFT", argv[3]])


def _bpop(c: Any, argv: list[bytes], left: bool) -> Any:
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1])
    found = pop_first(c.store, keys, left, None)
    if found is not None:
        c.effects = [_pop_effect(found[0], left, None)]
        return [found[0], found[1][0]]

    def serve(store: Database, key: bytes) -> Any:
        got = pop_first(store, [key], left, None)
        if got is None:
            return None
        return [key, got[1][0]], [_pop_effect(key, left, None)]
    return block_or_timeout(c, keys, timeout, serve)


@command("BLPOP", -3, "write blocking", keys=(1, -2, 1))
def blpop(c: Any, argv: list[bytes]) -> Any:
    return _bpop(c, argv, True)


@command("BRPOP", -3, "write blocking", keys=(1, -2, 1))
def brpop(c: Any, argv: list[bytes]) -> Any:
    return _bpop(c, argv, False)


@command("BLMPOP", -5, "write blocking", key_fn=numkeys_fn(2))
def blmpop(c: Any, argv: list[bytes]) -> Any:
    timeout = parse_timeout(argv[1])
    keys, left, count = parse_mpop(argv, 2, LIST_SIDES)
    found = pop_first(c.store, keys, left, count)
    if found is not None:
        c.effects = [_pop_effect(found[0], left, len(found[1]))]
        return [found[0], found[1]]

    def serve(store: Database, key: bytes) -> Any:
        got = pop_first(store, [key], left, count)
        if got is None:
            return None
        return [key, got[1]], [_pop_effect(key, left, len(got[1]))]
    return block_or_timeout(c, keys, timeout, serve)
