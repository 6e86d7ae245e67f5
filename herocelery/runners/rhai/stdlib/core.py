"""Core functions: type_of, conversions, to_string/to_debug, ranges, function pointers."""
from __future__ import annotations

import time
from typing import Any

from ..errors import RhaiRuntimeError
from ..library import STD
from ..ops import equals
from ..values import (
    MAX_INT,
    MIN_INT,
    Char,
    FloatSteps,
    FnPtr,
    IRange,
    RIter,
    Timestamp,
    to_debug,
    to_display,
    type_name,
)

fn = STD.fn


@fn("type_of", "any")
def type_of(v: Any) -> str:
    return type_name(v)


@fn("to_string", "any", rt=True)
def to_string(rt: Any, v: Any) -> str:
    return rt.check_str("" if v is None else to_display(v))


@fn("to_debug", "any", rt=True)
def to_debug_(rt: Any, v: Any) -> str:
    return rt.check_str(to_debug(v))


@fn("is_string", "any")
def is_string(v: Any) -> bool:
    return type(v) is str


@fn("parse_int", "str")
def parse_int(s: str) -> int:
    try:
        v = int(s.strip().replace("_", ""))
    except ValueError:
        raise RhaiRuntimeError(
            f"Error parsing integer number '{s}': invalid digit found in string") from None
    if not MIN_INT <= v <= MAX_INT:
        raise RhaiRuntimeError(f"Error parsing integer number '{s}': number too large")
    return v


@fn("parse_int", "str", "int")
def parse_int_radix(s: str, radix: int) -> int:
    if not 2 <= radix <= 36:
        raise RhaiRuntimeError(f"Invalid radix: {radix}")
    try:
        v = int(s.strip(), radix)
    except ValueError:
        raise RhaiRuntimeError(
            f"Error parsing integer number '{s}': invalid digit found in string") from None
    if not MIN_INT <= v <= MAX_INT:
        raise RhaiRuntimeError(f"Error parsing integer number '{s}': number too large")
    return v


@fn("parse_float", "str")
def parse_float(s: str) -> float:
    try:
        return float(s.strip().replace("_", ""))
    except ValueError:
        raise RhaiRuntimeError(
            f"Error parsing floating-point number '{s}': invalid float literal") from None


@fn("parse_bool", "str")
def parse_bool(s: str) -> bool:
    if s.strip() in ("true", "false"):
        return s.strip() == "true"
    raise RhaiRuntimeError(f"Error parsing boolean '{s}'")


@fn("to_int", "num")
def to_int(v: Any) -> int:
    if type(v) is int:
        return v
    if v != v or not MIN_INT <= v <= MAX_INT:
        raise RhaiRuntimeError(f"Integer overflow: to_int({v})")
    return int(v)


@fn("to_int", "char")
def char_to_int(c: str) -> int:
    return ord(c)


@fn("to_int", "bool")
def bool_to_int(b: bool) -> int:
    return 1 if b else 0


@fn("to_float", "num")
def to_float(v: Any) -> float:
    return float(v)


@fn("to_char", "int")
def to_char(v: int) -> Char:
    try:
        return Char(chr(v))
    except (ValueError, OverflowError):
        raise RhaiRuntimeError(f"Invalid character code: {v}") from None


@fn("to_binary", "int")
def to_binary(v: int) -> str:
    return format(v & 0xFFFFFFFFFFFFFFFF if v < 0 else v, "b")


@fn("to_octal", "int")
def to_octal(v: int) -> str:
    return format(v & 0xFFFFFFFFFFFFFFFF if v < 0 else v, "o")


@fn("to_hex", "int")
def to_hex(v: int) -> str:
    return format(v & 0xFFFFFFFFFFFFFFFF if v < 0 else v, "x")


@fn("range", "int", "int")
def range_(a: int, b: int) -> IRange:
    return IRange(a, b)


def _steps(a: int, b: int, step: int) -> RIter:
    if step == 0:
        raise RhaiRuntimeError("step value cannot be zero")
    return RIter("StepRange<i64>", range(a, b, step))


@fn("range", "int", "int", "int")
def range_step(a: int, b: int, step: int) -> RIter:
    return _steps(a, b, step)


@fn("range", "range", "int")
def range_range_step(r: IRange, step: int) -> RIter:
    return _steps(r.start, r.end + (1 if r.inclusive else 0), step)


@fn("range", "num", "num", "num")
def range_float(a: Any, b: Any, step: Any) -> RIter:
    if step == 0:
        raise RhaiRuntimeError("step value cannot be zero")
    return RIter("StepRange<f64>", FloatSteps(float(a), float(b), float(step)))


@fn("start", "range")
def range_start(r: IRange) -> int:
    return r.start


@fn("end", "range")
def range_end(r: IRange) -> int:
    return r.end


@fn("is_inclusive", "range")
def range_inclusive(r: IRange) -> bool:
    return r.inclusive


@fn("is_exclusive", "range")
def range_exclusive(r: IRange) -> bool:
    return not r.inclusive


@fn("contains", "range", "any")
def range_contains(r: IRange, v: Any) -> bool:
    return type(v) is int and v in r.py()


@fn("len", "range")
def range_len(r: IRange) -> int:
    return len(r.py())


@fn("is_empty", "range")
def range_empty(r: IRange) -> bool:
    return len(r.py()) == 0


@fn("name", "fn")
def fn_name(f: FnPtr) -> str:
    return f.name


@fn("is_anonymous", "fn")
def fn_anon(f: FnPtr) -> bool:
    return f.name.startswith("anon$")


@fn("timestamp")
def timestamp() -> Timestamp:
    return Timestamp(time.monotonic())


@fn("elapsed", "time")
def elapsed(t: Timestamp) -> float:
    return time.monotonic() - t.t


@fn("sleep", "num", rt=True)
def sleep(rt: Any, seconds: float) -> None:
    end = time.monotonic() + max(0.0, float(seconds))
    while True:
        now = time.monotonic()
        if now >= end:
            return
        if rt.deadline is not None and now > rt.deadline:
            rt.budget = -1
            rt.tick()
        time.sleep(min(0.05, end - now))


@fn("==", "any", "any")
def eq(a: Any, b: Any) -> bool:
    return equals(a, b)


@fn("!=", "any", "any")
def ne(a: Any, b: Any) -> bool:
    return not equals(a, b)


@fn("parse_json", "str")
def parse_json(s: str) -> Any:
    """JSON text as a Rhai value (objects -> maps, null -> ())."""
    import json

    from ..values import from_json
    try:
        return from_json(json.loads(s))
    except (ValueError, RecursionError) as e:
        raise RhaiRuntimeError(f"Invalid JSON: {e}") from None


@fn("to_json", "any")
def any_to_json(v: Any) -> str:
    from .maps import json_text
    return json_text(v)
