"""Sorted set ranges: ZRANGE (BYSCORE BYLEX REV LIMIT WITHSCORES) and the older range forms,
ZCOUNT, ZLEXCOUNT, ZRANK, ZREMRANGEBY*; score and lex bounds parsed as Redis 7 does."""
from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

from ..errors import MIN_MAX_FLOAT, MIN_MAX_LEX, SYNTAX, CommandError
from ..keyspace import ZSet
from .base import Command, registrar, to_float, to_int
from .zsets import _zset, with_scores

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

INF = math.inf

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
        # (score, b"") sorts before every member of that score
        start = order.bisect_left((lv, b"") if linc else (math.nextafter(lv, INF), b""))
    if hv == INF and hinc:
        stop = len(order)
    else:
        stop = order.bisect_left((math.nextafter(hv, INF), b"") if hinc else (hv, b""))
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
        assert value is not None  # only the infinities '-' and '+' carry no value
        at = (score, value)
        if is_low:
            return order.bisect_left(at) if inclusive else order.bisect_right(at)
        return order.bisect_right(at) if inclusive else order.bisect_left(at)
    start, stop = position(lo, True), position(hi, False)
    return start, max(start, stop)


def zrange_generic(c: Any, key: bytes, a: bytes, b: bytes, by: str, rev: bool,
                   limit: tuple[int, int] | None, withscores: bool) -> Any:
    span: Callable[[ZSet], tuple[int, int]] | None = None  # by score or lex: the slice of z
    if by == "score":
        slo, shi = (parse_score_bound(b), parse_score_bound(a)) if rev else \
            (parse_score_bound(a), parse_score_bound(b))
        span = partial(score_slice, lo=slo, hi=shi)
    elif by == "lex":
        llo, lhi = (parse_lex_bound(b), parse_lex_bound(a)) if rev else \
            (parse_lex_bound(a), parse_lex_bound(b))
        span = partial(lex_slice, lo=llo, hi=lhi)
    else:
        start, end = to_int(a), to_int(b)
    z = _zset(c.store, key)  # after the arguments: Redis reports a bad range first
    if z is None:
        return []
    n = len(z)
    if span is None:
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
        i, j = span(z)
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
        raise CommandError("ERR syntax error, LIMIT is only supported in combination with either "
                           "BYSCORE or BYLEX")
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
