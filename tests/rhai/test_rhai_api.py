"""The front door: evaluate, Engine (functions, modules), to_json / from_json / to_display."""
from __future__ import annotations

import math

import pytest

from herocelery.runners.rhai import (
    Engine,
    Limits,
    Module,
    RhaiParseError,
    RhaiRuntimeError,
    evaluate,
    from_json,
    to_display,
    to_json,
)
from herocelery.runners.rhai.values import Char, FnPtr, IRange


def test_scope_values_go_in_and_their_changes_come_out() -> None:
    scope = {"x": 40, "items": [1, 2], "cfg": {"on": True}}
    assert evaluate("x += 2; items.push(3); cfg.on = false; x", scope=scope) == 42
    assert scope == {"x": 42, "items": [1, 2, 3], "cfg": {"on": False}}


def test_scope_values_are_converted_from_python() -> None:
    assert evaluate("type_of(t) + type_of(big) + type_of(n)",
                    scope={"t": (1, 2), "big": 2**70, "n": None}) == "arrayf64()"


def test_registered_functions_are_callable_as_functions_and_methods() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    def pair(a: object) -> tuple[object, object]:
        return (a, a)
    assert evaluate("add(1, 2) + 10.add(20)", functions={"add": add}) == 33
    assert evaluate("pair(\"x\")", functions={"pair": pair}) == ["x", "x"]


def test_variadic_and_optional_python_functions() -> None:
    def total(*xs: int) -> int:
        return sum(xs)

    def greet(name: str, greeting: str = "hi") -> str:
        return f"{greeting} {name}"
    fns = {"total": total, "greet": greet}
    assert evaluate("[total(), total(1, 2, 3), greet(\"a\"), greet(\"b\", \"yo\")]",
                    functions=fns) == [0, 6, "hi a", "yo b"]


def test_print_and_debug_callbacks() -> None:
    printed: list[str] = []
    debugged: list[str] = []
    evaluate('print("a"); print([1, "b"]); debug("c"); debug(\'d\')',
             on_print=printed.append, on_debug=debugged.append)
    assert printed == ["a", '[1, "b"]']
    assert debugged == ['"c"', "'d'"]


def test_engine_modules_from_dicts_modules_and_source() -> None:
    engine = Engine()
    engine.register_module("m", {"twice": lambda x: x * 2, "K": 21})
    engine.register_module("mm", Module(fns={"hello": lambda: "hello"}))
    # a module script exports its functions and what it `export`s (Rhai: export.md)
    engine.register_module("src", "fn inc(x) { x + 1 } private fn hidden() { 0 } "
                                  "export const N = 5;")
    assert engine.evaluate('import "m" as m; m::twice(m::K)') == 42
    assert engine.evaluate('import "mm" as mm; mm::hello()') == "hello"
    assert engine.evaluate('import "src" as s; s::inc(s::N)') == 6
    with pytest.raises(RhaiRuntimeError, match="hidden"):
        engine.evaluate('import "src" as s; s::hidden()')
    with pytest.raises(RhaiRuntimeError, match="Module not found: m"):
        engine.evaluate("m::twice(1)")


def test_engine_is_reusable_and_evaluations_are_independent() -> None:
    engine = Engine(Limits(max_operations=10_000))
    assert engine.evaluate("fn f() { 1 } f()") == 1
    with pytest.raises(RhaiRuntimeError, match="Function not found: f"):
        engine.evaluate("f()")


@pytest.mark.parametrize(("value", "shown"), [
    (42, "42"), (3.5, "3.5"), (1.0, "1.0"), (-0.5, "-0.5"), (1e20, "1e20"), (True, "true"),
    ("text", "text"), (Char("c"), "c"), (None, "()"), ([1, "a", Char("c")], "[1, \"a\", 'c']"),
    ({"a": 1}, '#{"a": 1}'), ({"b": [None], "a": {"x": 1.5}}, '#{"a": #{"x": 1.5}, "b": [()]}'),
    (IRange(1, 5), "1..5"), (IRange(1, 5, True), "1..=5"), (FnPtr("foo"), "Fn(foo)"),
    (float("nan"), "NaN"), (math.inf, "inf"), ("quote\"d", 'quote"d'),
    (["quote\"d\n"], '["quote\\"d\\n"]'),
])
def test_to_display_matches_rhai_to_string(value: object, shown: str) -> None:
    assert to_display(value) == shown


