"""Key commands: DEL EXISTS TYPE EXPIRE... TTL PERSIST KEYS SCAN RENAME COPY MOVE OBJECT ..."""
from __future__ import annotations

import heapq
import random
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from sortedcontainers import SortedList

from ..errors import (
    DB_INDEX,
    EXPIRE_INVALID,
    NO_SUCH_KEY,
    SAME_OBJECT,
    SYNTAX,
    UNKNOWN_SUBCOMMAND,
    CommandError,
)
from ..keyspace import TYPE_NAMES, ZSet, now_ms
from ..protocol import OK
from ..qlist import QList
from ..stream import Stream
from .base import (
    INT32_MAX,
    INT32_MIN,
    INT64_MAX,
    INT64_MIN,
    Command,
    glob_match,
    registrar,
    to_int,
    to_ranged,
)

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


@command("DEL", -2, "write", keys=(1, -1, 1))
def del_(c: Any, argv: list[bytes]) -> Any:
    store = c.store
    n = sum(1 for k in argv[1:] if store.get(k) is not None and store.delete(k))
    if n == 0:
        c.effects = []
    return n


@command("UNLINK", -2, "write fast", keys=(1, -1, 1))
def unlink(c: Any, argv: list[bytes]) -> Any:
    return del_(c, argv)


@command("EXISTS", -2, "read fast", keys=(1, -1, 1))
def exists(c: Any, argv: list[bytes]) -> Any:
    store = c.store
    return sum(1 for k in argv[1:] if store.get(k) is not None)


@command("TOUCH", -2, "read fast", keys=(1, -1, 1))
def touch(c: Any, argv: list[bytes]) -> Any:
    return exists(c, argv)


@command("TYPE", 2, "read fast", keys=(1, 1, 1))
def type_(c: Any, argv: list[bytes]) -> Any:
    value = c.store.get(argv[1])
    return "none" if value is None else TYPE_NAMES[type(value)].decode()


def expire_at(amount: int, unit_ms: int, absolute: bool) -> int | None:
    """The absolute time in ms of EXPIRE & co.'s argument, or None where Redis 7 refuses it
    (seconds beyond the int64 range in ms, a relative time that overflows int64 past now).
    A time in the past is allowed: the key is deleted."""
    if unit_ms == 1000 and not INT64_MIN // 1000 + 1 <= amount <= INT64_MAX // 1000:
        return None  # (C's LLONG_MIN / 1000 truncates towards zero)
    when = amount * unit_ms
    if not absolute:
        if when > INT64_MAX - now_ms():
            return None
        when += now_ms()
    return when


def _expire(c: Any, argv: list[bytes], unit_ms: int, absolute: bool) -> int:
    store = c.store
    key = argv[1]
    amount = to_int(argv[2])
    flags = {a.upper() for a in argv[3:]}
    if not flags <= {b"NX", b"XX", b"GT", b"LT"}:
        bad = next(a for a in argv[3:] if a.upper() not in (b"NX", b"XX", b"GT", b"LT"))
        raise CommandError(f"ERR Unsupported option {bad.decode(errors='replace')}")
    if b"NX" in flags and (flags & {b"XX", b"GT", b"LT"}):
        raise CommandError("ERR NX and XX, GT or LT options at the same time are not compatible")
    if b"GT" in flags and b"LT" in flags:
        raise CommandError("ERR GT and LT options at the same time are not compatible")
    when = expire_at(amount, unit_ms, absolute)
    if when is None:
        raise CommandError(EXPIRE_INVALID.format(argv[0].decode().lower()))
    if store.get(key) is None:
        c.effects = []
        return 0
    current = store.expires.get(key)
    if (b"NX" in flags and current is not None) or (b"XX" in flags and current is None):
        c.effects = []
        return 0
    if b"GT" in flags and (current is None or when <= current):
        c.effects = []
        return 0
    if b"LT" in flags and current is not None and when >= current:
        c.effects = []
        return 0
    if when <= now_ms():
        store.delete(key)
        c.effects = [[b"DEL", key]]
        return 1
    store.set_expire(key, when)
    c.effects = [[b"PEXPIREAT", key, str(when).encode()]]
    return 1


@command("EXPIRE", -3, "write fast", keys=(1, 1, 1))
def expire(c: Any, argv: list[bytes]) -> Any:
    return _expire(c, argv, 1000, False)


@command("PEXPIRE", -3, "write fast", keys=(1, 1, 1))
def pexpire(c: Any, argv: list[bytes]) -> Any:
    return _expire(c, argv, 1, False)


@command("EXPIREAT", -3, "write fast", keys=(1, 1, 1))
def expireat(c: Any, argv: list[bytes]) -> Any:
    return _expire(c, argv, 1000, True)


@command("PEXPIREAT", -3, "write fast", keys=(1, 1, 1))
def pexpireat(c: Any, argv: list[bytes]) -> Any:
    return _expire(c, argv, 1, True)


