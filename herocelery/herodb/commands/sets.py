"""Set commands: SADD SREM SMEMBERS SPOP SRANDMEMBER SMOVE SINTER/SUNION/SDIFF[STORE] ..."""
from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from ..errors import MUST_BE_POSITIVE, SYNTAX, CommandError
from ..keyspace import Database
from .base import INT64_MAX, Command, glob_match, numkeys_fn, registrar, to_int, to_ranged
from .keys import parse_scan, scan_page
from .randoms import picks

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


def _set(store: Database, key: bytes) -> set[bytes] | None:
    return store.get_typed(key, set)


def reply_set(c: Any, members: Any) -> Any:
    """RESP3 set, RESP2 array."""
    return set(members) if c.proto == 3 else list(members)


@command("SADD", -3, "write fast", keys=(1, 1, 1))
def sadd(c: Any, argv: list[bytes]) -> Any:
    s = c.store.get_or_create(argv[1], set)
    before = len(s)
    s.update(argv[2:])
    added = len(s) - before
    if not added:
        c.effects = []
    return added


@command("SREM", -3, "write fast", keys=(1, 1, 1))
def srem(c: Any, argv: list[bytes]) -> Any:
    s = _set(c.store, argv[1])
    if s is None:
        c.effects = []
        return 0
    before = len(s)
    s.difference_update(argv[2:])
    c.store.drop_if_empty(argv[1], s)
    if before == len(s):
        c.effects = []
    return before - len(s)


@command("SMEMBERS", 2, "read", keys=(1, 1, 1))
def smembers(c: Any, argv: list[bytes]) -> Any:
    return reply_set(c, _set(c.store, argv[1]) or ())


@command("SISMEMBER", 3, "read fast", keys=(1, 1, 1))
def sismember(c: Any, argv: list[bytes]) -> Any:
    return int(argv[2] in (_set(c.store, argv[1]) or ()))


@command("SMISMEMBER", -3, "read fast", keys=(1, 1, 1))
def smismember(c: Any, argv: list[bytes]) -> Any:
    s = _set(c.store, argv[1]) or set()
    return [int(m in s) for m in argv[2:]]


@command("SCARD", 2, "read fast", keys=(1, 1, 1))
def scard(c: Any, argv: list[bytes]) -> Any:
    return len(_set(c.store, argv[1]) or ())


def _count(raw: bytes) -> int:
    n = to_int(raw, MUST_BE_POSITIVE)
    if n < 0:
        raise CommandError(MUST_BE_POSITIVE)
    return n


@command("SPOP", -2, "write fast", keys=(1, 1, 1))
def spop(c: Any, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    count = _count(argv[2]) if len(argv) == 3 else None
    s = _set(c.store, argv[1])
    if not s:
        c.effects = []
        return None if count is None else reply_set(c, ())
    chosen = random.sample(list(s), 1 if count is None else min(count, len(s)))
    s.difference_update(chosen)
    c.store.drop_if_empty(argv[1], s)
    c.effects = [[b"SREM", argv[1], *chosen]] if chosen else []
    return chosen[0] if count is None else reply_set(c, chosen)


@command("SRANDMEMBER", -2, "read", keys=(1, 1, 1))
def srandmember(c: Any, argv: list[bytes]) -> Any:
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        s = _set(c.store, argv[1])
        return random.choice(list(s)) if s else None
    count = to_ranged(argv[2], -INT64_MAX, INT64_MAX)  # parsed before the key, as Redis does
    s = _set(c.store, argv[1])
    if not s:
        return []
    return picks(c, list(s), count, lambda m: [m], True)


@command("SMOVE", 4, "write fast", keys=(1, 2, 1))
def smove(c: Any, argv: list[bytes]) -> Any:
    store = c.store
    src = _set(store, argv[1])
    if src is None:  # Redis answers 0 before looking at the destination's type
        c.effects = []
        return 0
    dst = _set(store, argv[2])
    if argv[3] not in src:
        c.effects = []
        return 0
    if argv[1] == argv[2]:
        c.effects = []
        return 1
    src.discard(argv[3])
    store.drop_if_empty(argv[1], src)
    if dst is None:
        dst = store.get_or_create(argv[2], set)
    dst.add(argv[3])
    return 1


def _combine(store: Database, keys: list[bytes], op: Callable[..., set[bytes]]) -> set[bytes]:
    sets = [_set(store, k) for k in keys]  # WRONGTYPE for any wrong key, like Redis
    if op is set.intersection and any(s is None for s in sets):
        return set()
    if op is set.difference:
        first = sets[0] or set()
        return first.difference(*[s for s in sets[1:] if s])
    real = [s for s in sets if s is not None]
    if not real:
        return set()
    return op(set(real[0]), *real[1:])


@command("SINTER", -2, "read", keys=(1, -1, 1))
def sinter(c: Any, argv: list[bytes]) -> Any:
    return reply_set(c, _combine(c.store, argv[1:], set.intersection))


@command("SUNION", -2, "read", keys=(1, -1, 1))
def sunion(c: Any, argv: list[bytes]) -> Any:
    return reply_set(c, _combine(c.store, argv[1:], set.union))


@command("SDIFF", -2, "read", keys=(1, -1, 1))
def sdiff(c: Any, argv: list[bytes]) -> Any:
    return reply_set(c, _combine(c.store, argv[1:], set.difference))


def _store(c: Any, argv: list[bytes], op: Callable[..., set[bytes]]) -> int:
    result = _combine(c.store, argv[2:], op)
    c.store.delete(argv[1])
    if result:
        c.store.set(argv[1], result)
    return len(result)


@command("SINTERSTORE", -3, "write", keys=(1, -1, 1))
def sinterstore(c: Any, argv: list[bytes]) -> Any:
    return _store(c, argv, set.intersection)


@command("SUNIONSTORE", -3, "write", keys=(1, -1, 1))
def sunionstore(c: Any, argv: list[bytes]) -> Any:
    return _store(c, argv, set.union)


@command("SDIFFSTORE", -3, "write", keys=(1, -1, 1))
def sdiffstore(c: Any, argv: list[bytes]) -> Any:
    return _store(c, argv, set.difference)


@command("SINTERCARD", -3, "read", key_fn=numkeys_fn(1))
def sintercard(c: Any, argv: list[bytes]) -> Any:
    numkeys = to_int(argv[1], "ERR numkeys should be greater than 0")
    if numkeys <= 0:
        raise CommandError("ERR numkeys should be greater than 0")
    keys = argv[2:2 + numkeys]
    if len(keys) < numkeys:
        raise CommandError("ERR Number of keys can't be greater than number of args")
    rest = argv[2 + numkeys:]
    limit = 0
    for i in range(0, len(rest), 2):  # LIMIT may repeat: the last one counts
        if rest[i].upper() != b"LIMIT" or i + 1 >= len(rest):
            raise CommandError(SYNTAX)
        limit = to_int(rest[i + 1], "ERR LIMIT can't be negative")  # Redis' text for both
        if limit < 0:
            raise CommandError("ERR LIMIT can't be negative")
    n = len(_combine(c.store, keys, set.intersection))
    return min(n, limit) if limit else n


@command("SSCAN", -3, "read", keys=(1, 1, 1))
def sscan(c: Any, argv: list[bytes]) -> Any:
    cursor, pattern, count, _, _ = parse_scan(argv, 2)
    s = _set(c.store, argv[1]) or set()
    nxt, page = scan_page(s, cursor, count)
    return [str(nxt).encode(), [m for m in page if pattern is None or glob_match(pattern, m)]]
