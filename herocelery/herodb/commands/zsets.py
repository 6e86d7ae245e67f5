"""Sorted set commands: ZADD ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZPOP* BZPOP*
ZUNIONSTORE ..."""
from __future__ import annotations

import math
import random
from typing import Any

from ..engine import block_or_timeout
from ..errors import (
    MUST_BE_POSITIVE,
    NAN_SCORE,
    NOT_FLOAT,
    SYNTAX,
    ZADD_GT_LT_NX,
    ZADD_INCR_PAIR,
    ZADD_NX_XX,
    CommandError,
)
from ..keyspace import Database, ZSet
from ..protocol import format_double
from .base import INT64_MAX, Command, glob_match, numkeys_fn, registrar, to_float, to_int, to_ranged
from .keys import parse_scan, scan_page
from .lists import parse_timeout
from .randoms import picks

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

INF = math.inf


def _zset(store: Database, key: bytes) -> ZSet | None:
    return store.get_typed(key, ZSet)


def with_scores(c: Any, pairs: list[tuple[float, bytes]]) -> list[Any]:
    """RESP3: [[member, score], ...]; RESP2: [member, score, ...]."""
    if c.proto == 3:
        return [[m, s] for s, m in pairs]
    return [x for s, m in pairs for x in (m, s)]


@command("ZADD", -4, "write fast", keys=(1, 1, 1))
def zadd(c: Any, argv: list[bytes]) -> Any:
    flags: set[bytes] = set()
    i = 2
    while i < len(argv) and not argv[i][:1].isdigit() and \
            argv[i].upper() in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"):
        flags.add(argv[i].upper())
        i += 1
    rest = argv[i:]
    if not rest or len(rest) % 2:
        raise CommandError(SYNTAX)
    if b"NX" in flags and b"XX" in flags:
        raise CommandError(ZADD_NX_XX)
    if (b"GT" in flags and b"LT" in flags) or (b"NX" in flags and flags & {b"GT", b"LT"}):
        raise CommandError(ZADD_GT_LT_NX)
    incr = b"INCR" in flags
    if incr and len(rest) != 2:
        raise CommandError(ZADD_INCR_PAIR)
    pairs = [(to_float(rest[j]), rest[j + 1]) for j in range(0, len(rest), 2)]
    store = c.store
    z = _zset(store, argv[1])
    if z is None:
        if b"XX" in flags:
            c.effects = []
            return None if incr else 0
        z = store.get_or_create(argv[1], ZSet)
    added = changed = 0
    result: float | None = None
    for score, member in pairs:
        old = z.scores.get(member)
        if old is None:
            if b"XX" in flags:
                continue
        elif b"NX" in flags:
            continue
        if incr:
            score = (old or 0.0) + score
            if math.isnan(score):
                store.drop_if_empty(argv[1], z)
                raise CommandError(NAN_SCORE)
        if old is not None and ((b"GT" in flags and score <= old)
                                or (b"LT" in flags and score >= old)):
            continue
        result = score
        if old is None:
            added += 1
            z.add(member, score)
        elif old != score:
            changed += 1
            z.add(member, score)
    store.drop_if_empty(argv[1], z)
    if not added and not changed:
        c.effects = []
    if incr:
        return result
    return added + changed if b"CH" in flags else added


@command("ZREM", -3, "write fast", keys=(1, 1, 1))
def zrem(c: Any, argv: list[bytes]) -> Any:
    z = _zset(c.store, argv[1])
    if z is None:
        c.effects = []
        return 0
    n = sum(1 for m in argv[2:] if z.remove(m))
    c.store.drop_if_empty(argv[1], z)
    if not n:
        c.effects = []
    return n


@command("ZSCORE", 3, "read fast", keys=(1, 1, 1))
def zscore(c: Any, argv: list[bytes]) -> Any:
    z = _zset(c.store, argv[1])
    return None if z is None else z.scores.get(argv[2])


