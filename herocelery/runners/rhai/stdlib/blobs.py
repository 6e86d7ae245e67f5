"""BLOB functions (a `bytearray`): bytes, integers and floats in either byte order, strings.

Positions follow Rhai's rules: a negative start counts from the end (before the start: 0),
lengths are clamped to what the BLOB holds, only the low 8 bits of a byte value count.
"""
from __future__ import annotations

import struct
from typing import Any

from ..errors import RhaiRuntimeError
from ..library import STD
from ..ops import equals
from ..values import Char, IRange

fn = STD.fn
mut = STD.mutator


def _start_len(b: bytearray, start: int, n: int) -> tuple[int, int]:
    """(offset, count) of `start, len` in b."""
    size = len(b)
    if start < 0:
        start = max(0, size + start)
    if start >= size or n <= 0:
        return size, 0
    return start, min(n, size - start)


def _range(b: bytearray, r: IRange) -> tuple[int, int]:
    start = max(r.start, 0)
    end = max(r.end + (1 if r.inclusive else 0), start)
    return _start_len(b, start, end - start)


def _pos(b: bytearray, i: int) -> int | None:
    n = len(b)
    if i < 0:
        i += n
    return i if 0 <= i < n else None


@fn("blob")
def blob() -> bytearray:
    return bytearray()


@fn("blob", "int", rt=True)
def blob_n(rt: Any, n: int) -> bytearray:
    return blob_nv(rt, n, 0)


