"""Sorted set commands: ZADD ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) ZPOP* BZPOP* ZUNIONSTORE ..."""
from __future__ import annotations

import math
import random
from typing import Any

from ..engine import block_or_timeout
from ..errors import (CommandError, MIN_MAX_FLOAT, MIN_MAX_LEX, MUST_BE_POSITIVE, NAN_SCORE,
                      NOT_FLOAT, SYNTAX, ZADD_GT_LT_NX, ZADD_INCR_PAIR, ZADD_NX_XX)
from ..keyspace import Database, ZSet
from .base import Command, glob_match, numkeys_fn, registrar, to_float, to_int
from .keys import parse_scan, scan_page
from .lists import parse_timeout

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

INF = math.inf


def _zset(store: Database, key: bytes) -> ZSet | None:
    return store.get_typed(key, ZSet)  # type: ignore[no-any-return]


def with_scores(c: Any, pairs: list[tuple[float, bytes]]) -> list[Any]:
    """RESP3: [[member, score], ...]; RESP2: [member, score, ...]."""
    if c.proto == 3:
        return [[m, s] for s, m in pairs]
    return [x for s, m in pairs for x in (m, s)]


@command("ZADD", -4, "write fast", keys=(1, 1, 1))
def zadd(c: Any, argv: list[bytes]) -> Any:
    flags: set[bytes] = set()
    i = 2
    while i < len(argv) and argv[i].upper() in (b"NX", b"XX", b"GT", b"LT", b"CH", b"INCR"):
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
        if old is not None and ((b"GT" in flags and score <= old) or (b"LT" in flags and score >= old)):
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


# ---- ranges ------------------------------------------------------------------------------------
def parse_score_bound(raw: bytes) -> tuple[float, bool]:
    """(value, inclusive) from ``1.5``, ``(1.5``, ``-inf``, ``+inf``."""
    inclusive = not raw.startswith(b"(")
    text = raw if inclusive else raw[1:]
    try:
        value = to_float(text, MIN_MAX_FLOAT)
    except CommandError:
        raise CommandError(MIN_MAX_FLOAT) from None
    return value, inclusive


def score_slice(z: ZSet, lo: tuple[float, bool], hi: tuple[float, bool]) -> tuple[int, int]:
    """Index range [start, stop) of members with lo <= score <= hi (bounds may be exclusive)."""
    order = z.order
    lv, linc = lo
    hv, hinc = hi
    if lv == -INF and linc:
        start = 0
    elif lv == INF and not linc:
        start = len(order)
    else:
        start = order.bisect_left((lv,) if linc else (math.nextafter(lv, INF),))
    if hv == INF and hinc:
        stop = len(order)
    else:
        stop = order.bisect_left((math.nextafter(hv, INF),) if hinc else (hv,))
    return start, max(start, stop)


def parse_lex_bound(raw: bytes) -> tuple[bytes | None, bool, int]:
    """(value, inclusive, infinity) where infinity is -1 for '-', +1 for '+', 0 otherwise."""
    if raw == b"-":
        return None, True, -1
    if raw == b"+":
        return None, True, 1
    if raw[:1] == b"[":
        return raw[1:], True, 0
    if raw[:1] == b"(":
        return raw[1:], False, 0
    raise CommandError(MIN_MAX_LEX)


def lex_slice(z: ZSet, lo: tuple[bytes | None, bool, int], hi: tuple[bytes | None, bool, int]
              ) -> tuple[int, int]:
    order = z.order
    if not order:
        return 0, 0
    score = order[0][0]  # lex ranges assume one score, as Redis documents

    def position(bound: tuple[bytes | None, bool, int], is_low: bool) -> int:
        value, inclusive, infinity = bound
        if infinity < 0:
            return 0
        if infinity > 0:
            return len(order)
        if is_low:
            return order.bisect_left((score, value)) if inclusive else order.bisect_right((score, value))
        return order.bisect_right((score, value)) if inclusive else order.bisect_left((score, value))
    start, stop = position(lo, True), position(hi, False)
    return start, max(start, stop)


