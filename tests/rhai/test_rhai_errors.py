"""Errors like Rhai's: the problem, then `(line L, position P)`; uncaught throws carry their
value."""
from __future__ import annotations

import pytest

from herocelery.errors import RhaiError, ScriptError
from herocelery.runners.rhai import RhaiParseError, RhaiRuntimeError, RhaiThrow, evaluate


def error_of(script: str) -> RhaiError:
    with pytest.raises(RhaiError) as info:
        evaluate(script, on_print=lambda s: None)
    return info.value


@pytest.mark.parametrize(("script", "message", "line", "col"), [
    ("let x = 1;\nlet y = 2;\nlet z = x + w;", "Variable not found: w", 3, 13),
    ("let x = 1;\nfn f(a) {\n  a + nope\n}\nf(x)", "Variable not found: nope", 3, 7),
    ("let x = 1;\n  x.foo(1)", "Function not found: foo (i64, i64)", 2, 5),
    ("\n\n   undefined_fn(1, \"a\")", "Function not found: undefined_fn (i64, string)", 3, 4),
    ("let a = [];\n a[3]", "Array index 3 out of bounds", 2, 3),
    ("let x = 9223372036854775807;\nlet y = x + 1;", "Addition overflow", 2, 11),
    ("let q = 10 / 0;", "Division by zero: 10 / 0", 1, 12),
    ("const C = 1;\nC = 2;", "Cannot modify constant: C", 2, 1),
    ("if 42 { }", "Data type incorrect: i64 (expecting bool)", 1, 1),
    ("let x = 1\nlet y = 2;", "Expecting ';' to terminate this statement", 2, 1),
    ("let x = (1 + 2;", "Expecting ')' to close the parenthesis", 1, 15),
    ("let s = \"abc", "Unterminated string", 1, 9),
    ("fn f() {\n  throw \"bad\";\n}\nf();", "Runtime error: bad", 2, 3),
    ("let t = 1;\nfor x in t { }", "For loop expects an iterable type", 2, 1),
    ("let m = #{a: 1};\nm.a.b.c = 5;", "Property not found: b", 2, 5),
    ("let n = 1;\nn.x = 5;", "Cannot set property x of i64", 2, 3),
])
def test_errors_name_the_problem_and_the_position(script: str, message: str,
                                                   line: int, col: int) -> None:
    err = error_of(script)
    assert message in str(err)
    assert (err.line, err.column) == (line, col), str(err)
    assert str(err).endswith(f"(line {line}, position {col})")


def test_parse_and_runtime_errors_have_their_own_kinds() -> None:
    assert isinstance(error_of("let = 1;"), RhaiParseError)
    assert isinstance(error_of("nope"), RhaiRuntimeError)
    err = error_of("1 + ")
    assert isinstance(err, ScriptError)
    assert err.to_record()["type"] == "RhaiParseError"
    assert err.to_record()["line"] == 1


@pytest.mark.parametrize(("script", "value"), [
    ('throw "boom";', "boom"),
    ("throw 42;", 42),
    ("throw #{code: 7, why: \"x\"};", {"code": 7, "why": "x"}),
    ("throw;", None),
    ("fn f() { throw [1, 2]; } f()", [1, 2]),
])
def test_an_uncaught_throw_carries_its_value(script: str, value: object) -> None:
    err = error_of(script)
    assert isinstance(err, RhaiThrow)
    assert err.value == value
    assert str(err).startswith("Runtime error: ")


def test_errors_inside_callbacks_keep_their_position() -> None:
    err = error_of("let a = [1, 2];\na.map(|x| x / 0)")
    assert "Division by zero" in str(err)
    assert err.line == 2


def test_errors_from_registered_python_functions_are_rhai_errors() -> None:
    def explode(x: int) -> int:
        raise ValueError("kaput")
    with pytest.raises(RhaiRuntimeError) as info:
        evaluate("let v = 1;\nexplode(v)", functions={"explode": explode})
    assert "explode" in str(info.value) and "kaput" in str(info.value)
    assert info.value.line == 2
