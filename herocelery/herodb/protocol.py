"""RESP2/RESP3 wire format: request bytes -> argv lists, reply values -> bytes. Never sees a socket.

Requests are multibulk frames (``*N\\r\\n$L\\r\\n...``) or inline lines (``PING\\r\\n`` as
telnet and redis-cli send them). Replies are plain Python values mapped onto RESP types:

=================  ==========================  ==========================
value              RESP2                       RESP3
=================  ==========================  ==========================
bytes              bulk string                 bulk string
str                simple string ``+``         simple string ``+``
int                integer                     integer
bool               integer 1/0                 boolean ``#t``/``#f``
float              bulk string                 double ``,``
None               null bulk ``$-1``           null ``_``
NULL_ARRAY         null array ``*-1``          null ``_``
list / tuple       array                       array
dict               flat array                  map ``%``
set / frozenset    array                       set ``~``
ReplyError         error ``-``                 error ``-``
Push               array                       push ``>``
=================  ==========================  ==========================
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

try:
    import hiredis
except ImportError:  # pragma: no cover - hiredis is a dependency; the careful loop still works
    hiredis = None  # type: ignore[assignment]  # the optional-import idiom: None means absent

MAX_INLINE_BYTES = 64 * 1024
# a gathered request this small is re-scanned on every read (cheap), so a malformed byte after
# its cut is reported at once, as the careful loop would, instead of when `need` bytes are in
GATHER_RESCAN_BYTES = 64 * 1024
FAST_MAX_BYTES = 256 * 1024  # reads up to this size may take the hiredis path
# hiredis allocates a list as soon as it reads an array header: a count of 7+ digits anywhere
# (even inside a value) goes to the careful loop instead. Bulk lengths need no look: a
# complete request in FAST_MAX_BYTES cannot pass the limits hiredis is used under (see
# Parser.fast), and an incomplete one is re-read by the careful loop. (A literal first
# character keeps this search ~7x cheaper than a character class.)
_RISKY = re.compile(rb"\*-?[0-9]{7}")

ERR_MBULK_LEN = "Protocol error: invalid multibulk length"
ERR_BULK_LEN = "Protocol error: invalid bulk length"
ERR_MBULK_COUNT_STRING = "Protocol error: too big mbulk count string"
ERR_BULK_COUNT_STRING = "Protocol error: too big bulk count string"
ERR_INLINE_TOO_BIG = "Protocol error: too big inline request"
ERR_UNBALANCED_QUOTES = "Protocol error: unbalanced quotes in request"


class ProtocolError(Exception):
    """A malformed request; the text (``Protocol error: ...``) is sent and the connection closed."""


@dataclass(frozen=True, slots=True)
class ReplyError:
    """An error reply; ``text`` includes its code (``ERR ...``, ``WRONGTYPE ...``)."""

    text: str


class Push(list[Any]):
    """An out-of-band pub/sub message: a push frame in RESP3, an array in RESP2."""


class _NullArray:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NULL_ARRAY"


NULL_ARRAY: Any = _NullArray()


class Parser:
    """Incremental request parser. Feed bytes, take complete argv lists.

    Guarantees: never allocates more than ``max_bulk`` bytes for one argument nor a list longer
    than ``max_multibulk``; a malformed frame raises ProtocolError after returning every
    complete request that preceded it (``commands`` keeps them).
    """

    __slots__ = ("buf", "parts", "size", "need", "max_bulk", "max_multibulk", "reader", "fast",
                 "split", "wants")

    def __init__(self, max_bulk: int = 512 * 1024 * 1024, max_multibulk: int = 1024 * 1024,
                 split: Callable[[bytes, list[list[bytes]], int, int], bool] | None = None,
                 pending: Callable[[bytes, int, int], tuple[int, int] | None] | None = None
                 ) -> None:
        self.buf = b""
        self.parts: list[bytes] = []  # chunks waiting until `need` bytes are there
        self.size = 0
        self.need = 0
        self.max_bulk = max_bulk
        self.max_multibulk = max_multibulk
        self.reader = hiredis.Reader() if hiredis is not None else None
        # hiredis checks no limit: use it only where no complete request in FAST_MAX_BYTES
        # could exceed them (an argument needs 6+ bytes on the wire)
        self.fast = self.reader is not None and max_bulk >= FAST_MAX_BYTES \
            and max_multibulk >= FAST_MAX_BYTES // 6
        # the C splitter (fastpath.py): whole regular requests within the limits, else False
        self.split = split
        # and its partner: how many bytes a cut-short regular request still needs
        self.wants: Callable[[bytes, int, int], tuple[int, int] | None] | None = \
            pending if split is not None else None

    def feed(self, data: bytes, out: list[list[bytes]]) -> None:
        """Append ``data`` and move every complete request into ``out`` (raises ProtocolError)."""
        if self.need:
            self.parts.append(data)
            self.size += len(data)
            if self.size < self.need and self.size > GATHER_RESCAN_BYTES:
                return  # a big argument still arriving: do not re-scan (no quadratic copying)
            data = b"".join(self.parts)
            self.parts, self.size, self.need = [], 0, 0
        split = self.split
        if split is not None and not self.buf and (
                split(data, out, self.max_bulk, self.max_multibulk) or self._gather(data, out)):
            return
        if self.fast and not self.buf and data[:1] == b"*" and len(data) <= FAST_MAX_BYTES:
            if data.count(b"*") == 1:
                # one '*': at most one request and no nesting; only its own count needs a look
                # (cheaper than the regular expression for the unpipelined case)
                if data.find(b"\r\n") < 8 and self._hiredis(data, out):
                    return
            elif not _RISKY.search(data) and self._hiredis(data, out):
                return
        buf = self.buf + data if self.buf else data
        n = len(buf)
        pos = self._fast(buf, out) if buf[:1] == b"*" else 0
        try:
            while pos < n:
                if buf[pos] == 42:  # '*'
                    nl = buf.find(b"\r\n", pos)
                    if nl < 0:
                        if n - pos > 64:
                            raise ProtocolError(ERR_MBULK_COUNT_STRING)
                        break
                    try:
                        count = int(buf[pos + 1:nl])
                    except ValueError:
                        raise ProtocolError(ERR_MBULK_LEN) from None
                    if count > self.max_multibulk:
                        raise ProtocolError(ERR_MBULK_LEN)
                    p = nl + 2
                    if count <= 0:
                        pos = p
                        continue
                    args: list[bytes] = []
                    complete = True
                    for _ in range(count):
                        if p >= n:
                            complete = False
                            break
                        if buf[p] != 36:  # '$'
                            raise ProtocolError(
                                f"Protocol error: expected '$', got '{chr(buf[p])}'")
                        nl = buf.find(b"\r\n", p)
                        if nl < 0:
                            if n - p > 64:
                                raise ProtocolError(ERR_BULK_COUNT_STRING)
                            complete = False
                            break
                        try:
                            size = int(buf[p + 1:nl])
                        except ValueError:
                            raise ProtocolError(ERR_BULK_LEN) from None
                        if size < 0 or size > self.max_bulk:
                            raise ProtocolError(ERR_BULK_LEN)
                        start = nl + 2
                        end = start + size
                        if end + 2 > n:
                            complete = False
                            if end + 2 - pos > 65536:
                                self.need = end + 2 - pos
                            break
                        if buf[end:end + 2] != b"\r\n":
                            raise ProtocolError(ERR_BULK_LEN)
                        args.append(buf[start:end])
                        p = end + 2
                    if not complete:
                        break
                    out.append(args)
                    pos = p
                else:
                    nl = buf.find(b"\n", pos)
                    if nl < 0:
                        if n - pos > MAX_INLINE_BYTES:
                            raise ProtocolError(ERR_INLINE_TOO_BIG)
                        break
                    line = buf[pos:nl]
                    pos = nl + 1
                    if len(line) > MAX_INLINE_BYTES:
                        raise ProtocolError(ERR_INLINE_TOO_BIG)
                    argv = split_inline(line)
                    if argv:
                        out.append(argv)
        finally:
            self.buf = buf[pos:] if pos < n else b""
            if self.need:
                self.parts, self.size = [self.buf], len(self.buf)
                self.buf = b""

    def _gather(self, data: bytes, out: list[list[bytes]]) -> bool:
        """With the C splitter: when ``data`` is whole requests and then one regular request
        cut short (a big argument arriving in pieces), take the whole ones and keep the rest,
        waiting for the bytes it still needs without re-scanning (True); False: nothing taken,
        the careful loop reads it."""
        wants, split = self.wants, self.split
        if wants is None or split is None:  # wants is set only beside split
            return False
        got = wants(data, self.max_bulk, self.max_multibulk)
        if got is None:
            return False
        offset, want = got
        if offset:
            if not split(data[:offset], out, self.max_bulk, self.max_multibulk):
                return False
            data = data[offset:]
        self.parts, self.size, self.need = [data], len(data), want
        return True

    def _hiredis(self, data: bytes, out: list[list[bytes]]) -> bool:
        """Parse ``data`` with hiredis when it is whole requests of bulk strings only; False
        (nothing added to ``out``) sends it through the careful loop instead. The limits hold
        because every 7-digit count was refused before and `fast` holds."""
        reader = self.reader
        try:
            reader.feed(data)
            argv = reader.gets()
            if type(argv) is not list or not argv:
                raise ValueError
            b"".join(argv)  # TypeError unless every argument is a bulk string
            if not reader.has_data():  # one request, all of it read: the unpipelined case
                out.append(argv)
                return True
            got = [argv]
            while True:
                argv = reader.gets()
                if argv is False:
                    break
                if type(argv) is not list or not argv:
                    raise ValueError
                b"".join(argv)
                got.append(argv)
            reader.feed(b"*0\r\n")  # a sentinel: [] back means no request was left half-read
            if reader.gets() != []:
                raise ValueError
        except Exception:
            self.reader = hiredis.Reader()
            return False
        out.extend(got)
        return True

    def _fast(self, buf: bytes, out: list[list[bytes]]) -> int:
        """Parse the leading well-formed multibulk requests with one split (the common case);
        returns where it stopped. Anything unusual (an argument containing CRLF, an incomplete
        or malformed frame, inline text) is left to the careful loop in ``feed``."""
        parts = buf.split(b"\r\n")
        last = len(parts) - 1  # parts[last] is whatever follows the final CRLF
        i = 0
        max_bulk = self.max_bulk
        while i < last:
            head = parts[i]
            if head[:1] != b"*":
                break
            try:
                count = int(head[1:])
            except ValueError:
                break
            end = i + 1 + 2 * count
            if count <= 0 or count > self.max_multibulk or end > last:
                break
            j = i + 1
            while j < end:
                arg = parts[j + 1]
                if parts[j] != b"$%d" % len(arg) or len(arg) > max_bulk:
                    break
                j += 2
            if j < end:
                break
            out.append(parts[i + 2:end:2])
            i = end
        if i == last:
            return len(buf) - len(parts[last])
        return sum(map(len, parts[:i])) + 2 * i

    def pending(self) -> int:
        """Bytes received but not yet part of a complete request."""
        return len(self.buf) + self.size


_ESCAPES = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("a"): 7}


def split_inline(line: bytes) -> list[bytes]:
    """Split an inline request like Redis' sdssplitargs: spaces, "double" and 'single' quotes."""
    if b'"' not in line and b"'" not in line:
        return line.split()
    args: list[bytes] = []
    i, n = 0, len(line)
    while True:
        while i < n and line[i] in b" \t\r\n\v\f":
            i += 1
        if i >= n:
            return args
        cur = bytearray()
        quote = 0
        while True:
            if i >= n:
                if quote:
                    raise ProtocolError(ERR_UNBALANCED_QUOTES)
                break
            ch = line[i]
            if quote == 34:  # inside "..."
                if ch == 92 and i + 3 < n and line[i + 1] == 120 and _ishex(line[i + 2:i + 4]):
                    cur.append(int(line[i + 2:i + 4], 16))
                    i += 3
                elif ch == 92 and i + 1 < n:
                    i += 1
                    cur.append(_ESCAPES.get(line[i], line[i]))
                elif ch == 34:
                    if i + 1 < n and line[i + 1] not in b" \t\r\n\v\f":
                        raise ProtocolError(ERR_UNBALANCED_QUOTES)
                    i += 1
                    break
                else:
                    cur.append(ch)
            elif quote == 39:  # inside '...'
                if ch == 92 and i + 1 < n and line[i + 1] == 39:
                    i += 1
                    cur.append(39)
                elif ch == 39:
                    if i + 1 < n and line[i + 1] not in b" \t\r\n\v\f":
                        raise ProtocolError(ERR_UNBALANCED_QUOTES)
                    i += 1
                    break
                else:
                    cur.append(ch)
            elif ch in b" \t\r\n\v\f":
                break
            elif ch in (34, 39):
                quote = ch
            else:
                cur.append(ch)
            i += 1
        args.append(bytes(cur))