def test_to_json_and_from_json_round_trip() -> None:
    data = {"a": [1, 2.5, None, True, "s"], "b": {"c": []}}
    assert to_json(from_json(data)) == data
    assert to_json([Char("x"), IRange(0, 3), float("inf")]) == ["x", [0, 1, 2], None]
    assert from_json({1: (1, 2)}) == {"1": [1, 2]}
    assert to_json(evaluate("#{f: |x| x}"))["f"].startswith("Fn(")


def test_script_modules_run_under_the_evaluations_limits_and_output() -> None:
    engine = Engine(Limits(max_operations=1_000))
    engine.register_module("u", 'fn spin() { loop {} } fn hi() { print("from module"); 1 } '
                                "fn f(x) { x + 1 }")
    out: list[str] = []
    script = 'import "u" as u; fn f(x) { x * 100 } [u::hi(), u::f(1), f(1)]'
    assert engine.evaluate(script, on_print=out.append) == [1, 2, 100]
    assert out == ["from module"]
    with pytest.raises(RhaiRuntimeError, match="Too many operations"):
        engine.evaluate('import "u" as u; u::spin()')


def test_a_module_with_a_syntax_error_is_refused_when_registered() -> None:
    from herocelery.runners.rhai import RhaiParseError
    with pytest.raises(RhaiParseError, match="Expecting a function name"):
        Engine().register_module("bad", "fn (")


def test_eval_runs_in_the_callers_scope_and_its_variables_come_back_out() -> None:
    # Rhai's tests/eval.rs: test_eval_function (eval_with_scope keeps the script's variables)
    scope: dict[str, object] = {}
    script = """
        let x = 10;
        fn foo(x) { x += 12; x }
        let script = "let y = x;";
        script +=    "y += foo(y);";
        script +=    "x + y";
        eval(script) + x + y
    """
    assert evaluate(script, scope=scope) == 84
    assert scope == {"x": 10, "y": 32, "script": "let y = x;y += foo(y);x + y"}


def test_an_endless_chain_of_evals_is_a_stack_overflow() -> None:
    with pytest.raises(RhaiRuntimeError, match="Stack overflow"):
        evaluate('let s = "eval(s)"; eval(s)')


def test_script_modules_export_what_rhai_exports() -> None:
    # Rhai's tests/modules.rs: test_module_from_ast, test_module_environ, test_module_export
    engine = Engine()
    engine.register_module("another module", "export const foo = true;")
    engine.register_module("testing", """
        fn calc(x) { x + 1 }
        fn add_len(x, y) { x + len(y) }
        fn cross_call(x) { calc(x) }
        private fn hidden() { throw "you shouldn't see me!"; }
        import "another module" as extra;
        export const x = 123;
        let foo = 41;
        let hello;
        let secret = 7;
        foo = calc(foo);
        hello = `hello, ${foo} worlds!`;
        export x as abc;
        export x as xxx;
        export foo;
        export hello;
    """)
    run = engine.evaluate
    assert run('import "testing" as ttt; ttt::abc') == 123
    assert run('import "testing" as ttt; ttt::x') == 123
    assert run('import "testing" as ttt; ttt::xxx') == 123
    assert run('import "testing" as ttt; ttt::foo') == 42
    assert run('import "testing" as ttt; ttt::extra::foo') is True
    assert run('import "testing" as ttt; ttt::hello') == "hello, 42 worlds!"
    assert run('import "testing" as ttt; ttt::calc(999)') == 1000
    assert run('import "testing" as ttt; ttt::cross_call(999)') == 1000
    assert run('import "testing" as ttt; ttt::add_len(ttt::foo, ttt::hello)') == 59
    with pytest.raises(RhaiRuntimeError, match="Function not found: hidden"):
        run('import "testing" as ttt; ttt::hidden()')
    with pytest.raises(RhaiRuntimeError, match="Variable not found: ttt::secret"):
        run('import "testing" as ttt; ttt::secret')
    engine.register_module("environ", "const SECRET = 42; fn foo(x) { global::SECRET + x }")
    assert run('const SECRET = 1; import "environ" as e; e::foo(1)') == 43
    for bad in ["let x = 10; { export x; }", "fn abc(x) { export x; }"]:
        with pytest.raises(RhaiParseError, match="global level"):
            run(bad)
