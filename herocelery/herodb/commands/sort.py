"""SORT and SORT_RO (BY, LIMIT, GET, ASC|DESC, ALPHA, STORE) as Redis 7.0 sorts.

Elements of a list, set or sorted set compare as doubles (ALPHA: as bytes), ties broken by
the element itself so the order is deterministic; `BY pattern` sorts by other keys' values
(`*` is replaced by the element; `key->field` reads a hash field; a pattern without `*` does
not sort), `GET pattern` returns other keys' values (`#` is the element). STORE writes the
result as a list (logged as DEL + RPUSH), which wakes clients blocked on it.
"""
from __future__ import annotations

import math
from functools import cmp_to_key
from typing import Any

from ..errors import SYNTAX, WRONGTYPE, CommandError
from ..keyspace import ZSet
from ..qlist import QList
from .base import Command, registrar, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

NOT_DOUBLE = "ERR One or more scores can't be converted into double"


def _sort_keys(argv: list[bytes]) -> list[bytes]:
    keys = [argv[1]]
    for i in range(2, len(argv) - 1):
        if argv[i].upper() == b"STORE":
            keys.append(argv[i + 1])
    return keys


def _lookup(store: Any, pattern: bytes, element: bytes) -> bytes | None:
    """The value `pattern` names for `element` (Redis' lookupKeyByPattern)."""
    if pattern == b"#":
        return element
    star = pattern.find(b"*")
    if star < 0:
        return None
    arrow = pattern.find(b"->", star + 1)
    field = None
    if arrow >= 0 and arrow + 2 < len(pattern):
        field = pattern[arrow + 2:]
        pattern = pattern[:arrow]
    key = pattern[:star] + element + pattern[star + 1:]
    value = store.get(key)
    if value is None:
        return None
    if field is not None:
        return value.get(field) if type(value) is dict else None
    return value if type(value) is bytes else None


def _double(raw: bytes) -> float:
    text = raw.lstrip(b" \t\n\r\f\v")  # strtod skips leading space, not trailing
    try:
        value = float(text)
    except ValueError:
        raise CommandError(NOT_DOUBLE) from None
    if math.isnan(value) or not text or text != text.rstrip() or b"_" in text:
        raise CommandError(NOT_DOUBLE)
    return value


def _sort(c: Any, argv: list[bytes], read_only: bool) -> Any:
    store = c.store
    by: bytes | None = None
    gets: list[bytes] = []
    offset, count = 0, -1
    desc = alpha = False
    dst: bytes | None = None
    i, n = 2, len(argv)
    while i < n:
        opt = argv[i].upper()
        left = n - i - 1
        if opt == b"ASC":
            desc = False
        elif opt == b"DESC":
            desc = True
        elif opt == b"ALPHA":
            alpha = True
        elif opt == b"LIMIT" and left >= 2:
            offset, count = to_int(argv[i + 1]), to_int(argv[i + 2])
            i += 2
        elif opt == b"STORE" and left >= 1 and not read_only:
            dst = argv[i + 1]
            i += 1
        elif opt == b"BY" and left >= 1:
            by = argv[i + 1]
            i += 1
        elif opt == b"GET" and left >= 1:
            gets.append(argv[i + 1])
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    value = store.get(argv[1])
    kind = type(value)
    if value is not None and kind not in (QList, set, ZSet):
        raise CommandError(WRONGTYPE)
    dontsort = by is not None and b"*" not in by
    if value is None:
        elements: list[bytes] = []
    elif kind is ZSet:
        elements = [m for _, m in value.order]
        if dontsort and desc:
            elements.reverse()
    else:
        elements = list(value)
        if dontsort and desc and kind is QList:
            elements.reverse()
    if dontsort and kind is set and (dst is not None or c.in_script):
        dontsort, alpha, by = False, True, None  # a set's order must be deterministic here
    if not dontsort:
        elements = _ordered(store, elements, by, alpha, desc)
    start = max(0, offset)
    stop = len(elements) if count < 0 else start + count
    chosen = elements[start:stop]
    if gets:
        result: list[bytes | None] = [_lookup(store, g, e) for e in chosen for g in gets]
    else:
        result = list(chosen)
    if dst is None:
        return result
    had = store.get(dst) is not None
    store.delete(dst)
    if result:
        store.set(dst, QList(x if x is not None else b"" for x in result))
        c.effects = [[b"DEL", dst], [b"RPUSH", dst, *(x if x is not None else b"" for x in result)]]
    else:
        c.effects = [[b"DEL", dst]] if had else []
    return len(result)


def _ordered(store: Any, elements: list[bytes], by: bytes | None, alpha: bool,
             desc: bool) -> list[bytes]:
    keyed: list[tuple[bytes, Any]]
    if by is None:
        keyed = [(e, e if alpha else _double(e)) for e in elements]
    else:
        keyed = []
        for e in elements:
            raw = _lookup(store, by, e)
            if alpha:
                keyed.append((e, raw))
            else:
                keyed.append((e, _double(raw) if raw is not None else 0.0))

    def compare(a: tuple[bytes, Any], b: tuple[bytes, Any]) -> int:
        x, y = a[1], b[1]
        if alpha and by is not None:
            if x is None or y is None:
                cmp = 0 if x is y else (-1 if x is None else 1)
            else:
                cmp = (x > y) - (x < y)
        else:
            cmp = (x > y) - (x < y)
        if cmp == 0 and not (alpha and by is not None):
            cmp = (a[0] > b[0]) - (a[0] < b[0])
        return -cmp if desc else cmp
    keyed.sort(key=cmp_to_key(compare))
    return [e for e, _ in keyed]


@command("SORT", -2, "write", key_fn=_sort_keys)
def sort(c: Any, argv: list[bytes]) -> Any:
    reply = _sort(c, argv, False)
    if c.effects is None:  # no STORE: a read, nothing to log
        c.effects = []
    return reply


@command("SORT_RO", -2, "read", keys=(1, 1, 1))
def sort_ro(c: Any, argv: list[bytes]) -> Any:
    return _sort(c, argv, True)