@fn("blob", "int", "int", rt=True)
def blob_nv(rt: Any, n: int, v: int) -> bytearray:
    n = max(0, n)
    if rt.max_arr and n > rt.max_arr:
        rt.check_arr(range(n))
    rt.spend(n // 256)
    return bytearray([v & 0xFF]) * n


@fn("len", "blob")
def len_(b: bytearray) -> int:
    return len(b)


@fn("is_empty", "blob")
def is_empty(b: bytearray) -> bool:
    return not b


@fn("push", "blob", "int", names=("+=",))
def push(b: bytearray, v: int) -> None:
    b.append(v & 0xFF)


@fn("append", "blob", "blob", rt=True, names=("+=",))
def append(rt: Any, b: bytearray, other: bytearray) -> None:
    b.extend(other)
    rt.check_arr(b)


@fn("append", "blob", "int")
def append_int(b: bytearray, v: int) -> None:
    b.append(v & 0xFF)


@fn("append", "blob", "sc", names=("+=",))
def append_str(b: bytearray, s: str) -> None:
    b.extend(s.encode())


@fn("insert", "blob", "int", "int")
def insert(b: bytearray, i: int, v: int) -> None:
    n = len(b)
    if i < 0:
        i = max(0, n + i)
    b.insert(min(i, n), v & 0xFF)


@fn("pop", "blob")
def pop(b: bytearray) -> int:
    return b.pop() if b else 0


@fn("shift", "blob")
def shift(b: bytearray) -> int:
    return b.pop(0) if b else 0


@fn("remove", "blob", "int")
def remove(b: bytearray, i: int) -> int:
    p = _pos(b, i)
    return b.pop(p) if p is not None else 0


@fn("clear", "blob")
def clear(b: bytearray) -> None:
    b.clear()


@fn("truncate", "blob", "int")
def truncate(b: bytearray, n: int) -> None:
    del b[max(0, n):]


@fn("chop", "blob", "int")
def chop(b: bytearray, n: int) -> None:
    if n <= 0:
        b.clear()
    elif n < len(b):
        del b[:len(b) - n]


@fn("pad", "blob", "int", "int", rt=True)
def pad(rt: Any, b: bytearray, n: int, v: int) -> None:
    if rt.max_arr and n > rt.max_arr:
        rt.check_arr(range(n))
    if n > len(b):
        b.extend(bytearray([v & 0xFF]) * (n - len(b)))


@fn("reverse", "blob")
def reverse(b: bytearray) -> None:
    b.reverse()


@fn("get", "blob", "int")
def get(b: bytearray, i: int) -> int:
    p = _pos(b, i)
    return b[p] if p is not None else 0


@fn("set", "blob", "int", "int")
def set_(b: bytearray, i: int, v: int) -> None:
    p = _pos(b, i)
    if p is not None:
        b[p] = v & 0xFF


@fn("contains", "blob", "int")
def contains(b: bytearray, v: int) -> bool:
    return 0 <= v <= 255 and v in b


@fn("extract", "blob", "int", "int")
def extract(b: bytearray, start: int, n: int) -> bytearray:
    s, c = _start_len(b, start, n)
    return b[s:s + c]


@fn("extract", "blob", "int")
def extract_from(b: bytearray, start: int) -> bytearray:
    s, c = _start_len(b, start, len(b))
    return b[s:s + c]


@fn("extract", "blob", "range")
def extract_range(b: bytearray, r: IRange) -> bytearray:
    s, c = _range(b, r)
    return b[s:s + c]


def _drain(b: bytearray, s: int, c: int) -> bytearray:
    out = b[s:s + c]
    del b[s:s + c]
    return out


def _retain(b: bytearray, s: int, c: int) -> bytearray:
    out = b[:s] + b[s + c:]
    b[:] = b[s:s + c]
    return out


@fn("drain", "blob", "int", "int")
def drain(b: bytearray, start: int, n: int) -> bytearray:
    return _drain(b, *_start_len(b, start, n))


@fn("drain", "blob", "range")
def drain_range(b: bytearray, r: IRange) -> bytearray:
    return _drain(b, *_range(b, r))


@fn("retain", "blob", "int", "int")
def retain(b: bytearray, start: int, n: int) -> bytearray:
    return _retain(b, *_start_len(b, start, n))


@fn("retain", "blob", "range")
def retain_range(b: bytearray, r: IRange) -> bytearray:
    return _retain(b, *_range(b, r))


@fn("splice", "blob", "int", "int", "blob")
def splice(b: bytearray, start: int, n: int, repl: bytearray) -> None:
    s, c = _start_len(b, start, n)
    b[s:s + c] = repl


@fn("splice", "blob", "range", "blob")
def splice_range(b: bytearray, r: IRange, repl: bytearray) -> None:
    s, c = _range(b, r)
    b[s:s + c] = repl


@fn("split", "blob", "int")
def split(b: bytearray, i: int) -> bytearray:
    n = len(b)
    i = max(0, n + i) if i < 0 else min(i, n)
    tail = b[i:]
    del b[i:]
    return tail


@fn("to_array", "blob")
def to_array(b: bytearray) -> list[Any]:
    return list(b)


@fn("as_string", "blob")
def as_string(b: bytearray) -> str:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        raise RhaiRuntimeError("BLOB is not valid UTF-8") from None


@fn("==", "blob", "blob")
def eq(a: bytearray, b: bytearray) -> bool:
    return a == b


@fn("!=", "blob", "blob")
def ne(a: bytearray, b: bytearray) -> bool:
    return not equals(a, b)


# -- numbers in either byte order ----------------------------------------------------------
def _parse_int(b: bytearray, s: int, c: int, order: str) -> int:
    raw = bytes(b[s:s + min(c, 8)])
    raw = raw + bytes(8 - len(raw)) if order == "big" else raw + bytes(8 - len(raw))
    return int.from_bytes(raw, order, signed=True)  # type: ignore[arg-type]


def _parse_float(b: bytearray, s: int, c: int, order: str) -> float:
    raw = bytes(b[s:s + min(c, 8)])
    raw = raw + bytes(8 - len(raw))
    return float(struct.unpack(">d" if order == "big" else "<d", raw)[0])


def _write(b: bytearray, s: int, c: int, value: Any, order: str) -> None:
    if type(value) is float:
        raw = struct.pack(">d" if order == "big" else "<d", value)
    elif type(value) is int:
        raw = (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, order)  # type: ignore[arg-type]
    else:
        raise RhaiRuntimeError("Data type incorrect: expecting i64 or f64")
    n = min(c, 8)
    b[s:s + n] = raw[:n]


for _order, _tag in (("little", "le"), ("big", "be")):
    def _make(order: str, tag: str) -> None:
        @fn(f"parse_{tag}_int", "blob", "int", "int")
        def p_int(b: bytearray, start: int, n: int) -> int:
            return _parse_int(b, *_start_len(b, start, n), order)

        @fn(f"parse_{tag}_int", "blob", "range")
        def p_int_r(b: bytearray, r: IRange) -> int:
            return _parse_int(b, *_range(b, r), order)

        @fn(f"parse_{tag}_float", "blob", "int", "int")
        def p_float(b: bytearray, start: int, n: int) -> float:
            return _parse_float(b, *_start_len(b, start, n), order)

        @fn(f"parse_{tag}_float", "blob", "range")
        def p_float_r(b: bytearray, r: IRange) -> float:
            return _parse_float(b, *_range(b, r), order)

        @fn(f"write_{tag}", "blob", "int", "int", "num")
        def w(b: bytearray, start: int, n: int, v: Any) -> None:
            _write(b, *_start_len(b, start, n), v, order)

        @fn(f"write_{tag}", "blob", "range", "num")
        def w_r(b: bytearray, r: IRange, v: Any) -> None:
            _write(b, *_range(b, r), v, order)
    _make(_order, _tag)


def _write_text(b: bytearray, s: int, c: int, raw: bytes) -> None:
    n = min(c, len(raw))
    b[s:s + n] = raw[:n]


@fn("write_utf8", "blob", "int", "int", "sc")
def write_utf8(b: bytearray, start: int, n: int, text: str) -> None:
    _write_text(b, *_start_len(b, start, n), text.encode())


@fn("write_utf8", "blob", "range", "sc")
def write_utf8_r(b: bytearray, r: IRange, text: str) -> None:
    _write_text(b, *_range(b, r), text.encode())


def _ascii(text: str) -> bytes:
    return "".join(c for c in text if ord(c) < 128).encode()


@fn("write_ascii", "blob", "int", "int", "sc")
def write_ascii(b: bytearray, start: int, n: int, text: str) -> None:
    _write_text(b, *_start_len(b, start, n), _ascii(text))


@fn("write_ascii", "blob", "range", "sc")
def write_ascii_r(b: bytearray, r: IRange, text: str) -> None:
    _write_text(b, *_range(b, r), _ascii(text))


_ = Char
