"""String commands: GET SET (EX PX EXAT PXAT NX XX GET KEEPTTL) INCR* APPEND GETRANGE ..."""
from __future__ import annotations

from typing import Any

from ..errors import (
    EXPIRE_INVALID,
    NAN_OR_INF,
    NOT_FLOAT,
    NOT_INTEGER,
    OFFSET_RANGE,
    OVERFLOW,
    STRING_TOO_LONG,
    SYNTAX,
    WRONGTYPE,
    CommandError,
)
from ..keyspace import now_ms
from ..protocol import OK, human_add
from .base import INT64_MAX, INT64_MIN, Command, registrar, to_float, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

MAX_STRING = 512 * 1024 * 1024


@command("GET", 2, "read fast", keys=(1, 1, 1))
def get(c: Any, argv: list[bytes]) -> Any:
    store = c.store
    value = store.data.get(argv[1])
    if value is not None and store.expires:
        value = store.get(argv[1])  # lazy expiry
    if value is None or type(value) is bytes:
        return value
    raise CommandError(WRONGTYPE)


def _string(c: Any, key: bytes) -> bytes | None:
    value = c.store.get(key)
    if value is None or type(value) is bytes:
        return value
    raise CommandError(WRONGTYPE)


@command("SET", -3, "write", keys=(1, 1, 1))
def set_(c: Any, argv: list[bytes]) -> Any:
    store = c.store
    key = argv[1]
    if len(argv) == 3:  # the hot path: SET key value
        store.data[key] = argv[2]
        if store.expires:
            store.expires.pop(key, None)
        return OK
    nx = xx = want_old = keepttl = False
    when: int | None = None
    i = 3
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"NX" and not xx:
            nx = True
        elif opt == b"XX" and not nx:
            xx = True
        elif opt == b"GET":
            want_old = True
        elif opt == b"KEEPTTL" and when is None:
            keepttl = True
        elif opt in (b"EX", b"PX", b"EXAT", b"PXAT") and when is None and not keepttl \
                and i + 1 < len(argv):
            when = ttl_option(opt, argv[i + 1], "set")
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    old = _string(c, key) if want_old else store.get(key)
    if (nx and old is not None) or (xx and old is None):
        c.effects = []
        return old if want_old else None
    store.set(key, argv[2], keep_ttl=keepttl)
    effect = [b"SET", key, argv[2]]
    if when is not None:
        store.set_expire(key, when)
        effect += [b"PXAT", str(when).encode()]
    elif keepttl:
        effect.append(b"KEEPTTL")
    c.effects = [effect]
    return old if want_old else OK


def ttl_option(opt: bytes, raw: bytes, name: str) -> int:
    """The absolute ms of SET/GETEX's EX PX EXAT PXAT (SETEX: EX, PSETEX: PX) argument; ERR
    invalid expire time unless positive and, from now, within int64 (as Redis 7)."""
    amount = to_int(raw)
    unit = 1000 if opt in (b"EX", b"EXAT") else 1
    if amount <= 0 or amount > INT64_MAX // unit:
        raise CommandError(EXPIRE_INVALID.format(name))
    when = amount * unit
    if opt in (b"EX", b"PX"):
        when += now_ms()
        if when > INT64_MAX:
            raise CommandError(EXPIRE_INVALID.format(name))
    return when


def _set_with_ttl(c: Any, key: bytes, raw_ttl: bytes, value: bytes, unit: int, name: str) -> Any:
    when = ttl_option(b"EX" if unit == 1000 else b"PX", raw_ttl, name)
    c.store.set(key, value)
    c.store.set_expire(key, when)
    c.effects = [[b"SET", key, value, b"PXAT", str(when).encode()]]
    return OK


@command("SETEX", 4, "write", keys=(1, 1, 1))
def setex(c: Any, argv: list[bytes]) -> Any:
    return _set_with_ttl(c, argv[1], argv[2], argv[3], 1000, "setex")


@command("PSETEX", 4, "write", keys=(1, 1, 1))
def psetex(c: Any, argv: list[bytes]) -> Any:
    return _set_with_ttl(c, argv[1], argv[2], argv[3], 1, "psetex")


@command("SETNX", 3, "write fast", keys=(1, 1, 1))
def setnx(c: Any, argv: list[bytes]) -> Any:
    if c.store.get(argv[1]) is not None:
        c.effects = []
        return 0
    c.store.set(argv[1], argv[2])
    return 1


@command("GETSET", 3, "write fast", keys=(1, 1, 1))
def getset(c: Any, argv: list[bytes]) -> Any:
    old = _string(c, argv[1])
    c.store.set(argv[1], argv[2])
    c.effects = [[b"SET", argv[1], argv[2]]]
    return old


@command("GETDEL", 2, "write fast", keys=(1, 1, 1))
def getdel(c: Any, argv: list[bytes]) -> Any:
    old = _string(c, argv[1])
    if old is None:
        c.effects = []
        return None
    c.store.delete(argv[1])
    c.effects = [[b"DEL", argv[1]]]
    return old


@command("GETEX", -2, "write fast", keys=(1, 1, 1))
def getex(c: Any, argv: list[bytes]) -> Any:
    key = argv[1]
    expiry: tuple[bytes, bytes] | None = None
    persist = False
    i = 2
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"PERSIST" and expiry is None and not persist:
            persist = True
        elif opt in (b"EX", b"PX", b"EXAT", b"PXAT") and expiry is None and not persist \
                and i + 1 < len(argv):
            expiry = (opt, argv[i + 1])
            i += 1
        else:
            raise CommandError(SYNTAX)
        i += 1
    value = _string(c, key)
    c.effects = []
    if value is None:
        return None
    when: int | None = None
    if expiry is not None:  # Redis checks the time after the key (a missing key is nil)
        when = ttl_option(expiry[0], expiry[1], "getex")
    if when is not None:
        c.store.set_expire(key, when)
        c.effects = [[b"PEXPIREAT", key, str(when).encode()]]
    elif persist and c.store.persist(key):
        c.effects = [[b"PERSIST", key]]
    return value