@command("ZMSCORE", -3, "read fast", keys=(1, 1, 1))
def zmscore(c: Any, argv: list[bytes]) -> Any:
    z = _zset(c.store, argv[1])
    scores = z.scores if z is not None else {}
    return [scores.get(m) for m in argv[2:]]


@command("ZINCRBY", 4, "write fast", keys=(1, 1, 1))
def zincrby(c: Any, argv: list[bytes]) -> Any:
    delta = to_float(argv[2])
    z = c.store.get_or_create(argv[1], ZSet)
    score = z.scores.get(argv[3], 0.0) + delta
    if math.isnan(score):
        c.store.drop_if_empty(argv[1], z)
        raise CommandError(NAN_SCORE)
    z.add(argv[3], score)
    return score


@command("ZCARD", 2, "read fast", keys=(1, 1, 1))
def zcard(c: Any, argv: list[bytes]) -> Any:
    z = _zset(c.store, argv[1])
    return 0 if z is None else len(z)


def pop(store: Database, key: bytes, count: int, highest: bool) -> list[tuple[float, bytes]]:
    z = _zset(store, key)
    if not z:
        return []
    n = min(count, len(z))
    pairs = list(z.order.islice(len(z) - n, len(z), reverse=True)) if highest else \
        list(z.order.islice(0, n))
    for _, m in pairs:
        z.remove(m)
    store.drop_if_empty(key, z)
    return pairs


def _zpop(c: Any, argv: list[bytes], highest: bool) -> Any:
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    count = 1
    if len(argv) == 3:
        count = to_int(argv[2], MUST_BE_POSITIVE)
        if count < 0:
            raise CommandError(MUST_BE_POSITIVE)
    pairs = pop(c.store, argv[1], count, highest)
    if not pairs:
        c.effects = []
        return []
    if len(argv) == 2 and c.proto == 3:
        return [pairs[0][1], pairs[0][0]]
    return with_scores(c, pairs)


@command("ZPOPMIN", -2, "write fast", keys=(1, 1, 1))
def zpopmin(c: Any, argv: list[bytes]) -> Any:
    return _zpop(c, argv, False)


@command("ZPOPMAX", -2, "write fast", keys=(1, 1, 1))
def zpopmax(c: Any, argv: list[bytes]) -> Any:
    return _zpop(c, argv, True)


def _bzpop(c: Any, argv: list[bytes], highest: bool) -> Any:
    keys = argv[1:-1]
    timeout = parse_timeout(argv[-1])
    name = b"ZPOPMAX" if highest else b"ZPOPMIN"
    for key in keys:
        pairs = pop(c.store, key, 1, highest)
        if pairs:
            c.effects = [[name, key]]
            return [key, pairs[0][1], pairs[0][0]]

    def serve(store: Database, key: bytes) -> Any:
        got = pop(store, key, 1, highest)
        if not got:
            return None
        return [key, got[0][1], got[0][0]], [[name, key]]
    return block_or_timeout(c, keys, timeout, serve)


@command("BZPOPMIN", -3, "write blocking", keys=(1, -2, 1))
def bzpopmin(c: Any, argv: list[bytes]) -> Any:
    return _bzpop(c, argv, False)


@command("BZPOPMAX", -3, "write blocking", keys=(1, -2, 1))
def bzpopmax(c: Any, argv: list[bytes]) -> Any:
    return _bzpop(c, argv, True)


