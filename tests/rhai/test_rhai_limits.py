"""Limits: operations, call depth, expression depth, sizes, wall-clock time - each an error,
never a hang and never a Python RecursionError."""
from __future__ import annotations

import time

import pytest

from herocelery.errors import RhaiError
from herocelery.runners.rhai import Engine, Limits, evaluate
from herocelery.runners.rhai.errors import RhaiLimitError, RhaiParseError


def fails(script: str, **kw: object) -> RhaiError:
    with pytest.raises(RhaiError) as info:
        evaluate(script, **kw)  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize("script", [
    "loop { }",
    "let i = 0; while true { i += 1; }",
    "do { } while true;",
    "for i in 0..9223372036854775807 { }",
    "fn f(n) { if n > 0 { f(n - 1) + f(n - 1) } else { 0 } } f(40)",
])
def test_max_operations_stops_any_endless_script(script: str) -> None:
    err = fails(script, limits=Limits(max_operations=5_000))
    assert isinstance(err, RhaiLimitError)
    assert "Too many operations" in str(err)


def test_the_operation_budget_allows_work_below_it() -> None:
    assert evaluate("let s = 0; for i in 0..1000 { s += i; } s",
                    limits=Limits(max_operations=2_000)) == 499500


@pytest.mark.parametrize("kw", [{"limits": Limits(timeout_s=0.3)},
                                {"deadline": None}])
def test_wall_clock_timeout_ends_an_endless_loop(kw: dict[str, object]) -> None:
    if kw.get("deadline", 0) is None:
        kw = {"deadline": time.monotonic() + 0.3}
    t0 = time.monotonic()
    err = fails("let x = 0; loop { x += 1; }", **kw)
    assert "Script terminated" in str(err)
    assert time.monotonic() - t0 < 5


def test_sleep_respects_the_deadline() -> None:
    t0 = time.monotonic()
    err = fails("sleep(30)", deadline=time.monotonic() + 0.3)
    assert "Script terminated" in str(err)
    assert time.monotonic() - t0 < 5


@pytest.mark.parametrize("levels", [8, 64, 500])
def test_call_depth_is_limited(levels: int) -> None:
    err = fails("fn f(n) { f(n + 1) } f(0)", limits=Limits(max_call_levels=levels))
    assert "Stack overflow" in str(err)
    ok = f"fn f(n) {{ if n == 0 {{ 0 }} else {{ 1 + f(n - 1) }} }} f({levels - 2})"
    assert evaluate(ok, limits=Limits(max_call_levels=levels)) == levels - 2


def test_mutual_recursion_through_closures_and_natives_is_limited() -> None:
    assert "Stack overflow" in str(fails("let f = |x| x.call(x); f.call(f)"))
    assert "Stack overflow" in str(fails("fn f(x) { [x].map(|y| f(y)) } f(1)"))


def test_huge_call_level_setting_is_still_safe() -> None:
    err = fails("fn f(n) { f(n + 1) } f(0)", limits=Limits(max_call_levels=10**9))
    assert "Stack overflow" in str(err)


@pytest.mark.parametrize("script", [
    "(" * 3000 + "1" + ")" * 3000,
    "{" * 3000 + "}" * 3000,
    "-" * 3000 + "1",
    "!" * 3000 + "true",
    "[" * 3000 + "]" * 3000,
    "#{a:" * 3000 + "1" + "}" * 3000,
    "`${" * 300 + "1" + "}`" * 300,
    "|x| " * 3000 + "1",
    "if true { " * 3000 + "}" * 3000,
    "f(" * 3000 + ")" * 3000,
    "1" + " + 1" * 20000,
])
def test_deep_nesting_is_a_parse_error_not_a_crash(script: str) -> None:
    err = fails(script)
    assert isinstance(err, RhaiParseError) or "Stack overflow" in str(err) or \
        "complexity" in str(err), str(err)


def test_expression_depth_is_configurable() -> None:
    script = "(" * 20 + "1" + ")" * 20
    assert evaluate(script) == 1
    assert "complexity" in str(fails(script, limits=Limits(max_expr_depth=10)))


@pytest.mark.parametrize(("script", "limits", "what"), [
    ('let s = "x"; loop { s += s; }', Limits(max_string_size=1000), "Length of string"),
    ('let s = "x"; loop { s = s + s; }', Limits(max_string_size=1000), "Length of string"),
    ('let s = "x"; loop { s = `${s}${s}`; }', Limits(max_string_size=1000), "Length of string"),
    ('let s = "x"; loop { s.append(s); }', Limits(max_string_size=1000), "Length of string"),
    ('"ab".repeat(10000)', Limits(max_string_size=1000), "Length of string"),
    ("let a = []; loop { a.push(1); }", Limits(max_array_size=100), "Size of array"),
    ("let a = []; loop { a += 1; }", Limits(max_array_size=100), "Size of array"),
    ("let a = [1]; loop { a += a; }", Limits(max_array_size=100), "Size of array"),
    ("let a = [1]; a.pad(1000000000, 0);", Limits(max_array_size=100), "Size of array"),
    ("let m = #{}; let i = 0; loop { m[`k${i}`] = i; i += 1; }",
     Limits(max_map_size=100), "Size of object map"),
    ("let m = #{}; let i = 0; loop { m.set(`k${i}`, i); i += 1; }",
     Limits(max_map_size=100), "Size of object map"),
])
def test_size_limits(script: str, limits: Limits, what: str) -> None:
    err = fails(script, limits=limits)
    assert isinstance(err, RhaiLimitError)
    assert what in str(err)


def test_limits_cannot_be_caught_by_try() -> None:
    err = fails("try { loop { } } catch { 42 }", limits=Limits(max_operations=1000))
    assert "Too many operations" in str(err)


def test_engine_default_limits_apply_to_each_evaluation() -> None:
    engine = Engine(Limits(max_operations=100))
    with pytest.raises(RhaiLimitError):
        engine.evaluate("loop {}")
    assert engine.evaluate("1 + 1") == 2


def test_deep_recursion_through_callbacks_is_safe_in_threads() -> None:
    import threading
    errors: list[str] = []

    def work() -> None:
        for script in ["fn f(x) { [x].map(|y| f(y)) } f(1)",
                       "fn f(x) { #{a: x}.filter(|k, v| { f(v); true }) } f(1)",
                       "fn f(x) { [x, x].sort(|a, b| { f(a); 0 }) } f(1)"]:
            try:
                evaluate(script, limits=Limits(max_call_levels=100_000))
            except RhaiError as e:
                errors.append(str(e))
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(errors) == 6 and all("Stack overflow" in e for e in errors)


@pytest.mark.parametrize("depth", [9, 12, 16])
def test_deeply_nested_loops_still_compile(depth: int) -> None:
    # CPython allows only 20 nested blocks per function: deep loops become closures
    script = ("let n = 0; " + "".join(f"for i{k} in 0..2 {{ " for k in range(depth))
              + "n += 1; if n > 300 { break; } " + "} " * depth + "n")
    assert evaluate(script) > 300


def test_deeply_nested_ifs_still_compile() -> None:
    script = "fn f(x) { " + "if x > 0 { " * 90 + "1" + " } else { 0 }" * 90 + " } f(1)"
    assert evaluate(script, limits=Limits(max_expr_depth=400)) == 1
    script = "let n = 0; " + "if true { " * 90 + "n += 1; " + "} " * 90 + "n"
    assert evaluate(script, limits=Limits(max_expr_depth=400)) == 1
