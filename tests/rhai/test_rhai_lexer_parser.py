"""Lexer and parser: tokens, numbers, strings, positions, precedence, statement boundaries."""
from __future__ import annotations

import pytest

from herocelery.runners.rhai.errors import RhaiParseError
from herocelery.runners.rhai.lexer import tokenize
from herocelery.runners.rhai.parser import parse
from herocelery.runners.rhai.values import Char


def kinds(src: str) -> list[tuple[str, object]]:
    return [(k, v) for k, v, _, _ in tokenize(src)][:-1]


def test_tokens_carry_line_and_position() -> None:
    toks = tokenize("let x = 1;\n  x += 0x10;")
    assert [(t[1], t[2], t[3]) for t in toks[:-1]] == [
        ("let", 1, 1), ("x", 1, 5), ("=", 1, 7), (1, 1, 9), (";", 1, 10),
        ("x", 2, 3), ("+=", 2, 5), (16, 2, 8), (";", 2, 12)]


@pytest.mark.parametrize(("src", "value"), [
    ("1_000", 1000), ("0xff", 255), ("0o17", 15), ("0b101", 5), ("1.5", 1.5), ("2e3", 2000.0),
    ("1.5e-2", 0.015), ("0x8000000000000000", -(2**63)),
])
def test_numbers(src: str, value: object) -> None:
    assert kinds(src) == [("float" if isinstance(value, float) else "int", value)]


def test_a_range_is_not_a_float() -> None:
    assert kinds("1..5") == [("int", 1), ("op", ".."), ("int", 5)]
    assert kinds("1..=5") == [("int", 1), ("op", "..="), ("int", 5)]


def test_strings_chars_and_escapes() -> None:
    assert kinds(r'"a\tb\u00e9\x41"') == [("str", "a\tbéA")]
    assert kinds(r"'\''") == [("char", "'")]


def test_template_strings_hold_their_expressions_tokens() -> None:
    (kind, parts), = kinds("`a${x + 1}b`")
    assert kind == "tmpl"
    assert parts[0] == "a" and parts[2] == "b"
    assert [t[1] for t in parts[1][:-1]] == ["x", "+", 1]


def test_comments_nest_and_are_skipped() -> None:
    assert kinds("1 /* a /* b */ c */ + // d\n 2") == [("int", 1), ("op", "+"), ("int", 2)]


@pytest.mark.parametrize(("src", "message", "pos"), [
    ('"abc', "Unterminated string", (1, 1)),
    ("'ab'", "Invalid character literal", (1, 1)),
    ("/* open", "Unterminated comment", (1, 1)),
    ("1 + \\", "Unknown character", (1, 5)),
    ('"\\q"', "Invalid escape sequence", (1, 2)),
    ("`${1`", "Unterminated", (1, 5)),
])
def test_lexer_errors(src: str, message: str, pos: tuple[int, int]) -> None:
    with pytest.raises(RhaiParseError) as info:
        tokenize(src)
    assert message in str(info.value)
    assert (info.value.line, info.value.column) == pos


def expr_of(src: str) -> str:
    return repr(parse(src).stmts[0].a[0])


@pytest.mark.parametrize(("src", "tree"), [
    ("1 + 2 * 3", "bin('+', lit(1,), bin('*', lit(2,), lit(3,)))"),
    ("2 ** 3 ** 2", "bin('**', lit(2,), bin('**', lit(3,), lit(2,)))"),
    ("a || b && c", "or(var('a',), and(var('b',), var('c',)))"),
    ("a == b < c", "bin('==', var('a',), bin('<', var('b',), var('c',)))"),
    ("a ?? b < c", "bin('<', bin('??', var('a',), var('b',)), var('c',))"),
    ("1 .. 2 + 3", "bin('..', lit(1,), bin('+', lit(2,), lit(3,)))"),
    ("x in a | b", "bin('|', bin('in', var('x',), var('a',)), var('b',))"),
    ("-a.b", "unary('-', prop(var('a',), 'b', False))"),
    ("1 << 2 + 3", "bin('+', bin('<<', lit(1,), lit(2,)), lit(3,))"),
])
def test_precedence_follows_the_rhai_table(src: str, tree: str) -> None:
    assert expr_of(src) == tree


def test_functions_are_collected_and_hoisted() -> None:
    script = parse("f(1); fn f(x) { x } private fn g() { }")
    assert [(f.name, f.params, f.private) for f in script.fns] == [("f", ["x"], False),
                                                                 ("g", [], True)]
    assert len(script.stmts) == 1


def test_char_literals_become_chars() -> None:
    assert type(parse("'x'").stmts[0].a[0].a[0]) is Char


def test_block_statements_need_no_semicolon_but_others_do() -> None:
    assert len(parse("if a { } while b { } for x in y { } c").stmts) == 4
    with pytest.raises(RhaiParseError, match="Expecting ';'"):
        parse("let a = 1 let b = 2")
