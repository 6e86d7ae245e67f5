"""Bit operations on strings: SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD BITFIELD_RO.

Offsets, ranges, types and overflow behave as Redis 7.0's (bit offsets up to
proto-max-bulk-len * 8, BYTE|BIT ranges, i1..i64 / u1..u63 fields, `#n` offsets, OVERFLOW
WRAP|SAT|FAIL). A write that would grow a string past maxmemory is refused (-OOM) before
anything is allocated. Writes are logged as sent (they are deterministic).
"""
from __future__ import annotations

from typing import Any

from ..errors import SYNTAX, WRONGTYPE, CommandError
from .base import Command, registrar, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

BIT_OFFSET = "ERR bit offset is not an integer or out of range"
BIT_VALUE = "ERR bit is not an integer or out of range"
BAD_TYPE = ("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not "
            "supported but i64 is.")


def _string(c: Any, key: bytes) -> bytes | None:
    value = c.store.get(key)
    if value is None or type(value) is bytes:
        return value
    raise CommandError(WRONGTYPE)


def _offset(c: Any, raw: bytes, bits: int = 0) -> int:
    """A bit offset (``#n`` = n * bits for BITFIELD), below proto-max-bulk-len bytes."""
    hashed = bits > 0 and raw[:1] == b"#"
    try:
        value = to_int(raw[1:] if hashed else raw)
    except CommandError:
        raise CommandError(BIT_OFFSET) from None
    if hashed:
        value *= bits
    if value < 0 or (value >> 3) >= int(c.engine.config.get("proto-max-bulk-len")):
        raise CommandError(BIT_OFFSET)
    return value


def grown(c: Any, value: bytes | None, nbytes: int) -> bytes:
    """``value`` zero-padded to at least ``nbytes`` (checked against maxmemory first)."""
    value = value or b""
    if len(value) >= nbytes:
        return value
    c.engine.check_growth(nbytes - len(value))
    return value + b"\x00" * (nbytes - len(value))


@command("SETBIT", 4, "write", keys=(1, 1, 1))
def setbit(c: Any, argv: list[bytes]) -> Any:
    offset = _offset(c, argv[2])
    if argv[3] not in (b"0", b"1"):
        raise CommandError(BIT_VALUE)
    on = argv[3] == b"1"
    old = _string(c, argv[1])
    value = grown(c, old, (offset >> 3) + 1)
    byte, mask = offset >> 3, 0x80 >> (offset & 7)
    was = value[byte] & mask
    if bool(was) != on or len(value) != len(old or b""):
        new = value[byte] | mask if on else value[byte] & ~mask
        c.store.set(argv[1], value[:byte] + bytes((new,)) + value[byte + 1:], keep_ttl=True)
    else:
        c.effects = []
    return 1 if was else 0


@command("GETBIT", 3, "read fast", keys=(1, 1, 1))
def getbit(c: Any, argv: list[bytes]) -> Any:
    offset = _offset(c, argv[2])
    value = _string(c, argv[1]) or b""
    byte = offset >> 3
    return 1 if byte < len(value) and value[byte] & (0x80 >> (offset & 7)) else 0


def _bit_range(n: int, start: int, end: int, unit_bits: bool) -> tuple[int, int] | None:
    """Inclusive bit range of a (start, end) in bytes or bits of an n-byte string; None empty."""
    total = n * 8 if unit_bits else n
    if start < 0:
        start = max(0, total + start)
    if end < 0:
        end = max(0, total + end)
    end = min(end, total - 1)
    if start > end:
        return None
    return (start, end) if unit_bits else (start * 8, end * 8 + 7)


def _unit(raw: bytes) -> bool:
    unit = raw.upper()
    if unit not in (b"BIT", b"BYTE"):
        raise CommandError(SYNTAX)
    return unit == b"BIT"


