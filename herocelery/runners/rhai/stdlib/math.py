"""Numbers and math: abs, sign, min/max, floor/ceil/round, sqrt, trig, logs, constants."""
from __future__ import annotations

import math as m
import random
from typing import Any

from ..errors import RhaiRuntimeError
from ..library import STD
from ..values import MAX_INT, MIN_INT

fn = STD.fn


@fn("abs", "int")
def abs_int(x: int) -> int:
    if x == MIN_INT:
        raise RhaiRuntimeError(f"Negation overflow: -{x}")
    return abs(x)


@fn("abs", "float")
def abs_float(x: float) -> float:
    return abs(x)


@fn("sign", "int")
def sign_int(x: int) -> int:
    return (x > 0) - (x < 0)


@fn("sign", "float")
def sign_float(x: float) -> int:
    if x != x:
        raise RhaiRuntimeError("Cannot get the sign of NaN")
    return (x > 0) - (x < 0)


@fn("is_zero", "num")
def is_zero(x: Any) -> bool:
    return x == 0


@fn("is_odd", "int")
def is_odd(x: int) -> bool:
    return x % 2 == 1


@fn("is_even", "int")
def is_even(x: int) -> bool:
    return x % 2 == 0


@fn("min", "int", "int")
def min_int(a: int, b: int) -> int:
    return min(a, b)


@fn("max", "int", "int")
def max_int(a: int, b: int) -> int:
    return max(a, b)


@fn("min", "num", "num")
def min_num(a: Any, b: Any) -> float:
    return float(min(a, b))


@fn("max", "num", "num")
def max_num(a: Any, b: Any) -> float:
    return float(max(a, b))


for _name, _f in {"floor": m.floor, "ceiling": m.ceil, "int": m.trunc,
                  "int_part": m.trunc}.items():
    def _mk(f: Any) -> Any:
        return lambda x: float(f(x)) if m.isfinite(x) else x
    fn(_name, "float")(_mk(_f))


@fn("round", "float")
def round_(x: float) -> float:
    if not m.isfinite(x):
        return x
    return float(m.floor(x + 0.5)) if x >= 0 else -float(m.floor(-x + 0.5))


@fn("fraction", "float")
def fraction(x: float) -> float:
    return x - m.trunc(x)


@fn("sqrt", "num")
def sqrt(x: Any) -> float:
    return m.sqrt(x) if x >= 0 else m.nan


@fn("exp", "num")
def exp(x: Any) -> float:
    try:
        return m.exp(x)
    except OverflowError:
        return m.inf


@fn("ln", "num")
def ln(x: Any) -> float:
    return m.log(x) if x > 0 else (-m.inf if x == 0 else m.nan)


@fn("log", "num")
def log10(x: Any) -> float:
    return m.log10(x) if x > 0 else (-m.inf if x == 0 else m.nan)


@fn("log", "num", "num")
def log_base(x: Any, base: Any) -> float:
    try:
        return m.log(x, base)
    except (ValueError, ZeroDivisionError):
        return m.nan


for _name in ("sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh",
              "acosh", "atanh"):
    def _mk1(f: Any) -> Any:
        def g(x: Any) -> float:
            try:
                return float(f(x))
            except (ValueError, OverflowError):
                return m.nan
        return g
    fn(_name, "num")(_mk1(getattr(m, _name)))


@fn("atan", "num", "num")
def atan2(y: Any, x: Any) -> float:
    return m.atan2(y, x)


@fn("hypot", "num", "num")
def hypot(x: Any, y: Any) -> float:
    return m.hypot(x, y)


@fn("PI")
def pi() -> float:
    return m.pi


@fn("E")
def e() -> float:
    return m.e


@fn("is_nan", "float")
def is_nan(x: float) -> bool:
    return x != x


@fn("is_finite", "float")
def is_finite(x: float) -> bool:
    return m.isfinite(x)


@fn("is_infinite", "float")
def is_infinite(x: float) -> bool:
    return m.isinf(x)


@fn("to_degrees", "num")
def to_degrees(x: Any) -> float:
    return m.degrees(x)


@fn("to_radians", "num")
def to_radians(x: Any) -> float:
    return m.radians(x)


@fn("rand")
def rand() -> int:
    return random.randint(MIN_INT, MAX_INT)


@fn("rand", "int", "int")
def rand_range(a: int, b: int) -> int:
    return random.randint(a, b - 1) if b > a else a


@fn("rand_float")
def rand_float() -> float:
    return random.random()