def _ishex(two: bytes) -> bool:
    return len(two) == 2 and all(c in b"0123456789abcdefABCDEF" for c in two)


def format_double(value: float) -> str:
    """Redis' human-friendly double text: ``3``, ``1.5``, ``inf``, ``-inf``, ``1e+20``."""
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value.is_integer() and abs(value) < 1e17:
        return str(int(value))
    return repr(value)


def format_human(value: float | Decimal) -> str:
    """INCRBYFLOAT's text, as Redis' ``%.17Lf`` with trailing zeros cut: never an exponent
    (``1e20`` -> ``100000000000000000000``, ``1e-20`` -> ``0``)."""
    if not isinstance(value, Decimal):
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        value = Decimal(repr(value))
    text = format(value.quantize(_SEVENTEEN, context=_WIDE), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def human_add(current: bytes | None, delta: bytes) -> str | None:
    """``current + delta`` as INCRBYFLOAT stores it, or None when not finite. Both texts must
    already be valid floats. Summed exactly in decimal: Redis sums in long double, so
    ``0.1 + 0.2`` is ``0.3`` there, not a double's ``0.30000000000000004``."""
    total = _WIDE.add(Decimal(current.decode()) if current else Decimal(0),
                      Decimal(delta.decode()))
    if not total.is_finite():
        return None
    return format_human(total)


_SEVENTEEN = Decimal("1e-17")
_WIDE = Context(prec=400, rounding=ROUND_HALF_EVEN, traps=[])  # every double fits


OK = "OK"
_CRLF = b"\r\n"
SIMPLE_REPLIES = {"OK": b"+OK\r\n", "PONG": b"+PONG\r\n", "QUEUED": b"+QUEUED\r\n"}
_SIMPLE = SIMPLE_REPLIES


class Raw(bytes):
    """Reply bytes already encoded (several frames for one request, e.g. SUBSCRIBE a b)."""


SMALL_INTS = 1024
INT_REPLIES = tuple(b":%d\r\n" % i for i in range(SMALL_INTS))  # :0 .. :1023, encoded once


def encode(value: Any, proto: int = 2) -> bytes:
    """The RESP bytes of one reply value (see the module table)."""
    t = type(value)
    if t is bytes:
        return b"$%d\r\n%b\r\n" % (len(value), value)
    if t is str:
        return _SIMPLE.get(value) or b"+" + value.encode() + _CRLF
    if t is int:
        return INT_REPLIES[value] if 0 <= value < SMALL_INTS else b":%d\r\n" % value
    if value is None:
        return b"_\r\n" if proto == 3 else b"$-1\r\n"
    if t is Raw:
        return bytes(value)
    parts: list[bytes] = []
    _encode_into(value, proto, parts)
    return b"".join(parts)


def _encode_into(value: Any, proto: int, out: list[bytes]) -> None:
    t = type(value)
    if t is bytes or t is bytearray or t is memoryview:
        out.append(b"$%d\r\n%b\r\n" % (len(value), value))
    elif t is str:
        out.append(b"+" + value.encode() + _CRLF)
    elif t is int:
        out.append(b":%d\r\n" % value)
    elif value is None:
        out.append(b"_\r\n" if proto == 3 else b"$-1\r\n")
    elif t is list or t is tuple:
        out.append(b"*%d\r\n" % len(value))
        for item in value:
            _encode_into(item, proto, out)
    elif t is ReplyError:
        out.append(b"-" + value.text.replace("\r", " ").replace("\n", " ").encode() + _CRLF)
    elif t is bool:
        if proto == 3:
            out.append(b"#t\r\n" if value else b"#f\r\n")
        else:
            out.append(b":1\r\n" if value else b":0\r\n")
    elif t is float:
        text = format_double(value).encode()
        if proto == 3:
            out.append(b"," + text + _CRLF)
        else:
            out.append(b"$%d\r\n%b\r\n" % (len(text), text))
    elif t is dict:
        if proto == 3:
            out.append(b"%%%d\r\n" % len(value))
        else:
            out.append(b"*%d\r\n" % (2 * len(value)))
        for k, v in value.items():
            _encode_into(k, proto, out)
            _encode_into(v, proto, out)
    elif t is set or t is frozenset:
        out.append((b"~%d\r\n" if proto == 3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(item, proto, out)
    elif t is Push:
        out.append((b">%d\r\n" if proto == 3 else b"*%d\r\n") % len(value))
        for item in value:
            _encode_into(item, proto, out)
    elif t is Raw:
        out.append(bytes(value))
    elif value is NULL_ARRAY:
        out.append(b"_\r\n" if proto == 3 else b"*-1\r\n")
    elif isinstance(value, int):  # int subclasses
        out.append(b":%d\r\n" % int(value))
    else:
        raise TypeError(f"cannot encode reply of type {t.__name__}")
