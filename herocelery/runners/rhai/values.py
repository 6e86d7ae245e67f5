"""Rhai's values in Python, their type names, display forms and JSON conversions.

i64 -> int, f64 -> float, bool -> bool, string -> str, char -> `Char` (a str subclass),
() -> None, array -> list, map -> dict, function pointer -> `FnPtr`, range -> `IRange`.
"""
from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

MAX_INT = 0x7FFFFFFFFFFFFFFF
MIN_INT = -MAX_INT - 1


class Char(str):
    """A Rhai `char`: exactly one character."""

    __slots__ = ()


class FnPtr:
    """A Rhai function pointer: a name, curried arguments and, for closures, the function."""

    __slots__ = ("name", "curry", "fn")

    def __init__(self, name: str, curry: tuple[Any, ...] = (), fn: Any = None) -> None:
        self.name = name
        self.curry = curry
        self.fn = fn

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, FnPtr) and other.name == self.name
                and other.curry == self.curry and other.fn is self.fn)

    def __hash__(self) -> int:
        return hash(self.name)


class IRange:
    """An integer range `a..b` or `a..=b`."""

    __slots__ = ("start", "end", "inclusive")

    def __init__(self, start: int, end: int, inclusive: bool = False) -> None:
        self.start = start
        self.end = end
        self.inclusive = inclusive

    def py(self) -> range:
        return range(self.start, self.end + 1 if self.inclusive else self.end)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.py())

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, IRange) and other.start == self.start
                and other.end == self.end and other.inclusive == self.inclusive)

    def __hash__(self) -> int:
        return hash((self.start, self.end, self.inclusive))


class RIter:
    """An iterator value (`chars()`, `bits()`, `range(a, b, step)`): what `for` walks over.
    `items` is any re-iterable (a range, a list, or an object with `__iter__`)."""

    __slots__ = ("kind", "items")

    def __init__(self, kind: str, items: Any) -> None:
        self.kind = kind
        self.items = items

    def __iter__(self) -> Any:
        return iter(self.items)


class Timestamp:
    """A Rhai `timestamp`: a point on the monotonic clock, in seconds."""

    __slots__ = ("t",)

    def __init__(self, t: float) -> None:
        self.t = t

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timestamp) and other.t == self.t

    def __hash__(self) -> int:
        return hash(self.t)


class FloatSteps:
    """`range(from, to, step)` over floats, lazily (it may be long)."""

    __slots__ = ("start", "end", "step")

    def __init__(self, start: float, end: float, step: float) -> None:
        self.start, self.end, self.step = start, end, step

    def __iter__(self) -> Any:
        x, end, step = self.start, self.end, self.step
        if step > 0:
            while x < end:
                yield x
                x += step
        elif step < 0:
            while x > end:
                yield x
                x += step


_TYPE_NAMES = {int: "i64", float: "f64", bool: "bool", str: "string", Char: "char",
               type(None): "()", list: "array", dict: "map", FnPtr: "Fn", bytes: "blob"}


def type_name(v: Any) -> str:
    """Rhai's `type_of` for a value."""
    t = type(v)
    name = _TYPE_NAMES.get(t)
    if name is not None:
        return name
    if t is IRange:
        return "range=" if v.inclusive else "range"
    if t is RIter:
        return v.kind
    if t is Timestamp:
        return "timestamp"
    if isinstance(v, bytearray):
        return "blob"
    return t.__name__


def float_text(f: float) -> str:
    """f64 the way Rhai displays it: `1.0`, `3.5`, `0.0000001`, `1e20`, `NaN`, `inf`
    (scientific notation outside 1e-13..1e13, as Rhai's FloatWrapper does)."""
    if math.isnan(f):
        return "NaN"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    a = abs(f)
    if a == 0:
        return "0.0"
    r = repr(f)
    if a > 1e13 or a < 1e-13:
        # scientific with the shortest digits that read back the same (Rust's `{:e}`)
        sign, digits, exp = Decimal(r).normalize().as_tuple()
        assert isinstance(exp, int)
        ds = "".join(map(str, digits))
        mant = ("-" if sign else "") + ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{mant}e{exp + len(ds) - 1}"
    if "e" in r:                          # small numbers: positional, shortest digits
        r = format(Decimal(r), "f")
    return r if "." in r else r + ".0"


def _debug_str(s: str) -> str:
    out = s.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return out.replace("\0", "\\0")


