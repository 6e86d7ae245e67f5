"""List commands, including the blocking pops (BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP)."""
from __future__ import annotations

import math
from typing import Any

from ..errors import (
    INDEX_RANGE,
    MUST_BE_POSITIVE,
    NO_SUCH_KEY,
    SYNTAX,
    TIMEOUT_NEGATIVE,
    TIMEOUT_NOT_FLOAT,
    WRONGTYPE,
    CommandError,
)
from ..keyspace import Database
from ..protocol import NULL_ARRAY, OK
from ..qlist import QList
from .base import INT64_MAX, Command, numkeys_fn, registrar, to_int, to_ranged

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


MAX_WAIT = 10 ** 9  # seconds; a longer timeout waits as long as 0 (forever) does


def parse_timeout(raw: bytes) -> float:
    """A blocking timeout in seconds (0 = forever). As Redis 7, a value whose milliseconds do
    not fit int64 (huge, or infinite) is "negative": Redis' conversion wraps around."""
    try:
        value = float(raw)
    except ValueError:
        raise CommandError(TIMEOUT_NOT_FLOAT) from None
    if math.isnan(value) or raw.strip() != raw or b"_" in raw:
        raise CommandError(TIMEOUT_NOT_FLOAT)
    # (Redis computes in long double: an integer is compared exactly)
    millis = int(raw) * 1000 if raw.isdigit() else value * 1000
    if value < 0 or millis >= 2 ** 63:
        raise CommandError(TIMEOUT_NEGATIVE)
    return 0.0 if value > MAX_WAIT else value


def _list(store: Database, key: bytes) -> QList | None:
    return store.get_typed(key, QList)


def _push(c: Any, argv: list[bytes], left: bool, only_existing: bool) -> int:
    store = c.store
    key = argv[1]
    items = store.data.get(key)
    if items is None or (store.expires and key in store.expires):
        items = _list(store, key)
    elif type(items) is not QList:
        raise CommandError(WRONGTYPE)
    if items is None:
        if only_existing:
            c.effects = []
            return 0
        items = store.data[key] = QList()
    if left:
        items.extendleft(argv[2:])
    else:
        items.extend(argv[2:])
    return len(items)


@command("LPUSH", -3, "write fast", keys=(1, 1, 1))
def lpush(c: Any, argv: list[bytes]) -> Any:
    return _push(c, argv, True, False)


@command("RPUSH", -3, "write fast", keys=(1, 1, 1))
def rpush(c: Any, argv: list[bytes]) -> Any:
    return _push(c, argv, False, False)


@command("LPUSHX", -3, "write fast", keys=(1, 1, 1))
def lpushx(c: Any, argv: list[bytes]) -> Any:
    return _push(c, argv, True, True)


@command("RPUSHX", -3, "write fast", keys=(1, 1, 1))
def rpushx(c: Any, argv: list[bytes]) -> Any:
    return _push(c, argv, False, True)


def _pop(c: Any, argv: list[bytes], left: bool) -> Any:
    if len(argv) > 3:
        name = argv[0].decode().lower()
        raise CommandError(f"ERR wrong number of arguments for '{name}' command")
    count: int | None = None
    if len(argv) == 3:
        count = to_int(argv[2], MUST_BE_POSITIVE)
        if count < 0:
            raise CommandError(MUST_BE_POSITIVE)
    store = c.store
    items = store.data.get(argv[1])
    if items is None or store.expires or type(items) is not QList:
        items = _list(store, argv[1])  # lazy expiry, WRONGTYPE
    if items is None:
        c.effects = []
        return None if count is None else NULL_ARRAY
    if count is None:
        value = items.popleft() if left else items.pop()
        if not items:
            store.delete(argv[1])
        return value
    if count == 0:
        c.effects = []
        return []
    out = [items.popleft() if left else items.pop() for _ in range(min(count, len(items)))]
    if not items:
        store.delete(argv[1])
    return out


@command("LPOP", -2, "write fast", keys=(1, 1, 1))
def lpop(c: Any, argv: list[bytes]) -> Any:
    return _pop(c, argv, True)


@command("RPOP", -2, "write fast", keys=(1, 1, 1))
def rpop(c: Any, argv: list[bytes]) -> Any:
    return _pop(c, argv, False)


@command("LLEN", 2, "read fast", keys=(1, 1, 1))
def llen(c: Any, argv: list[bytes]) -> Any:
    return len(_list(c.store, argv[1]) or ())