def _window(value: bytes, lo: int, hi: int) -> tuple[int, int]:
    """The bits lo..hi (inclusive) of value as an int, and its width."""
    chunk = value[lo >> 3:(hi >> 3) + 1]
    x = int.from_bytes(chunk, "big")
    width = len(chunk) * 8
    drop_right = width - 1 - (hi - (lo >> 3) * 8)
    x >>= drop_right
    width -= drop_right + (lo & 7)
    return x & ((1 << width) - 1), width


@command("BITCOUNT", -2, "read", keys=(1, 1, 1))
def bitcount(c: Any, argv: list[bytes]) -> Any:
    n = len(argv)
    if n not in (2, 4, 5):
        if n == 3:
            raise CommandError(SYNTAX)
        raise CommandError(SYNTAX)
    value = _string(c, argv[1])
    if value is None:
        return 0
    if n == 2:
        return int.from_bytes(value, "big").bit_count()
    start, end = to_int(argv[2]), to_int(argv[3])
    if start < 0 and end < 0 and start > end:
        return 0
    unit_bits = _unit(argv[4]) if n == 5 else False
    rng = _bit_range(len(value), start, end, unit_bits)
    if rng is None:
        return 0
    return _window(value, *rng)[0].bit_count()


@command("BITPOS", -3, "read", keys=(1, 1, 1))
def bitpos(c: Any, argv: list[bytes]) -> Any:
    n = len(argv)
    try:
        bit = to_int(argv[2])
    except CommandError:
        raise
    if bit not in (0, 1):
        raise CommandError("ERR The bit argument must be 1 or 0.")
    value = c.store.get(argv[1])
    if value is None:
        return -1 if bit else 0
    if type(value) is not bytes:
        raise CommandError(WRONGTYPE)
    if n > 6:
        raise CommandError(SYNTAX)
    unit_bits, end_given = False, n >= 5
    if n == 3:
        rng = _bit_range(len(value), 0, -1, False)
    else:
        start = to_int(argv[3])
        if n == 6:
            unit_bits = _unit(argv[5])
        last = len(value) * 8 + 7 if unit_bits else len(value) - 1
        end = to_int(argv[4]) if end_given else last
        rng = _bit_range(len(value), start, end, unit_bits)
    if rng is None:
        return -1
    lo, hi = rng
    x, width = _window(value, lo, hi)
    if bit == 0:
        x ^= (1 << width) - 1
    if x == 0:
        return -1 if bit or end_given else hi + 1
    return lo + width - x.bit_length()


@command("BITOP", -4, "write", keys=(2, -1, 1))
def bitop(c: Any, argv: list[bytes]) -> Any:
    op = argv[1].upper()
    if op not in (b"AND", b"OR", b"XOR", b"NOT"):
        raise CommandError(SYNTAX)
    if op == b"NOT" and len(argv) != 4:
        raise CommandError("ERR BITOP NOT must be called with a single source key.")
    sources = [_string(c, k) for k in argv[3:]]
    size = max((len(s) for s in sources if s is not None), default=0)
    store, dst = c.store, argv[2]
    if size == 0:
        if store.get(dst) is None:
            c.effects = []
        store.delete(dst)
        return 0
    c.engine.check_growth(size)
    ints = [int.from_bytes((s or b"").ljust(size, b"\x00"), "big") for s in sources]
    acc = ints[0]
    if op == b"NOT":
        acc = ~acc & ((1 << (size * 8)) - 1)
    for x in ints[1:]:
        acc = acc & x if op == b"AND" else (acc | x if op == b"OR" else acc ^ x)
    store.set(dst, acc.to_bytes(size, "big"))
    return size


def _field_type(raw: bytes) -> tuple[bool, int]:
    sign = raw[:1]
    try:
        bits = to_int(raw[1:])
    except CommandError:
        raise CommandError(BAD_TYPE) from None
    if sign not in (b"i", b"u") or bits < 1 or bits > (64 if sign == b"i" else 63):
        raise CommandError(BAD_TYPE)
    return sign == b"i", bits