@command("MGET", -2, "read fast", keys=(1, -1, 1))
def mget(c: Any, argv: list[bytes]) -> Any:
    store = c.store
    out = []
    for key in argv[1:]:
        value = store.get(key)
        out.append(value if type(value) is bytes else None)
    return out


@command("MSET", -3, "write", keys=(1, -1, 2))
def mset(c: Any, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise CommandError("ERR wrong number of arguments for 'mset' command")
    store = c.store
    for i in range(1, len(argv), 2):
        store.set(argv[i], argv[i + 1])
    return OK


@command("MSETNX", -3, "write", keys=(1, -1, 2))
def msetnx(c: Any, argv: list[bytes]) -> Any:
    if len(argv) % 2 == 0:
        raise CommandError("ERR wrong number of arguments for 'msetnx' command")
    store = c.store
    if any(store.get(argv[i]) is not None for i in range(1, len(argv), 2)):
        c.effects = []
        return 0
    for i in range(1, len(argv), 2):
        store.set(argv[i], argv[i + 1])
    return 1


def _incr(c: Any, key: bytes, delta: int) -> int:
    store = c.store
    value = store.data.get(key)
    if value is not None and store.expires:
        value = store.get(key)  # lazy expiry
    if value is None:
        current = 0
    elif type(value) is not bytes:
        raise CommandError(WRONGTYPE)
    elif value.isdigit() and len(value) < 19 and (value[0] != 48 or len(value) == 1):
        current = int(value)  # to_int's common case, inlined: INCR is a hot path
    else:
        current = to_int(value)
    result = current + delta
    if result < INT64_MIN or result > INT64_MAX:
        raise CommandError(OVERFLOW)
    store.data[key] = b"%d" % result
    return result


@command("INCR", 2, "write fast", keys=(1, 1, 1))
def incr(c: Any, argv: list[bytes]) -> Any:
    return _incr(c, argv[1], 1)


@command("DECR", 2, "write fast", keys=(1, 1, 1))
def decr(c: Any, argv: list[bytes]) -> Any:
    return _incr(c, argv[1], -1)


@command("INCRBY", 3, "write fast", keys=(1, 1, 1))
def incrby(c: Any, argv: list[bytes]) -> Any:
    return _incr(c, argv[1], to_int(argv[2]))


@command("DECRBY", 3, "write fast", keys=(1, 1, 1))
def decrby(c: Any, argv: list[bytes]) -> Any:
    delta = to_int(argv[2])
    if delta == INT64_MIN:
        raise CommandError("ERR decrement would overflow")
    return _incr(c, argv[1], -delta)


@command("INCRBYFLOAT", 3, "write fast", keys=(1, 1, 1))
def incrbyfloat(c: Any, argv: list[bytes]) -> Any:
    key = argv[1]
    value = _string(c, key)
    if value is not None:
        to_float(value, NOT_FLOAT)
    to_float(argv[2])
    result = human_add(value, argv[2])  # exact decimal sum, no exponent, as Redis prints it
    if result is None:
        raise CommandError(NAN_OR_INF)
    text = result.encode()
    c.store.set(key, text, keep_ttl=True)
    c.effects = [[b"SET", key, text, b"KEEPTTL"]]
    return text


@command("APPEND", 3, "write fast", keys=(1, 1, 1))
def append(c: Any, argv: list[bytes]) -> Any:
    value = _string(c, argv[1]) or b""
    if len(value) + len(argv[2]) > MAX_STRING:
        raise CommandError(STRING_TOO_LONG)
    c.engine.check_growth(len(argv[2]))
    value += argv[2]
    c.store.set(argv[1], value, keep_ttl=True)
    return len(value)


@command("STRLEN", 2, "read fast", keys=(1, 1, 1))
def strlen(c: Any, argv: list[bytes]) -> Any:
    return len(_string(c, argv[1]) or b"")


@command("GETRANGE", 4, "read", keys=(1, 1, 1))
def getrange(c: Any, argv: list[bytes]) -> Any:
    start, end = to_int(argv[2]), to_int(argv[3])
    value = _string(c, argv[1]) or b""
    n = len(value)
    if start < 0 and end < 0 and start > end:
        return b""
    if start < 0:
        start = max(0, n + start)
    if end < 0:
        end = max(0, n + end)
    end = min(end, n - 1)
    if start > end or n == 0:
        return b""
    return value[start:end + 1]


@command("SUBSTR", 4, "read", keys=(1, 1, 1))
def substr(c: Any, argv: list[bytes]) -> Any:
    return getrange(c, argv)


@command("SETRANGE", 4, "write", keys=(1, 1, 1))
def setrange(c: Any, argv: list[bytes]) -> Any:
    offset = to_int(argv[2])
    if offset < 0:
        raise CommandError(OFFSET_RANGE)
    patch = argv[3]
    value = _string(c, argv[1])
    if value is None:
        if not patch:
            c.effects = []
            return 0
        value = b""
    if not patch:
        c.effects = []
        return len(value)
    if offset + len(patch) > MAX_STRING:
        raise CommandError(STRING_TOO_LONG)
    c.engine.check_growth(offset + len(patch) - len(value))
    if len(value) < offset:
        value += b"\x00" * (offset - len(value))
    value = value[:offset] + patch + value[offset + len(patch):]
    c.store.set(argv[1], value, keep_ttl=True)
    return len(value)


__all__ = ["COMMANDS", "NOT_INTEGER"]