def _norm_range(start: int, end: int, n: int) -> tuple[int, int]:
    if start < 0:
        start = max(0, n + start)
    if end < 0:
        end = n + end
    return start, min(end, n - 1)


@command("LRANGE", 4, "read", keys=(1, 1, 1))
def lrange(c: Any, argv: list[bytes]) -> Any:
    start, end = to_int(argv[2]), to_int(argv[3])
    items = _list(c.store, argv[1])
    if not items:
        return []
    start, end = _norm_range(start, end, len(items))
    if start > end:
        return []
    return items.slice(start, end + 1)


@command("LINDEX", 3, "read", keys=(1, 1, 1))
def lindex(c: Any, argv: list[bytes]) -> Any:
    items = _list(c.store, argv[1])  # Redis looks the key up before parsing the index
    if not items:
        return None
    index = to_int(argv[2])
    if index >= len(items) or index < -len(items):
        return None
    return items[index]


@command("LSET", 4, "write", keys=(1, 1, 1))
def lset(c: Any, argv: list[bytes]) -> Any:
    items = _list(c.store, argv[1])
    if items is None:
        raise CommandError(NO_SUCH_KEY)
    index = to_int(argv[2])
    if index >= len(items) or index < -len(items):
        raise CommandError(INDEX_RANGE)
    items[index] = argv[3]
    return OK


@command("LREM", 4, "write", keys=(1, 1, 1))
def lrem(c: Any, argv: list[bytes]) -> Any:
    count = to_int(argv[2])
    value = argv[3]
    items = _list(c.store, argv[1])
    if not items:
        c.effects = []
        return 0
    seq = list(items) if count >= 0 else list(reversed(items))
    limit = abs(count) or len(seq)
    kept: list[bytes] = []
    removed = 0
    for item in seq:
        if item == value and removed < limit:
            removed += 1
        else:
            kept.append(item)
    if count < 0:
        kept.reverse()
    if removed:
        items.clear()
        items.extend(kept)
    c.store.drop_if_empty(argv[1], items)
    if not removed:
        c.effects = []
    return removed


@command("LTRIM", 4, "write", keys=(1, 1, 1))
def ltrim(c: Any, argv: list[bytes]) -> Any:
    start, end = to_int(argv[2]), to_int(argv[3])
    items = _list(c.store, argv[1])
    if items is None:
        return OK
    start, end = _norm_range(start, end, len(items))
    if start <= end:
        items.keep(start, end + 1)
    else:
        items.clear()
    c.store.drop_if_empty(argv[1], items)
    return OK


@command("LINSERT", 5, "write", keys=(1, 1, 1))
def linsert(c: Any, argv: list[bytes]) -> Any:
    where = argv[2].upper()
    if where not in (b"BEFORE", b"AFTER"):
        raise CommandError(SYNTAX)
    items = _list(c.store, argv[1])
    if items is None:
        c.effects = []
        return 0
    try:
        i = items.index(argv[3])
    except ValueError:
        c.effects = []
        return -1
    items.insert(i if where == b"BEFORE" else i + 1, argv[4])
    return len(items)


@command("LPOS", -3, "read", keys=(1, 1, 1))
def lpos(c: Any, argv: list[bytes]) -> Any:
    rank, count, maxlen = 1, None, 0
    i = 3
    while i < len(argv):
        opt = argv[i].upper()
        if i + 1 >= len(argv):
            raise CommandError(SYNTAX)
        if opt == b"RANK":
            rank = to_ranged(argv[i + 1], -INT64_MAX, INT64_MAX)  # (Redis 7.2; 7.0 overflows)
            if rank == 0:
                raise CommandError("ERR RANK can't be zero: use 1 to start from the first match, "
                                   "2 from the second ... or use negative to start from the end "
                                   "of the list")
        elif opt == b"COUNT":
            count = to_int(argv[i + 1], "ERR COUNT can't be negative")  # Redis' text
            if count < 0:
                raise CommandError("ERR COUNT can't be negative")
        elif opt == b"MAXLEN":
            maxlen = to_int(argv[i + 1], "ERR MAXLEN can't be negative")
            if maxlen < 0:
                raise CommandError("ERR MAXLEN can't be negative")
        else:
            raise CommandError(SYNTAX)
        i += 2
    items = _list(c.store, argv[1])
    if not items:
        return None if count is None else []
    n = len(items)
    skip = abs(rank) - 1
    found: list[int] = []
    want = count if count else n
    walk = iter(items) if rank > 0 else reversed(items)
    for checked, item in enumerate(walk):
        if maxlen and checked >= maxlen:
            break
        if item == argv[2]:
            idx = checked if rank > 0 else n - 1 - checked
            if skip:
                skip -= 1
                continue
            found.append(idx)
            if len(found) >= want:
                break
    if count is None:
        return found[0] if found else None
    return found