def zrange_generic(c: Any, key: bytes, a: bytes, b: bytes, by: str, rev: bool,
                   limit: tuple[int, int] | None, withscores: bool) -> Any:
    if by == "score":
        lo, hi = (parse_score_bound(b), parse_score_bound(a)) if rev else \
            (parse_score_bound(a), parse_score_bound(b))
    elif by == "lex":
        lo, hi = (parse_lex_bound(b), parse_lex_bound(a)) if rev else \
            (parse_lex_bound(a), parse_lex_bound(b))
    else:
        start, end = to_int(a), to_int(b)
    z = _zset(c.store, key)  # after the arguments: Redis reports a bad range first
    if z is None:
        return []
    n = len(z)
    if by == "rank":
        if start < 0:
            start = max(0, n + start)
        if end < 0:
            end = n + end
        end = min(end, n - 1)
        if start > end:
            return []
        if rev:
            first, last = n - 1 - end, n - 1 - start
            pairs = list(z.order.islice(first, last + 1, reverse=True))
        else:
            pairs = list(z.order.islice(start, end + 1))
    else:
        i, j = score_slice(z, lo, hi) if by == "score" else lex_slice(z, lo, hi)  # type: ignore[arg-type]
        if limit is not None:
            offset, count = limit
            if offset < 0:
                return []
            if rev:
                hi_i = j - offset
                lo_i = i if count < 0 else max(i, hi_i - count)
                pairs = list(z.order.islice(lo_i, max(lo_i, hi_i), reverse=True))
            else:
                lo_i = i + offset
                hi_i = j if count < 0 else min(j, lo_i + count)
                pairs = list(z.order.islice(lo_i, max(lo_i, hi_i)))
        else:
            pairs = list(z.order.islice(i, j, reverse=rev))
    if withscores:
        return with_scores(c, pairs)
    return [m for _, m in pairs]


def parse_range_options(argv: list[bytes], start: int, allow_by: bool
                        ) -> tuple[str | None, bool, tuple[int, int] | None, bool]:
    by: str | None = None
    rev = withscores = False
    limit = None
    i = start
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"WITHSCORES":
            withscores = True
        elif opt == b"REV" and allow_by:
            rev = True
        elif opt == b"BYSCORE" and allow_by:
            by = "score"
        elif opt == b"BYLEX" and allow_by:
            by = "lex"
        elif opt == b"LIMIT" and i + 2 < len(argv):
            limit = (to_int(argv[i + 1]), to_int(argv[i + 2]))
            i += 2
        else:
            raise CommandError(SYNTAX)
        i += 1
    return by, rev, limit, withscores


@command("ZRANGE", -4, "read", keys=(1, 1, 1))
def zrange(c: Any, argv: list[bytes]) -> Any:
    by, rev, limit, withscores = parse_range_options(argv, 4, True)
    if limit is not None and by is None:
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX")
    if withscores and by == "lex":
        raise CommandError("ERR syntax error, WITHSCORES not supported in combination with BYLEX")
    return zrange_generic(c, argv[1], argv[2], argv[3], by or "rank", rev, limit, withscores)


@command("ZREVRANGE", -4, "read", keys=(1, 1, 1))
def zrevrange(c: Any, argv: list[bytes]) -> Any:
    _, _, limit, withscores = parse_range_options(argv, 4, False)
    if limit is not None:
        raise CommandError(SYNTAX)
    return zrange_generic(c, argv[1], argv[2], argv[3], "rank", True, None, withscores)


@command("ZRANGEBYSCORE", -4, "read", keys=(1, 1, 1))
def zrangebyscore(c: Any, argv: list[bytes]) -> Any:
    _, _, limit, withscores = parse_range_options(argv, 4, False)
    return zrange_generic(c, argv[1], argv[2], argv[3], "score", False, limit, withscores)


@command("ZREVRANGEBYSCORE", -4, "read", keys=(1, 1, 1))
def zrevrangebyscore(c: Any, argv: list[bytes]) -> Any:
    _, _, limit, withscores = parse_range_options(argv, 4, False)
    return zrange_generic(c, argv[1], argv[2], argv[3], "score", True, limit, withscores)


@command("ZRANGEBYLEX", -4, "read", keys=(1, 1, 1))
def zrangebylex(c: Any, argv: list[bytes]) -> Any:
    _, _, limit, withscores = parse_range_options(argv, 4, False)
    if withscores:
        raise CommandError(SYNTAX)
    return zrange_generic(c, argv[1], argv[2], argv[3], "lex", False, limit, False)


@command("ZREVRANGEBYLEX", -4, "read", keys=(1, 1, 1))
def zrevrangebylex(c: Any, argv: list[bytes]) -> Any:
    _, _, limit, withscores = parse_range_options(argv, 4, False)
    if withscores:
        raise CommandError(SYNTAX)
    return zrange_generic(c, argv[1], argv[2], argv[3], "lex", True, limit, False)


@command("ZCOUNT", 4, "read fast", keys=(1, 1, 1))
def zcount(c: Any, argv: list[bytes]) -> Any:
    lo, hi = parse_score_bound(argv[2]), parse_score_bound(argv[3])
    z = _zset(c.store, argv[1])
    if z is None:
        return 0
    i, j = score_slice(z, lo, hi)
    return j - i


