"""Typed reading of param values (HEROSCRIPT.md §5).

The `to_*` functions are pure: text in, value out, `ValueError` with a reason on bad text.
`Params` wraps an action and turns those into `HeroScriptError`s naming the key and the
position of the param (or of the action when the key is missing).
"""
from __future__ import annotations

import builtins
import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from .model import Action

T = TypeVar("T")

TRUE_WORDS = frozenset({"", "1", "true", "y", "yes"})
FALSE_WORDS = frozenset({"", "0", "false", "n", "no"})
REL_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400,
             "M": 30 * 86400, "Q": 91 * 86400, "Y": 365 * 86400}
REL_PART = re.compile(r"\s*([+-])\s*(\d+(?:\.\d+)?)\s*([smhdwMQY])")
ABSOLUTE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\Z")
TIMESTAMP = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?\Z")
SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([KMGTP]?i?B?|[kmgtp]i?b?)\Z")
SIZE_UNITS = {"": 1, "B": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4,
              "P": 1024**5}
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0,
                  "w": 7 * 86400.0}
UNESCAPE = re.compile(r"\\(['\"\\])")
LIST_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|,|[^,'"]+|['"]""")


def to_str(text: str) -> str:
    return text.strip()


def to_int(text: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None


def to_float(text: str) -> float:
    try:
        return float(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def to_percentage(text: str) -> float:
    """`80%` -> 0.8; a bare number above 1 is read as a percentage too (`80` -> 0.8)."""
    t = text.strip()
    if t.endswith("%"):
        return to_float(t[:-1]) / 100.0
    value = to_float(t)
    return value / 100.0 if value > 1 else value


def to_bool_default_true(text: str | None) -> bool:
    """Missing, empty, 1, true, y, yes -> True; anything else False (Hero's rule)."""
    return text is None or text.strip().lower() in TRUE_WORDS


def to_bool_default_false(text: str | None) -> bool:
    """Missing, empty, 0, false, n, no -> False; anything else True (Hero's rule)."""
    return not (text is None or text.strip().lower() in FALSE_WORDS)


def to_list(text: str) -> list[str]:
    """Split on `,`; quotes and spaces stripped; empties dropped; `[ ]` brackets optional."""
    t = text.strip()
    if t.startswith("[") and t.endswith("]"):
        t = t[1:-1]
    parts: list[str] = []
    buf: list[str] = []
    for m in LIST_TOKEN.finditer(t):
        tok = m.group()
        if tok == ",":
            parts.append("".join(buf))
            buf = []
        else:
            buf.append(tok)
    parts.append("".join(buf))
    out: list[str] = []
    for part in parts:
        item = part.strip()
        if len(item) >= 2 and item[0] in "'\"" and item[-1] == item[0]:
            item = UNESCAPE.sub(r"\1", item[1:-1])
        if item:
            out.append(item)
    return out


def to_list_int(text: str) -> list[int]:
    return [to_int(x) for x in to_list(text)]


def to_list_float(text: str) -> list[float]:
    return [to_float(x) for x in to_list(text)]


def to_time(text: str, now: datetime | None = None) -> datetime:
    """Relative (`+1h`, `+1w +2d -4h`) from `now`, or absolute `YYYY-MM-DD[ HH:mm[:ss]]` (UTC)."""
    t = text.strip()
    now = now or datetime.now(UTC)
    if t.lower() in ("", "now"):
        return now
    if t[0] in "+-":
        pos, seconds = 0, 0.0
        while pos < len(t):
            m = REL_PART.match(t, pos)
            if m is None:
                raise ValueError(f"{text!r} is not a relative time like '+1d -4h' "
                                 "(units s m h d w M Q Y)")
            sign = -1 if m.group(1) == "-" else 1
            seconds += sign * float(m.group(2)) * REL_UNITS[m.group(3)]
            pos = m.end()
        return now + timedelta(seconds=seconds)
    m = ABSOLUTE.match(t)
    if m is None:
        raise ValueError(f"{text!r} is not a time (YYYY-MM-DD[ HH:mm[:ss]] or +1d ...)")
    year, month, day, hour, minute, second = (int(p) if p else 0 for p in m.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a valid date: {exc}") from None


def to_timestamp(text: str) -> time:
    """`HH:MM[:SS]` with optional `AM`/`PM`."""
    m = TIMESTAMP.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a time of day like 14:30 or 2:30 PM")
    hour, minute, second = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    half = (m.group(4) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            raise ValueError(f"{text!r}: hour must be 1..12 with AM/PM")
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    return time(hour, minute, second)


def to_storage_size(text: str) -> int:
    """`10 GB`, `500 MB`, `1.5KiB`, `42` -> bytes (binary units: 1 KB = 1024 B)."""
    m = SIZE.match(text.strip())
    if m is None:
        raise ValueError(f"{text!r} is not a storage size like '10 GB'")
    unit = m.group(2).upper().replace("I", "").rstrip("B") if m.group(2) else ""
    return int(float(m.group(1)) * SIZE_UNITS[unit])


def to_duration(text: str) -> float:
    """`30s`, `5m`, `2h`, `1h30m`, `250ms` -> seconds; a bare number is seconds."""
    t = text.strip().replace(" ", "")
    try:
        return float(t)
    except ValueError:
        pass
    pos, total = 0, 0.0
    while pos < len(t):
        m = DURATION_PART.match(t, pos)
        if m is None:
            break
        total += float(m.group(1)) * DURATION_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(t) or not t:
        raise ValueError(f"{text!r} is not a duration like 30s, 5m, 1h30m or 250ms")
    return total


_MISSING = object()
TimeOfDay = time  # `Params.time` shadows the class in Params' body


class Params:
    """Typed view of an action's params; errors name the key and the param's position."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def exists(self, key: builtins.str) -> bool:
        return key in self.action.params

    def _read(self, key: builtins.str, conv: Callable[[builtins.str], T], default: Any,
              what: builtins.str) -> T:
        text = self.action.params.get(key)
        if text is None:
            if default is _MISSING:
                raise self.action.error(
                    f"{self.action.full_name}: missing param {key!r} ({what})")
            return default
        try:
            return conv(text)
        except ValueError as exc:
            raise self.action.error(f"param {key!r}: {exc}", key) from None

    def str(self, key: builtins.str, default: Any = _MISSING) -> builtins.str:
        return self._read(key, to_str, default, "text")

    def int(self, key: builtins.str, default: Any = _MISSING) -> builtins.int:
        return self._read(key, to_int, default, "integer")

    def float(self, key: builtins.str, default: Any = _MISSING) -> builtins.float:
        return self._read(key, to_float, default, "number")

    def percentage(self, key: builtins.str, default: Any = _MISSING) -> builtins.float:
        return self._read(key, to_percentage, default, "percentage")

    def bool_default_true(self, key: builtins.str) -> bool:
        return to_bool_default_true(self.action.params.get(key))

    def bool_default_false(self, key: builtins.str) -> bool:
        return to_bool_default_false(self.action.params.get(key))

    def list(self, key: builtins.str, default: Any = _MISSING) -> builtins.list[builtins.str]:
        return self._read(key, to_list, default, "list")

    def list_int(self, key: builtins.str, default: Any = _MISSING) -> builtins.list[builtins.int]:
        return self._read(key, to_list_int, default, "list of integers")

    def list_float(self, key: builtins.str,
                   default: Any = _MISSING) -> builtins.list[builtins.float]:
        return self._read(key, to_list_float, default, "list of numbers")

    def time(self, key: builtins.str, default: Any = _MISSING,
             now: datetime | None = None) -> datetime:
        return self._read(key, lambda t: to_time(t, now), default, "time")

    def timestamp(self, key: builtins.str, default: Any = _MISSING) -> TimeOfDay:
        return self._read(key, to_timestamp, default, "time of day")

    def storage_size(self, key: builtins.str, default: Any = _MISSING) -> builtins.int:
        return self._read(key, to_storage_size, default, "storage size")

    def duration(self, key: builtins.str, default: Any = _MISSING) -> builtins.float:
        return self._read(key, to_duration, default, "duration")


def check_known(action: Action, known: set[str] | frozenset[str]) -> None:
    """HeroScriptError at the first param whose key is not in `known`."""
    for key in action.params:
        if key not in known:
            raise action.error(f"{action.full_name}: unknown param {key!r}; known: "
                               f"{', '.join(sorted(known))}", key)