def _to_debug(v: Any) -> str:
    """Rhai's debug form: strings quoted, chars in single quotes, containers nested."""
    t = type(v)
    if t is str:
        return '"' + _debug_str(v).replace('"', '\\"') + '"'
    if t is Char:
        return "'" + _debug_str(v).replace("'", "\\'") + "'"
    if t is list:
        return "[" + ", ".join(_to_debug(x) for x in v) + "]"
    if t is dict:
        return "#{" + ", ".join(_to_debug(str(k)) + ": " + _to_debug(x)
                                for k, x in sorted(v.items())) + "}"
    return _to_display(v)


def _to_display(v: Any) -> str:
    """Rhai's `to_string()` form: `42`, `3.5`, `true`, strings unquoted, `()`, `[1, "a"]`."""
    t = type(v)
    if t is str or t is Char:
        return str.__str__(v)
    if t is int:
        return str(v)
    if t is bool:
        return "true" if v else "false"
    if t is float:
        return float_text(v)
    if v is None:
        return "()"
    if t is list or t is dict:
        return _to_debug(v)
    if t is FnPtr:
        return f"Fn({v.name})" if not v.curry else \
            f"Fn({v.name}, curried {', '.join(_to_debug(c) for c in v.curry)})"
    if t is IRange:
        return f"{v.start}..{'=' if v.inclusive else ''}{v.end}"
    if isinstance(v, (bytes, bytearray)):
        return "[" + "".join(f"{b:02x}" for b in v) + "]"
    if t is RIter:
        return v.kind
    if t is Timestamp:
        return "<timestamp>"
    return str(v)


def _to_json(v: Any) -> Any:
    """A Rhai value as plain JSON data: maps -> dicts, arrays -> lists, () -> None."""
    t = type(v)
    if t is int or t is bool or t is str or v is None:
        return v
    if t is float:
        return v if math.isfinite(v) else None
    if t is Char:
        return str.__str__(v)
    if t is list:
        return [_to_json(x) for x in v]
    if t is dict:
        return {str(k): _to_json(x) for k, x in v.items()}
    if t is IRange:
        return list(v.py())
    if isinstance(v, (bytes, bytearray)):
        return list(v)
    return _to_display(v)


def _guard(f: Any, v: Any) -> Any:
    try:
        return f(v)
    except RecursionError:
        from .errors import RhaiRuntimeError
        raise RhaiRuntimeError("Value nests too deeply to convert") from None


def to_debug(v: Any) -> str:
    """Rhai's debug form: strings quoted, chars in single quotes, containers nested."""
    return _guard(_to_debug, v)


def to_display(v: Any) -> str:
    """Rhai's `to_string()` form: `42`, `3.5`, `true`, strings unquoted, `()`, `[1, "a"]`."""
    return _guard(_to_display, v)


def to_json(v: Any) -> Any:
    """A Rhai value as plain JSON data: maps -> dicts, arrays -> lists, () -> None."""
    return _guard(_to_json, v)


_PLAIN = (str, bool, float, type(None))


def from_json(obj: Any) -> Any:
    """Plain Python/JSON data as Rhai values (tuples -> arrays, big ints -> floats); always
    a fresh copy of containers, so the caller's data is never changed by a script."""
    t = type(obj)
    if t in _PLAIN:
        return obj
    if t is int:
        return obj if MIN_INT <= obj <= MAX_INT else float(obj)
    if t is dict:
        return {(k if type(k) is str else str(k)): (x if type(x) in _PLAIN else from_json(x))
                for k, x in obj.items()}
    if t is list or t is tuple:
        return [x if type(x) in _PLAIN else from_json(x) for x in obj]
    if t is Char or t is FnPtr or t is IRange or t is bytearray:
        return obj
    if isinstance(obj, bool):
        return bool(obj)
    if isinstance(obj, int):
        return from_json(int(obj))
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    if isinstance(obj, dict):
        return from_json(dict(obj))
    if isinstance(obj, (list, tuple)):
        return from_json(list(obj))
    if isinstance(obj, (set, frozenset)):
        return [from_json(x) for x in sorted(obj, key=repr)]
    if isinstance(obj, bytes):
        return bytearray(obj)
    return str(obj)


def clone(v: Any) -> Any:
    """A deep copy of arrays and maps (Rhai values are copied on assignment)."""
    t = type(v)
    if t is list:
        return [clone(x) if type(x) in _CONTAINERS else x for x in v]
    if t is dict:
        return {k: clone(x) if type(x) in _CONTAINERS else x for k, x in v.items()}
    if t is bytearray:
        return bytearray(v)
    return v


_CONTAINERS = (list, dict, bytearray)