@command("ZRANDMEMBER", -2, "read", keys=(1, 1, 1))
def zrandmember(c: Any, argv: list[bytes]) -> Any:
    if len(argv) == 2:
        z = _zset(c.store, argv[1])
        return random.choice(list(z.scores)) if z else None
    count = to_ranged(argv[2], -INT64_MAX, INT64_MAX)  # parsed before the key, as Redis does
    withscores = False
    if len(argv) > 4 or (len(argv) == 4 and argv[3].upper() != b"WITHSCORES"):
        raise CommandError(SYNTAX)
    if len(argv) == 4:
        withscores = True
        if not -(INT64_MAX // 2) <= count <= INT64_MAX // 2:
            raise CommandError("ERR value is out of range")
    z = _zset(c.store, argv[1])
    if not z:
        return []
    if not withscores:
        return picks(c, list(z.scores), count, lambda m: [m], True)
    scores = z.scores
    if c.proto == 3:
        return picks(c, list(scores), count, lambda m: [m, scores[m]], False)
    return picks(c, list(scores), count, lambda m: [m, format_double(scores[m]).encode()], True)


def _zstore(c: Any, argv: list[bytes], inter: bool) -> Any:
    result = zcombine(c, argv, 2, "inter" if inter else "union")
    store = c.store
    store.delete(argv[1])
    if result:
        z = ZSet()
        for m, s in result.items():
            z.add(m, s)
        store.set(argv[1], z)
    return len(result)


def zcombine(c: Any, argv: list[bytes], at: int, op: str, withscores: list[bool] | None = None
             ) -> dict[bytes, float]:
    """member -> score of ZUNION/ZINTER/ZDIFF (``op``) over ``numkeys key...`` at ``argv[at]``
    with WEIGHTS / AGGREGATE (not for diff) and, when ``withscores`` is given, WITHSCORES."""
    numkeys = to_int(argv[at])
    if numkeys <= 0:
        name = argv[0].decode().lower()
        raise CommandError(f"ERR at least 1 input key is needed for '{name}' command")
    keys = argv[at + 1:at + 1 + numkeys]
    if len(keys) < numkeys:
        raise CommandError(SYNTAX)
    store = c.store  # the keys' types are checked before the options, as Redis does
    sources: list[dict[bytes, float]] = []
    for key in keys:
        value = store.get(key)
        if value is None:
            sources.append({})
        elif type(value) is ZSet:
            sources.append(value.scores)
        elif type(value) is set:
            sources.append({m: 1.0 for m in value})
        else:
            from ..errors import WRONGTYPE
            raise CommandError(WRONGTYPE)
    weights = [1.0] * numkeys
    aggregate = b"SUM"
    i = at + 1 + numkeys
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"WITHSCORES" and withscores is not None:
            withscores.append(True)
            i += 1
        elif op == "diff":
            raise CommandError(SYNTAX)
        elif opt == b"WEIGHTS" and i + numkeys < len(argv):
            weights = [to_float(w, "ERR weight value is not a float")
                       for w in argv[i + 1:i + 1 + numkeys]]
            i += numkeys + 1
        elif opt == b"AGGREGATE" and i + 1 < len(argv) \
                and argv[i + 1].upper() in (b"SUM", b"MIN", b"MAX"):
            aggregate = argv[i + 1].upper()
            i += 2
        else:
            raise CommandError(SYNTAX)
    result: dict[bytes, float] = {}
    if op == "diff":
        first = sources[0]
        return {m: s for m, s in first.items() if not any(m in src for src in sources[1:])}
    inter = op == "inter"
    members = set(sources[0]).intersection(*sources[1:]) if inter else set().union(*sources)
    for m in members:
        acc: float | None = None
        for src, w in zip(sources, weights, strict=False):
            if m in src:
                v = src[m] * w if w else 0.0
                if math.isnan(v):
                    v = 0.0
                if acc is None:
                    acc = v
                elif aggregate == b"SUM":
                    acc = acc + v
                    if math.isnan(acc):
                        acc = 0.0
                elif aggregate == b"MIN":
                    acc = min(acc, v)
                else:
                    acc = max(acc, v)
        result[m] = acc if acc is not None else 0.0
    return result


def _store_keys(argv: list[bytes]) -> list[bytes]:
    return [argv[1], *numkeys_fn(2)(argv)]


@command("ZUNIONSTORE", -4, "write", key_fn=_store_keys)
def zunionstore(c: Any, argv: list[bytes]) -> Any:
    return _zstore(c, argv, False)


@command("ZINTERSTORE", -4, "write", key_fn=_store_keys)
def zinterstore(c: Any, argv: list[bytes]) -> Any:
    return _zstore(c, argv, True)


@command("ZSCAN", -3, "read", keys=(1, 1, 1))
def zscan(c: Any, argv: list[bytes]) -> Any:
    cursor, pattern, count, _, _ = parse_scan(argv, 2)
    z = _zset(c.store, argv[1])
    items = list(z.scores.items()) if z else []
    nxt, page = scan_page(items, cursor, count, key=lambda kv: kv[0])
    out: list[Any] = []
    from ..protocol import format_double
    for m, s in page:
        if pattern is None or glob_match(pattern, m):
            out.extend((m, format_double(s).encode()))
    return [str(nxt).encode(), out]


__all__ = ["COMMANDS", "NOT_FLOAT"]


ZSET_SIDES = {b"MIN": False, b"MAX": True}


def _mpop_first(store: Database, keys: list[bytes], highest: bool, count: int) -> Any:
    """(key, pairs) popped from the first non-empty sorted set among ``keys``, or None."""
    for key in keys:
        pairs = pop(store, key, count, highest)
        if pairs:
            return key, pairs
    return None


def _mpop_reply(c: Any, key: bytes, pairs: list[tuple[float, bytes]]) -> Any:
    return [key, [[m, s if c.proto == 3 else format_double(s).encode()] for s, m in pairs]]


def _mpop_effect(key: bytes, highest: bool, n: int) -> list[bytes]:
    return [b"ZPOPMAX" if highest else b"ZPOPMIN", key, str(n).encode()]


@command("ZMPOP", -4, "write", key_fn=numkeys_fn(1))
def zmpop(c: Any, argv: list[bytes]) -> Any:
    from .lists import parse_mpop
    keys, highest, count = parse_mpop(argv, 1, ZSET_SIDES)
    found = _mpop_first(c.store, keys, highest, count)
    if found is None:
        c.effects = []
        from ..protocol import NULL_ARRAY
        return NULL_ARRAY
    c.effects = [_mpop_effect(found[0], highest, len(found[1]))]
    return _mpop_reply(c, *found)


@command("BZMPOP", -5, "write blocking", key_fn=numkeys_fn(2))
def bzmpop(c: Any, argv: list[bytes]) -> Any:
    from .lists import parse_mpop
    timeout = parse_timeout(argv[1])
    keys, highest, count = parse_mpop(argv, 2, ZSET_SIDES)
    found = _mpop_first(c.store, keys, highest, count)
    if found is not None:
        c.effects = [_mpop_effect(found[0], highest, len(found[1]))]
        return _mpop_reply(c, *found)
    proto = c.proto

    def serve(store: Database, key: bytes) -> Any:
        got = pop(store, key, count, highest)
        if not got:
            return None
        pairs = [[m, s if proto == 3 else format_double(s).encode()] for s, m in got]
        return [key, pairs], [_mpop_effect(key, highest, len(got))]
    return block_or_timeout(c, keys, timeout, serve)


def _zreply(c: Any, argv: list[bytes], op: str) -> Any:
    flag: list[bool] = []
    result = zcombine(c, argv, 1, op, flag)
    pairs = sorted((s, m) for m, s in result.items())
    return with_scores(c, pairs) if flag else [m for _, m in pairs]


@command("ZUNION", -3, "read", key_fn=numkeys_fn(1))
def zunion(c: Any, argv: list[bytes]) -> Any:
    return _zreply(c, argv, "union")


@command("ZINTER", -3, "read", key_fn=numkeys_fn(1))
def zinter(c: Any, argv: list[bytes]) -> Any:
    return _zreply(c, argv, "inter")


@command("ZDIFF", -3, "read", key_fn=numkeys_fn(1))
def zdiff(c: Any, argv: list[bytes]) -> Any:
    return _zreply(c, argv, "diff")


@command("ZDIFFSTORE", -4, "write", key_fn=_store_keys)
def zdiffstore(c: Any, argv: list[bytes]) -> Any:
    result = zcombine(c, argv, 2, "diff")
    store = c.store
    store.delete(argv[1])
    if result:
        z = ZSet()
        for m, s in result.items():
            z.add(m, s)
        store.set(argv[1], z)
    return len(result)