def _side(raw: bytes) -> bool:
    side = raw.upper()
    if side not in (b"LEFT", b"RIGHT"):
        raise CommandError(SYNTAX)
    return side == b"LEFT"


def move(store: Database, src: bytes, dst: bytes, from_left: bool, to_left: bool) -> bytes | None:
    """Pop from ``src`` and push onto ``dst`` (WRONGTYPE checked before anything moves)."""
    items = _list(store, src)
    if not items:
        return None
    target = _list(store, dst)
    value = items.popleft() if from_left else items.pop()
    if target is None:
        target = QList()
        store.data[dst] = target
    if to_left:
        target.appendleft(value)
    else:
        target.append(value)
    if not items and src != dst:
        store.delete(src)
    return value


def _move_effect(src: bytes, dst: bytes, from_left: bool, to_left: bool) -> list[bytes]:
    return [b"LMOVE", src, dst, b"LEFT" if from_left else b"RIGHT",
            b"LEFT" if to_left else b"RIGHT"]


@command("LMOVE", 5, "write", keys=(1, 2, 1))
def lmove(c: Any, argv: list[bytes]) -> Any:
    from_left, to_left = _side(argv[3]), _side(argv[4])
    value = move(c.store, argv[1], argv[2], from_left, to_left)
    if value is None:
        c.effects = []
    return value


@command("RPOPLPUSH", 3, "write", keys=(1, 2, 1))
def rpoplpush(c: Any, argv: list[bytes]) -> Any:
    value = move(c.store, argv[1], argv[2], False, True)
    c.effects = [] if value is None else [_move_effect(argv[1], argv[2], False, True)]
    return value


def pop_first(store: Database, keys: list[bytes], left: bool, count: int | None) -> Any:
    """(key, popped) from the first non-empty list among ``keys``, or None."""
    for key in keys:
        items = _list(store, key)
        if items:
            n = 1 if count is None else min(count, len(items))
            popped = [items.popleft() if left else items.pop() for _ in range(n)]
            if not items:
                store.delete(key)
            return key, popped
    return None


def _pop_effect(key: bytes, left: bool, count: int | None) -> list[bytes]:
    effect = [b"LPOP" if left else b"RPOP", key]
    if count is not None:
        effect.append(str(count).encode())
    return effect


def parse_mpop(argv: list[bytes], start: int, sides: dict[bytes, bool]
               ) -> tuple[list[bytes], bool, int]:
    """keys, side, count from ``numkeys key... SIDE [COUNT n]`` at ``argv[start]``."""
    numkeys = to_int(argv[start], NUMKEYS_POSITIVE)
    if numkeys <= 0:
        raise CommandError(NUMKEYS_POSITIVE)
    keys = argv[start + 1:start + 1 + numkeys]
    rest = argv[start + 1 + numkeys:]
    if len(keys) < numkeys or not rest:
        raise CommandError(SYNTAX)
    side = rest[0].upper()
    if side not in sides:
        raise CommandError(SYNTAX)
    count = 1
    if len(rest) == 3 and rest[1].upper() == b"COUNT":
        count = to_int(rest[2], COUNT_POSITIVE)
        if count <= 0:
            raise CommandError(COUNT_POSITIVE)
    elif len(rest) != 1:
        raise CommandError(SYNTAX)
    return keys, sides[side], count


NUMKEYS_POSITIVE = "ERR numkeys should be greater than 0"
COUNT_POSITIVE = "ERR count should be greater than 0"
LIST_SIDES = {b"LEFT": True, b"RIGHT": False}


@command("LMPOP", -4, "write", key_fn=numkeys_fn(1))
def lmpop(c: Any, argv: list[bytes]) -> Any:
    keys, left, count = parse_mpop(argv, 1, LIST_SIDES)
    found = pop_first(c.store, keys, left, count)
    if found is None:
        c.effects = []
        return NULL_ARRAY
    c.effects = [_pop_effect(found[0], left, len(found[1]))]
    return [found[0], found[1]]