def _overflow(value: int, signed: bool, bits: int, how: bytes) -> int | None:
    """value fitted into the field: WRAP, SAT, or None for FAIL past the range."""
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    if lo <= value <= hi:
        return value
    if how == b"FAIL":
        return None
    if how == b"SAT":
        return hi if value > hi else lo
    value &= (1 << bits) - 1
    return value - (1 << bits) if signed and value >> (bits - 1) else value


def _bitfield(c: Any, argv: list[bytes], read_only: bool) -> Any:
    ops: list[tuple[bytes, bool, int, int, int, bytes]] = []
    how = b"WRAP"
    highest = -1
    i, n = 2, len(argv)
    while i < n:
        sub = argv[i].upper()
        left = n - i - 1
        if sub == b"OVERFLOW" and left >= 1:
            how = argv[i + 1].upper()
            if how not in (b"WRAP", b"SAT", b"FAIL"):
                raise CommandError("ERR Invalid OVERFLOW type specified")
            i += 2
            continue
        if not ((sub == b"GET" and left >= 2) or (sub in (b"SET", b"INCRBY") and left >= 3)):
            raise CommandError(SYNTAX)
        signed, bits = _field_type(argv[i + 1])
        offset = _offset(c, argv[i + 2], bits)
        arg = 0
        if sub != b"GET":
            highest = max(highest, offset + bits - 1)
            arg = to_int(argv[i + 3])
        ops.append((sub, signed, bits, offset, arg, how))
        i += 3 if sub == b"GET" else 4
    old = _string(c, argv[1]) or b""
    buf: bytes | bytearray
    if highest < 0:  # only GETs
        c.effects = []
        buf = old
        changed = False
    else:
        if read_only:
            raise CommandError("ERR BITFIELD_RO only supports the GET subcommand")
        need = (highest >> 3) + 1
        if need > len(old):
            c.engine.check_growth(need - len(old))
        buf = bytearray(max(need, len(old)))
        buf[:len(old)] = old
        changed = need > len(old) or c.store.get(argv[1]) is None
    out: list[Any] = []
    for sub, signed, bits, offset, arg, mode in ops:
        current = _get_field(buf, offset, bits, signed)
        if sub == b"GET":
            out.append(current)
            continue
        if sub == b"SET" and not signed:
            arg &= (1 << 64) - 1  # Redis reads the value as a uint64
        fitted = _overflow(current + arg if sub == b"INCRBY" else arg, signed, bits, mode)
        if fitted is None:
            out.append(None)
            continue
        out.append(fitted if sub == b"INCRBY" else current)
        if fitted != current:
            _set_field(buf, offset, bits, fitted)  # type: ignore[arg-type]
            changed = True
    if highest >= 0:
        if changed:
            c.store.set(argv[1], bytes(buf), keep_ttl=True)
        else:
            c.effects = []
    return out


def _get_field(buf: bytes | bytearray, offset: int, bits: int, signed: bool) -> int:
    value = 0
    for k in range(bits):
        pos = offset + k
        byte = pos >> 3
        bit = buf[byte] >> (7 - (pos & 7)) & 1 if byte < len(buf) else 0
        value = value << 1 | bit
    if signed and value >> (bits - 1):
        value -= 1 << bits
    return value


def _set_field(buf: bytearray, offset: int, bits: int, value: int) -> None:
    value &= (1 << bits) - 1
    for k in range(bits):
        pos = offset + k
        mask = 0x80 >> (pos & 7)
        if value >> (bits - 1 - k) & 1:
            buf[pos >> 3] |= mask
        else:
            buf[pos >> 3] &= ~mask


@command("BITFIELD", -2, "write", keys=(1, 1, 1))
def bitfield(c: Any, argv: list[bytes]) -> Any:
    return _bitfield(c, argv, False)


@command("BITFIELD_RO", -2, "read fast", keys=(1, 1, 1))
def bitfield_ro(c: Any, argv: list[bytes]) -> Any:
    return _bitfield(c, argv, True)
