"""The shape of a command table entry, the registration helper, and argument parsing.

A family module (``strings.py``, ``lists.py`` ...) builds ``COMMANDS`` with the decorator:

    COMMANDS: list[Command] = []
    command = registrar(COMMANDS)

    @command("LPUSH", -3, "write fast", keys=(1, 1, 1))
    def lpush(c: Client, argv: list[bytes]) -> int: ...

``arity`` follows Redis: positive = exact argc, negative = at least -arity. ``keys`` is Redis'
(first, last, step) key spec (last -1 = up to the end); it tells the server which keys a write
touched (WATCH, blocked clients) and lets COMMAND INFO answer.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..errors import NOT_FLOAT, NOT_INTEGER, SYNTAX, CommandError

Handler = Callable[[Any, list[bytes]], Any]

FLAGS = frozenset({
    "write", "read", "admin", "noauth", "pubsub", "blocking", "fast", "noscript", "loading",
    "stale", "allow_busy", "no_multi", "denyoom", "connection", "transaction", "scripting",
})


@dataclass(frozen=True, slots=True)
class Command:
    """One row of the command table."""

    name: str
    arity: int
    flags: frozenset[str]
    handler: Handler
    keys: tuple[int, int, int] = (0, 0, 0)
    key_fn: Callable[[list[bytes]], list[bytes]] | None = field(default=None, compare=False)
    is_write: bool = False

    def key_args(self, argv: list[bytes]) -> list[bytes]:
        """The key names in ``argv`` according to the key spec."""
        if self.key_fn is not None:
            try:
                return self.key_fn(argv)
            except (ValueError, IndexError):
                return []
        first, last, step = self.keys
        if first == 0:
            return []
        end = len(argv) + last if last < 0 else last
        return argv[first:end + 1:step]


def registrar(table: list[Command]) -> Callable[..., Callable[[Handler], Handler]]:
    """A decorator factory appending one Command per decorated handler to ``table``."""

    def command(name: str, arity: int, flags: str = "", *, keys: tuple[int, int, int] = (0, 0, 0),
                key_fn: Callable[[list[bytes]], list[bytes]] | None = None
                ) -> Callable[[Handler], Handler]:
        flagset = frozenset(flags.split())
        unknown = flagset - FLAGS
        if unknown:
            raise ValueError(f"{name}: unknown command flags {sorted(unknown)}")

        def wrap(fn: Handler) -> Handler:
            table.append(Command(name.upper(), arity, flagset, fn, keys, key_fn,
                                 "write" in flagset))
            return fn
        return wrap
    return command


def numkeys_fn(index: int, step: int = 1) -> Callable[[list[bytes]], list[bytes]]:
    """A key_fn for commands whose argv[index] counts the keys that follow it."""
    def keys(argv: list[bytes]) -> list[bytes]:
        n = int(argv[index])
        return argv[index + 1:index + 1 + n * step:step]
    return keys


# ---- argument parsing ------------------------------------------------------------------------
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1
INT32_MIN, INT32_MAX = -(2 ** 31), 2 ** 31 - 1
_INT_RE = re.compile(rb"-?(0|[1-9][0-9]*)\Z")


def to_int(raw: bytes, error: str = NOT_INTEGER) -> int:
    """A Redis integer argument (strict: no spaces, no '+', no leading zeros)."""
    if raw.isdigit() and len(raw) < 19 and (raw[0] != 48 or len(raw) == 1):
        return int(raw)  # the common case, plainly valid: 0..10**18-1 without a leading zero
    if len(raw) > 20 or not _INT_RE.match(raw) or raw == b"-0":
        raise CommandError(error)
    value = int(raw)
    if value < INT64_MIN or value > INT64_MAX:
        raise CommandError(error)
    return value


def to_ranged(raw: bytes, low: int, high: int) -> int:
    """An integer argument that must lie in [low, high] (Redis' getRangeLongFromObject)."""
    value = to_int(raw)
    if value < low or value > high:
        raise CommandError(f"ERR value is out of range, value must between {low} and {high}")
    return value


def to_float(raw: bytes, error: str = NOT_FLOAT) -> float:
    """A Redis double argument: decimal text, ``inf``/``-inf``/``+inf``; NaN is refused."""
    if raw.isdigit() and len(raw) < 300:
        return float(raw)  # the common case, plainly valid (no sign, point, space nor '_')
    text = raw.strip()
    if not text or text != raw or len(raw) > 5000:
        raise CommandError(error)
    try:
        value = float(raw)
    except ValueError:
        raise CommandError(error) from None
    if math.isnan(value) or b"_" in raw:
        raise CommandError(error)
    low = raw.lower()
    if math.isinf(value) and low.lstrip(b"+-") not in (b"inf", b"infinity"):
        raise CommandError(error)
    return value


def upper(raw: bytes) -> bytes:
    return raw.upper()


def options(argv: Iterable[bytes]) -> list[bytes]:
    return [a.upper() for a in argv]


def syntax() -> CommandError:
    return CommandError(SYNTAX)


# ---- glob patterns (KEYS, SCAN MATCH, PSUBSCRIBE, PUBSUB CHANNELS) -----------------------------
@lru_cache(maxsize=1024)
def glob_regex(pattern: bytes) -> re.Pattern[bytes]:
    """Compile a Redis glob (``* ? [abc] [^a-z] \\x``) to an anchored regular expression."""
    out = bytearray()
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i:i + 1]
        if ch == b"*":
            out += b".*"
        elif ch == b"?":
            out += b"."
        elif ch == b"\\" and i + 1 < n:
            i += 1
            out += re.escape(pattern[i:i + 1])
        elif ch == b"[":
            j = i + 1
            negate = j < n and pattern[j:j + 1] == b"^"
            if negate:
                j += 1
            items = bytearray()
            while j < n and pattern[j:j + 1] != b"]":
                c = pattern[j:j + 1]
                if c == b"\\" and j + 1 < n:
                    j += 1
                    items += re.escape(pattern[j:j + 1])
                elif c == b"-" and items and j + 1 < n and pattern[j + 1:j + 2] != b"]":
                    items += b"-"
                else:
                    items += re.escape(c)
                j += 1
            if j >= n:  # no closing bracket: Redis treats the rest as the set
                pass
            out += b"[" + (b"^" if negate else b"") + bytes(items) + b"]" if items else (
                b"[^\\s\\S]" if not negate else b"[\\s\\S]")
            i = j
        else:
            out += re.escape(ch)
        i += 1
    return re.compile(bytes(out) + b"\\Z", re.DOTALL)


def glob_match(pattern: bytes, value: bytes) -> bool:
    if pattern == b"*":
        return True
    return glob_regex(pattern).match(value) is not None


def is_finite(value: float) -> bool:
    return not (math.isnan(value) or math.isinf(value))
