"""Whatever the input, evaluation returns a value or raises RhaiError - nothing else escapes."""
from __future__ import annotations

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from herocelery.errors import RhaiError
from herocelery.runners.rhai import Limits, evaluate

LIMITS = Limits(max_operations=20_000, max_call_levels=32, max_string_size=100_000,
                max_array_size=10_000, max_map_size=1_000, timeout_s=2.0)

TOKENS = ["let", "x", "y", "=", "1", "2.5", '"s"', "'c'", "+", "-", "*", "/", "%", "**",
          "(", ")", "[", "]", "{", "}", "#{", ":", ",", ";", ".", "..", "..=", "if", "else",
          "while", "loop", "for", "in", "break", "continue", "return", "fn", "f", "|", "||",
          "&&", "==", "!=", "<", ">=", "!", "?", "?.", "??", "switch", "=>", "_", "throw",
          "try", "catch", "this", "true", "()", "len", "push", "map", "Fn", "call", "`",
          "${", "<<", ">>", "&", "^", "do", "until", "const", "import", "as", "::",
          "0x7fffffffffffffff", "-9223372036854775807", "[1, 2]", "x.push(x)", "f(x)"]


def run(src: str) -> None:
    try:
        evaluate(src, limits=LIMITS, on_print=lambda s: None)
    except RhaiError:
        pass


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(" ".join))
def test_random_token_soup_never_escapes(src: str) -> None:
    run(src)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.text(alphabet=string.printable, max_size=60))
def test_random_text_never_escapes(src: str) -> None:
    run(src)


VALUES = ["0", "1", "-1", "2.5", "0.0", '"ab"', "'c'", "true", "()", "[1, 2]", "#{a: 1}",
          "1..3", "|x| x", "9223372036854775807", "[]", '""']
OPS = ["+", "-", "*", "/", "%", "**", "<<", ">>", "&", "|", "^", "==", "!=", "<", "<=", ">",
       ">=", "&&", "||", "??", "in", "..", "..="]
METHODS = ["len()", "push(1)", "pop()", "to_string()", "sort()", "keys()", "map(|x| x)",
           "filter(|x| x)", "contains(1)", "index_of(1)", "sub_string(1)", "split(\",\")",
           "abs()", "floor()", "to_int()", "remove(0)", "call(1)", "curry(1)", "get(0)",
           "reverse()", "trim()", "pad(3, 0)", "extract(1, 1)", "reduce(|a, b| a)"]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(VALUES), st.sampled_from(OPS), st.sampled_from(VALUES))
def test_every_operator_on_every_type_pair(a: str, op: str, b: str) -> None:
    run(f"let a = {a}; let b = {b}; a {op} b")
    run(f"let a = {a}; let b = {b}; a {op}= b; a")
    run(f"let a = {a}; let b = {b}; let r = a {op} b; r")
    run(f"fn f(a, b) {{ a {op} b }} f({a}, {b})")
    run(f"let a = {a}; let b = {b}; if a {op} b {{ 1 }} else {{ 2 }}")
    run(f"let a = {a}; let b = {b}; while a {op} b {{ break; }}")
    run(f"let a = [{a}]; let m = #{{x: {b}}}; let r = a[0] {op} m.x; r")


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.sampled_from(VALUES), st.sampled_from(METHODS), st.sampled_from(VALUES))
def test_every_method_on_every_type(a: str, method: str, idx: str) -> None:
    run(f"let a = {a}; a.{method}")
    run(f"let a = {a}; a[{idx}]")
    run(f"let a = {a}; a[{idx}] = {idx}; a")
    run(f"let a = {a}; for x in a {{ }}")
    run(f"let a = {a}; a.x = 1; a.x")
    run(f"let a = {a}; let r = a[{idx}]; r")
    run(f"let a = {a}; let r = a.x.y; r")
    run(f"let a = {a}; let k = {idx}; a[k] = a[k]; a")
