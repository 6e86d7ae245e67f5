"""Rhai operators on values (the general, slower path): checked i64, floats, strings...

The compiler inlines the common int cases; everything else comes here. Pure functions: they
return the result or raise RhaiRuntimeError (position filled in by the caller).
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from .errors import DIV_ZERO, OVERFLOW, FnNotFound, RhaiRuntimeError
from .values import MAX_INT, MIN_INT, Char, IRange, Timestamp, to_display, type_name

NAMES = {"+": "Addition", "-": "Subtraction", "*": "Multiplication", "/": "Division",
         "%": "Modulo", "**": "Power", "<<": "Left-shift", ">>": "Right-shift"}


def not_found(op: str, *args: Any) -> FnNotFound:
    return FnNotFound(f"Function not found: {op} ({', '.join(type_name(a) for a in args)})")


def check(v: int, op: str, a: Any, b: Any) -> int:
    if MIN_INT <= v <= MAX_INT:
        return v
    raise RhaiRuntimeError(OVERFLOW.format(NAMES[op], a, op, b))


def int_div(a: int, b: int) -> int:
    if b == 0:
        raise RhaiRuntimeError(DIV_ZERO.format(a, "/", b))
    q = abs(a) // abs(b)
    q = q if (a >= 0) == (b >= 0) else -q
    return check(q, "/", a, b)


def int_mod(a: int, b: int) -> int:
    if b == 0:
        raise RhaiRuntimeError(DIV_ZERO.format(a, "%", b))
    if b == -1 and a == MIN_INT:          # Rust's checked_rem overflows here
        raise RhaiRuntimeError(OVERFLOW.format("Modulo", a, "%", b))
    r = abs(a) % abs(b)
    return r if a >= 0 else -r


def int_pow(a: int, b: int) -> int:
    if b < 0:
        raise RhaiRuntimeError(f"Integer raised to a negative index: {a} ** {b}")
    if b > 64 and a not in (-1, 0, 1):
        raise RhaiRuntimeError(OVERFLOW.format("Power", a, "**", b))
    return check(a ** b, "**", a, b)


def shl(a: int, b: int) -> int:
    if b < 0:
        return shr(a, -b)
    if b >= 64:
        raise RhaiRuntimeError(OVERFLOW.format("Left-shift", a, "<<", b))
    v = (a << b) & 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v > MAX_INT else v


def shr(a: int, b: int) -> int:
    if b < 0:
        return shl(a, -b)
    if b >= 64:
        raise RhaiRuntimeError(OVERFLOW.format("Right-shift", a, ">>", b))
    return a >> b


def fdiv(a: float, b: float) -> float:
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def fmod(a: float, b: float) -> float:
    if b == 0:
        return math.nan
    return math.fmod(a, b)


def fpow(a: float, b: float) -> float:
    try:
        r = math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:
        return math.nan
    return r


INT_OPS: dict[str, Callable[[int, int], Any]] = {
    "+": lambda a, b: check(a + b, "+", a, b),
    "-": lambda a, b: check(a - b, "-", a, b),
    "*": lambda a, b: check(a * b, "*", a, b),
    "/": int_div, "%": int_mod, "**": int_pow, "<<": shl, ">>": shr,
    "&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
    "..": lambda a, b: IRange(a, b), "..=": lambda a, b: IRange(a, b, True),
}
FLOAT_OPS: dict[str, Callable[[float, float], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": fdiv, "%": fmod, "**": fpow,
}
COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b,
}


EPSILON = 2.220446049250313e-16         # f64::EPSILON


def fcmp(op: str, x: float, y: float) -> bool:
    """Rhai's float comparisons (the Book, "Floating-point Comparison"): within epsilon
    (relative to the larger operand, absolute when one is zero) two floats are equal."""
    tol = EPSILON if x == 0 or y == 0 else max(abs(x), abs(y)) * EPSILON
    if op == "==":
        return abs(x - y) < tol
    if op == "!=":
        return abs(x - y) >= tol
    if op == ">":
        return x - y >= tol
    if op == ">=":
        return x - y >= -tol
    if op == "<":
        return y - x >= tol
    return y - x >= -tol                   # "<="


def equals(a: Any, b: Any) -> bool:
    """Rhai `==`: numbers compare across int/float; other types only with their own type."""
    ta, tb = type(a), type(b)
    if ta is tb:
        if ta is list:
            return len(a) == len(b) and all(equals(x, y) for x, y in zip(a, b, strict=False))
        if ta is dict:
            return a.keys() == b.keys() and all(equals(a[k], b[k]) for k in a)
        if ta is float:
            return fcmp("==", a, b)
        return bool(a == b)
    if (ta is int and tb is float) or (ta is float and tb is int):
        return fcmp("==", float(a), float(b))
    if (ta is str and tb is Char) or (ta is Char and tb is str):
        return str.__eq__(a, b)
    return False


def contains(container: Any, item: Any) -> bool:
    """Rhai `in`."""
    t = type(container)
    if t is list:
        return any(equals(x, item) for x in container)
    if t is dict:
        if type(item) not in (str, Char):
            raise not_found("contains", container, item)
        return item in container
    if t is str:
        if type(item) not in (str, Char):
            raise not_found("contains", container, item)
        return item in container
    if t is IRange:
        return type(item) is int and item in container.py()
    raise not_found("contains", container, item)


def binary(op: str, a: Any, b: Any) -> Any:
    """Apply a binary operator to any two values; errors name the types."""
    ta, tb = type(a), type(b)
    if ta is int and tb is int:
        if op in INT_OPS:
            return INT_OPS[op](a, b)
        if op in COMPARE:
            return COMPARE[op](a, b)
    elif (ta is float or ta is int) and (tb is float or tb is int):
        if op in FLOAT_OPS:
            return FLOAT_OPS[op](float(a), float(b))
        if op in COMPARE or op == "==" or op == "!=":
            return fcmp(op, float(a), float(b))
    if ta is Timestamp:
        if tb is Timestamp:
            if op == "-":
                return a.t - b.t
            if op in COMPARE:
                return COMPARE[op](a.t, b.t)
        elif (tb is int or tb is float) and op in ("+", "-"):
            return Timestamp(a.t + b if op == "+" else a.t - b)
    if op == "==":
        return equals(a, b)
    if op == "!=":
        return not equals(a, b)
    if op == "in":
        return contains(b, a)
    if op == "!in":
        return not contains(b, a)
    if ta is bool and tb is bool and op in ("&", "|", "^"):
        return {"&": a and b, "|": a or b, "^": a != b}[op]
    if op == "+":
        if ta is str or ta is Char:
            if tb is str or tb is Char:
                return str.__add__(a, b) if ta is str else str(a) + b
            if tb is bytearray:
                return str(a) + b.decode("utf-8", "replace")
            return str(a) + ("" if b is None else to_display(b))
        if tb is str or tb is Char:
            return ("" if a is None else to_display(a)) + str(b)
        if ta is list and tb is list:
            return a + b
        if ta is dict and tb is dict:
            return {**a, **b}
        if ta is bytearray:
            if tb is bytearray:
                return a + b
            if tb is int:
                return a + bytes([b & 0xFF])
            if tb is str or tb is Char:
                return a + str(b).encode()
        if tb is bytearray and (ta is str or ta is Char):
            return str(a) + b.decode("utf-8", "replace")
    if op == "-" and ta is str and (tb is str or tb is Char):
        return a.replace(b, "")
    if op == "*" and ta is str and tb is int:
        return a * max(b, 0)
    if op in COMPARE and (ta in (str, Char)) and (tb in (str, Char)):
        return COMPARE[op](str(a), str(b))
    if op in COMPARE and ta is bool and tb is bool:
        return COMPARE[op](a, b)
    if op in COMPARE:
        return False      # Rhai: different types, or a type without an order, compare false
    raise not_found(op, a, b)


_TEXT = (str, Char)


def unary(op: str, a: Any) -> Any:
    t = type(a)
    if op == "-":
        if t is int:
            if a == MIN_INT:
                raise RhaiRuntimeError(f"Negation overflow: -{a}")
            return -a
        if t is float:
            return -a
    elif op == "+":
        if t is int or t is float:
            return a
    elif op == "!":
        if t is bool:
            return not a
    raise not_found(op, a)


def truthy(v: Any, what: str = "Condition") -> bool:
    """Rhai conditions must be booleans."""
    if v is True or v is False:
        return v
    raise RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting bool)")