def _ttl(c: Any, key: bytes, unit_ms: int, absolute: bool) -> int:
    store = c.store
    if store.get(key) is None:
        return -2
    when = store.expires.get(key)
    if when is None:
        return -1
    if absolute:
        return when // unit_ms
    left = max(0, when - now_ms())
    return (left + unit_ms // 2) // unit_ms if unit_ms > 1 else left


@command("TTL", 2, "read fast", keys=(1, 1, 1))
def ttl(c: Any, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], 1000, False)


@command("PTTL", 2, "read fast", keys=(1, 1, 1))
def pttl(c: Any, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], 1, False)


@command("EXPIRETIME", 2, "read fast", keys=(1, 1, 1))
def expiretime(c: Any, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], 1000, True)


@command("PEXPIRETIME", 2, "read fast", keys=(1, 1, 1))
def pexpiretime(c: Any, argv: list[bytes]) -> Any:
    return _ttl(c, argv[1], 1, True)


@command("PERSIST", 2, "write fast", keys=(1, 1, 1))
def persist(c: Any, argv: list[bytes]) -> Any:
    store = c.store
    if store.get(argv[1]) is None or not store.persist(argv[1]):
        c.effects = []
        return 0
    return 1


@command("KEYS", 2, "read")
def keys(c: Any, argv: list[bytes]) -> Any:
    pattern = argv[1]
    return [k for k in c.store.keys() if glob_match(pattern, k)]


def scan_page(items: Iterable[Any], cursor: int, count: int,
              key: Callable[[Any], bytes] = lambda x: x) -> tuple[int, list[Any]]:
    """A stateless cursor page: items ordered by crc32 of their key; the cursor is the hash
    where the next page starts (0 = done). Items present for a whole scan are returned."""
    ranked = [(zlib.crc32(key(item)), key(item), item) for item in items]
    candidates = [r for r in ranked if r[0] >= cursor]
    order = lambda r: (r[0], r[1])  # noqa: E731
    if len(candidates) <= count:
        candidates.sort(key=order)
        return 0, [r[2] for r in candidates]
    page = heapq.nsmallest(count, candidates, key=order)
    last = page[-1][0]
    taken = {r[1] for r in page}
    page.extend(r for r in candidates if r[0] == last and r[1] not in taken)
    later = [r[0] for r in candidates if r[0] > last]
    return (min(later) if later else 0), [r[2] for r in page]


def parse_scan(argv: list[bytes], start: int, allow_type: bool = False,
               extra: Iterable[bytes] = ()
               ) -> tuple[int, bytes | None, int, bytes | None, set[bytes]]:
    """cursor, MATCH pattern, COUNT, TYPE, flags from ``argv[start:]`` (start = cursor index)."""
    try:
        cursor = int(argv[start])
        if cursor < 0 or cursor >= 2 ** 64:
            raise ValueError
    except ValueError:
        raise CommandError("ERR invalid cursor") from None
    pattern: bytes | None = None
    count = 10
    kind: bytes | None = None
    flags: set[bytes] = set()
    extras = set(extra)
    i = start + 1
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"MATCH" and i + 1 < len(argv):
            pattern = argv[i + 1]
            i += 2
        elif opt == b"COUNT" and i + 1 < len(argv):
            count = to_int(argv[i + 1])
            if count < 1:
                raise CommandError(SYNTAX)
            i += 2
        elif opt == b"TYPE" and allow_type and i + 1 < len(argv):
            kind = argv[i + 1].lower()
            i += 2
        elif opt in extras:
            flags.add(opt)
            i += 1
        else:
            raise CommandError(SYNTAX)
    return cursor, pattern, count, kind, flags


@command("SCAN", -2, "read")
def scan(c: Any, argv: list[bytes]) -> Any:
    cursor, pattern, count, kind, _ = parse_scan(argv, 1, allow_type=True)
    store = c.store
    nxt, page = scan_page(store.keys(), cursor, count)
    out = []
    for k in page:
        if pattern is not None and not glob_match(pattern, k):
            continue
        if kind is not None:
            value = store.get(k)
            if value is None or TYPE_NAMES[type(value)] != kind:
                continue
        out.append(k)
    return [str(nxt).encode(), out]


def copy_value(value: Any) -> Any:
    t = type(value)
    if t is bytes:
        return value
    if t is dict:
        return dict(value)
    if t is QList:
        return value.copy()
    if t is set:
        return set(value)
    if t is Stream:
        return value.copy()
    z = ZSet()
    z.scores = dict(value.scores)
    z.order = SortedList(value.order)
    return z


def _rename(c: Any, argv: list[bytes], nx: bool) -> Any:
    store = c.store
    src, dst = argv[1], argv[2]
    value = store.get(src)
    if value is None:
        raise CommandError(NO_SUCH_KEY)
    if src == dst:
        c.effects = []
        return 0 if nx else OK
    if nx and store.get(dst) is not None:
        c.effects = []
        return 0
    when = store.expires.get(src)
    store.delete(src)
    store.set(dst, value)
    if when is not None:
        store.set_expire(dst, when)
    return 1 if nx else OK


