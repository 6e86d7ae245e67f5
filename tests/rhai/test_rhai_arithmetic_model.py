"""Checked i64 arithmetic: random expressions against a reference model of Rhai's rules
(wrapping never happens; overflow and division by zero are errors; `/` and `%` truncate)."""
from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herocelery.errors import RhaiError
from herocelery.runners.rhai import evaluate

MAX = 2**63 - 1
MIN = -(2**63)


class Overflow(Exception):
    pass


def model(op: str, a: int, b: int) -> int:
    if op in "/%" and b == 0:
        raise Overflow
    if op == "+":
        r = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    elif op == "/":
        q = abs(a) // abs(b)
        r = q if (a >= 0) == (b >= 0) else -q
    else:
        if a == MIN and b == -1:          # checked_rem overflows
            raise Overflow
        r = abs(a) % abs(b)
        r = r if a >= 0 else -r
    if not MIN <= r <= MAX:
        raise Overflow
    return r


ints = st.one_of(st.integers(-10, 10), st.integers(MIN + 1, MAX),
                 st.sampled_from([MAX, MIN + 1, 2**32, -(2**32), 3037000499, 3037000500]))


@st.composite
def exprs(draw: Any, depth: int = 0) -> tuple[str, Any]:
    if depth > 3 or draw(st.booleans()):
        v = draw(ints)
        return (f"({v})" if v < 0 else str(v)), v
    op = draw(st.sampled_from(["+", "-", "*", "/", "%"]))
    ls, lv = draw(exprs(depth + 1))
    rs, rv = draw(exprs(depth + 1))
    if isinstance(lv, Overflow) or isinstance(rv, Overflow):
        return f"({ls} {op} {rs})", Overflow()
    try:
        return f"({ls} {op} {rs})", model(op, lv, rv)
    except Overflow:
        return f"({ls} {op} {rs})", Overflow()


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(exprs())
def test_expressions_match_the_model(case: tuple[str, Any]) -> None:
    src, expected = case
    # the same expression through three compilation paths: a closure, generated code
    # (a `let` in a statement list) and a function body
    scripts = [src, f"let r = {src}; r", f"fn f() {{ {src} }} f()"]
    for script in scripts:
        if isinstance(expected, Overflow):
            try:
                evaluate(script)
            except RhaiError as e:
                assert "overflow" in str(e) or "Division by zero" in str(e)
            else:
                raise AssertionError(f"{script} should fail")
        else:
            assert evaluate(script) == expected, script


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(["+", "-", "*", "/", "%"]), ints, ints)
def test_compound_assignment_matches_the_model(op: str, a: int, b: int) -> None:
    script = f"let x = {a}; let y = {b}; x {op}= y; x"
    try:
        expected: Any = model(op, a, b)
    except Overflow:
        expected = None
    try:
        got = evaluate(script)
    except RhaiError:
        assert expected is None, script
    else:
        assert got == expected, script
