"""Hash commands: HSET HGET HMGET HGETALL HDEL HINCRBY HRANDFIELD HSCAN ..."""
from __future__ import annotations

import random
from typing import Any

from ..errors import HASH_NOT_FLOAT, HASH_NOT_INTEGER, NAN_OR_INF, OVERFLOW, SYNTAX, CommandError
from ..protocol import OK, human_add
from .base import INT64_MAX, INT64_MIN, Command, glob_match, registrar, to_float, to_int, to_ranged
from .keys import parse_scan, scan_page
from .randoms import picks

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


def _hash(c: Any, key: bytes) -> dict[bytes, bytes] | None:
    return c.store.get_typed(key, dict)


@command("HSET", -4, "write fast", keys=(1, 1, 1))
def hset(c: Any, argv: list[bytes]) -> Any:
    if len(argv) % 2:
        name = argv[0].decode().lower()
        raise CommandError(f"ERR wrong number of arguments for '{name}' command")
    h = c.store.get_or_create(argv[1], dict)
    added = 0
    for i in range(2, len(argv), 2):
        if argv[i] not in h:
            added += 1
        h[argv[i]] = argv[i + 1]
    return added


@command("HMSET", -4, "write fast", keys=(1, 1, 1))
def hmset(c: Any, argv: list[bytes]) -> Any:
    hset(c, argv)
    return OK


@command("HSETNX", 4, "write fast", keys=(1, 1, 1))
def hsetnx(c: Any, argv: list[bytes]) -> Any:
    h = c.store.get_or_create(argv[1], dict)
    if argv[2] in h:
        c.effects = []
        return 0
    h[argv[2]] = argv[3]
    return 1


@command("HGET", 3, "read fast", keys=(1, 1, 1))
def hget(c: Any, argv: list[bytes]) -> Any:
    h = _hash(c, argv[1])
    return None if h is None else h.get(argv[2])


@command("HMGET", -3, "read fast", keys=(1, 1, 1))
def hmget(c: Any, argv: list[bytes]) -> Any:
    h = _hash(c, argv[1]) or {}
    return [h.get(f) for f in argv[2:]]


@command("HGETALL", 2, "read", keys=(1, 1, 1))
def hgetall(c: Any, argv: list[bytes]) -> Any:
    h = _hash(c, argv[1]) or {}
    return dict(h) if c.proto == 3 else [x for kv in h.items() for x in kv]


@command("HDEL", -3, "write fast", keys=(1, 1, 1))
def hdel(c: Any, argv: list[bytes]) -> Any:
    h = _hash(c, argv[1])
    if h is None:
        c.effects = []
        return 0
    n = sum(1 for f in argv[2:] if h.pop(f, None) is not None)
    c.store.drop_if_empty(argv[1], h)
    if n == 0:
        c.effects = []
    return n


@command("HEXISTS", 3, "read fast", keys=(1, 1, 1))
def hexists(c: Any, argv: list[bytes]) -> Any:
    return int(argv[2] in (_hash(c, argv[1]) or {}))


@command("HLEN", 2, "read fast", keys=(1, 1, 1))
def hlen(c: Any, argv: list[bytes]) -> Any:
    return len(_hash(c, argv[1]) or {})


@command("HKEYS", 2, "read", keys=(1, 1, 1))
def hkeys(c: Any, argv: list[bytes]) -> Any:
    return list(_hash(c, argv[1]) or {})


@command("HVALS", 2, "read", keys=(1, 1, 1))
def hvals(c: Any, argv: list[bytes]) -> Any:
    return list((_hash(c, argv[1]) or {}).values())


@command("HSTRLEN", 3, "read fast", keys=(1, 1, 1))
def hstrlen(c: Any, argv: list[bytes]) -> Any:
    return len((_hash(c, argv[1]) or {}).get(argv[2], b""))


@command("HINCRBY", 4, "write fast", keys=(1, 1, 1))
def hincrby(c: Any, argv: list[bytes]) -> Any:
    delta = to_int(argv[3])
    h = c.store.get_or_create(argv[1], dict)
    raw = h.get(argv[2])
    current = 0 if raw is None else to_int(raw, HASH_NOT_INTEGER)
    result = current + delta
    if result < INT64_MIN or result > INT64_MAX:
        c.store.drop_if_empty(argv[1], h)
        raise CommandError(OVERFLOW)
    h[argv[2]] = b"%d" % result
    return result


@command("HINCRBYFLOAT", 4, "write fast", keys=(1, 1, 1))
def hincrbyfloat(c: Any, argv: list[bytes]) -> Any:
    to_float(argv[3])
    h = c.store.get_or_create(argv[1], dict)
    raw = h.get(argv[2])
    try:
        if raw is not None:
            to_float(raw, HASH_NOT_FLOAT)
    except CommandError:
        c.store.drop_if_empty(argv[1], h)
        raise
    result = human_add(raw, argv[3])  # exact decimal sum, no exponent, as Redis prints it
    if result is None:
        c.store.drop_if_empty(argv[1], h)
        raise CommandError(NAN_OR_INF)
    text = result.encode()
    h[argv[2]] = text
    c.effects = [[b"HSET", argv[1], argv[2], text]]
    return text


@command("HRANDFIELD", -2, "read", keys=(1, 1, 1))
def hrandfield(c: Any, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        h = _hash(c, argv[1])
        return random.choice(list(h)) if h else None
    count = to_ranged(argv[2], -INT64_MAX, INT64_MAX)  # parsed before the key, as Redis does
    withvalues = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].upper() != b"WITHVALUES"):
        raise CommandError(SYNTAX)
    if len(argv) == 4:
        withvalues = True
        if not -(INT64_MAX // 2) <= count <= INT64_MAX // 2:
            raise CommandError("ERR value is out of range")
    h = _hash(c, argv[1])
    if not h:
        return []
    if not withvalues:
        return picks(c, list(h), count, lambda f: [f], True)
    return picks(c, list(h), count, lambda f: [f, h[f]], c.proto != 3)


@command("HSCAN", -3, "read", keys=(1, 1, 1))
def hscan(c: Any, argv: list[bytes]) -> Any:
    cursor, pattern, count, _, flags = parse_scan(argv, 2, extra=(b"NOVALUES",))
    h = _hash(c, argv[1]) or {}
    nxt, page = scan_page(list(h.items()), cursor, count, key=lambda kv: kv[0])
    out: list[bytes] = []
    for f, v in page:
        if pattern is None or glob_match(pattern, f):
            out.extend((f,) if b"NOVALUES" in flags else (f, v))
    return [str(nxt).encode(), out]