@command("ZLEXCOUNT", 4, "read fast", keys=(1, 1, 1))
def zlexcount(c: Any, argv: list[bytes]) -> Any:
    lo, hi = parse_lex_bound(argv[2]), parse_lex_bound(argv[3])
    z = _zset(c.store, argv[1])
    if z is None:
        return 0
    i, j = lex_slice(z, lo, hi)
    return j - i


def _rank(c: Any, argv: list[bytes], rev: bool) -> Any:
    withscore = False
    if len(argv) == 4:
        if argv[3].upper() != b"WITHSCORE":
            raise CommandError(SYNTAX)
        withscore = True
    elif len(argv) > 4:
        raise CommandError(SYNTAX)
    z = _zset(c.store, argv[1])
    r = None if z is None else z.rank(argv[2])
    if r is None:
        return None
    if rev:
        r = len(z) - 1 - r  # type: ignore[arg-type]
    return [r, z.scores[argv[2]]] if withscore else r  # type: ignore[union-attr]


@command("ZRANK", 3, "read fast", keys=(1, 1, 1))
def zrank(c: Any, argv: list[bytes]) -> Any:
    return _rank(c, argv, False)


@command("ZREVRANK", 3, "read fast", keys=(1, 1, 1))
def zrevrank(c: Any, argv: list[bytes]) -> Any:
    return _rank(c, argv, True)


def _remove_slice(c: Any, key: bytes, z: ZSet, i: int, j: int) -> int:
    victims = list(z.order.islice(i, j))
    for _, m in victims:
        z.remove(m)
    c.store.drop_if_empty(key, z)
    if not victims:
        c.effects = []
    return len(victims)


@command("ZREMRANGEBYSCORE", 4, "write", keys=(1, 1, 1))
def zremrangebyscore(c: Any, argv: list[bytes]) -> Any:
    lo, hi = parse_score_bound(argv[2]), parse_score_bound(argv[3])
    z = _zset(c.store, argv[1])
    if z is None:
        c.effects = []
        return 0
    return _remove_slice(c, argv[1], z, *score_slice(z, lo, hi))


@command("ZREMRANGEBYLEX", 4, "write", keys=(1, 1, 1))
def zremrangebylex(c: Any, argv: list[bytes]) -> Any:
    lo, hi = parse_lex_bound(argv[2]), parse_lex_bound(argv[3])
    z = _zset(c.store, argv[1])
    if z is None:
        c.effects = []
        return 0
    return _remove_slice(c, argv[1], z, *lex_slice(z, lo, hi))


@command("ZREMRANGEBYRANK", 4, "write", keys=(1, 1, 1))
def zremrangebyrank(c: Any, argv: list[bytes]) -> Any:
    start, end = to_int(argv[2]), to_int(argv[3])
    z = _zset(c.store, argv[1])
    if z is None:
        c.effects = []
        return 0
    n = len(z)
    if start < 0:
        start = max(0, n + start)
    if end < 0:
        end = n + end
    end = min(end, n - 1)
    if start > end:
        c.effects = []
        return 0
    return _remove_slice(c, argv[1], z, start, end + 1)


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
    z = _zset(c.store, argv[1])
    if len(argv) == 2:
        return random.choice(list(z.scores)) if z else None
    count = to_int(argv[2])
    withscores = False
    if len(argv) == 4 and argv[3].upper() == b"WITHSCORES":
        withscores = True
    elif len(argv) > 3:
        raise CommandError(SYNTAX)
    if not z:
        return []
    members = list(z.scores)
    chosen = random.sample(members, min(count, len(members))) if count >= 0 else \
        [random.choice(members) for _ in range(-count)]
    if withscores:
        return with_scores(c, [(z.scores[m], m) for m in chosen])
    return chosen


def _zstore(c: Any, argv: list[bytes], inter: bool) -> Any:
    numkeys = to_int(argv[2])
    if numkeys <= 0:
        raise CommandError(f"ERR at least 1 input key is needed for '{argv[0].decode().lower()}' command")
    keys = argv[3:3 + numkeys]
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
    i = 3 + numkeys
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"WEIGHTS" and i + numkeys < len(argv):
            weights = [to_float(w, "ERR weight value is not a float") for w in argv[i + 1:i + 1 + numkeys]]
            i += numkeys + 1
        elif opt == b"AGGREGATE" and i + 1 < len(argv) and argv[i + 1].upper() in (b"SUM", b"MIN", b"MAX"):
            aggregate = argv[i + 1].upper()
            i += 2
        else:
            raise CommandError(SYNTAX)
    result: dict[bytes, float] = {}
    members = set(sources[0]).intersection(*sources[1:]) if inter else set().union(*sources)
    for m in members:
        acc: float | None = None
        for src, w in zip(sources, weights):
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
    store.delete(argv[1])
    if result:
        z = ZSet()
        for m, s in result.items():
            z.add(m, s)
        store.set(argv[1], z)
    return len(result)


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