@command("RENAME", 3, "write", keys=(1, 2, 1))
def rename(c: Any, argv: list[bytes]) -> Any:
    return _rename(c, argv, False)


@command("RENAMENX", 3, "write fast", keys=(1, 2, 1))
def renamenx(c: Any, argv: list[bytes]) -> Any:
    return _rename(c, argv, True)


@command("RANDOMKEY", 1, "read")
def randomkey(c: Any, argv: list[bytes]) -> Any:
    keys_ = c.store.keys()
    return random.choice(keys_) if keys_ else None


def _db_index(c: Any, raw: bytes) -> Any:
    index = to_ranged(raw, INT32_MIN, INT32_MAX)
    dbs = c.engine.keyspace.dbs
    if not 0 <= index < len(dbs):
        raise CommandError(DB_INDEX)
    return dbs[index]


@command("COPY", -3, "write", keys=(1, 2, 1))
def copy(c: Any, argv: list[bytes]) -> Any:
    src, dst = argv[1], argv[2]
    target = c.store
    replace = False
    i = 3
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"REPLACE":
            replace = True
            i += 1
        elif opt == b"DB" and i + 1 < len(argv):
            target = _db_index(c, argv[i + 1])
            i += 2
        else:
            raise CommandError(SYNTAX)
    if target is c.store and src == dst:
        raise CommandError(SAME_OBJECT)
    value = c.store.get(src)
    if value is None or (target.get(dst) is not None and not replace):
        c.effects = []
        return 0
    target.set(dst, copy_value(value))
    when = c.store.expires.get(src)
    if when is not None:
        target.set_expire(dst, when)
    if target is not c.store:
        c.engine.touch(target, dst)
    return 1


@command("MOVE", 3, "write fast", keys=(1, 1, 1))
def move(c: Any, argv: list[bytes]) -> Any:
    key = argv[1]
    target = _db_index(c, argv[2])
    if target is c.store:
        raise CommandError(SAME_OBJECT)
    value = c.store.get(key)
    if value is None or target.get(key) is not None:
        c.effects = []
        return 0
    when = c.store.expires.get(key)
    c.store.delete(key)
    target.set(key, value)
    if when is not None:
        target.set_expire(key, when)
    c.engine.touch(target, key)
    return 1


def encoding(value: Any, config: Any = None) -> bytes:
    """OBJECT ENCODING as Redis 7.0 would answer for this value, under the CONFIG thresholds
    (`hash-max-listpack-*`, `zset-max-listpack-*`, `set-max-intset-entries`); 7.0 lists are
    always quicklists and sets intsets or hashtables. (Redis keeps a converted encoding when
    a value shrinks again; HeroDB answers for the value as it is.)"""
    def limit(name: str, default: int) -> int:
        return int(config.get(name)) if config is not None else default
    t = type(value)
    if t is bytes:
        if _canonical_int(value):
            return b"int"
        return b"embstr" if len(value) <= 44 else b"raw"
    if t is dict:
        entries = limit("hash-max-listpack-entries", 512)
        size = limit("hash-max-listpack-value", 64)
        small = len(value) <= entries and all(len(k) <= size and len(v) <= size
                                              for k, v in value.items())
        return b"listpack" if small else b"hashtable"
    if t is QList:
        return b"quicklist"
    if t is Stream:
        return b"stream"
    if t is set:
        if len(value) <= limit("set-max-intset-entries", 512) and all(
                _canonical_int(x) for x in value):
            return b"intset"
        return b"hashtable"
    entries, size = limit("zset-max-listpack-entries", 128), limit("zset-max-listpack-value", 64)
    small = len(value) <= entries and all(len(m) <= size for m in value.scores)
    return b"listpack" if small else b"skiplist"


def _canonical_int(raw: bytes) -> bool:
    """A string Redis stores as an integer: int64 in its canonical spelling."""
    if not raw or len(raw) > 20:
        return False
    body = raw[1:] if raw[:1] == b"-" else raw
    if not body.isdigit() or (body[:1] == b"0" and (len(body) > 1 or raw[:1] == b"-")):
        return False
    return INT64_MIN <= int(raw) <= INT64_MAX


@command("OBJECT", -2, "read")
def object_(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    if sub in (b"ENCODING", b"FREQ", b"IDLETIME", b"REFCOUNT") and len(argv) == 3:
        value = c.store.get(argv[2])
        if value is None:
            return None
        if sub == b"ENCODING":
            return encoding(value, c.engine.config)
        if sub == b"FREQ":
            raise CommandError("ERR An LFU maxmemory policy is not selected, access frequency "
                               "not tracked. Please note that when switching between policies "
                               "at runtime LRU and LFU data will take some time to adjust.")
        return 0 if sub == b"IDLETIME" else 1
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "OBJECT"))
