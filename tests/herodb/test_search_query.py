"""The FT query language parsed to trees (pure: no server), and its errors with offsets."""
from __future__ import annotations

import math

import pytest

from herocelery.herodb.ftquery import (
    All,
    And,
    Not,
    Or,
    Phrase,
    Prefix,
    QueryError,
    Range,
    Tags,
    Word,
    fields_of,
    parse,
)


@pytest.mark.parametrize("text, tree", [
    ("hello", Word(None, "hello")),
    ("a b", And((Word(None, "a"), Word(None, "b")))),
    ("a AND b", And((Word(None, "a"), Word(None, "b")))),
    ("a | b c", Or((Word(None, "a"), And((Word(None, "b"), Word(None, "c")))))),
    ("a OR b", Or((Word(None, "a"), Word(None, "b")))),
    ("-a", Not(Word(None, "a"))),
    ("NOT a", Not(Word(None, "a"))),
    ('"x y"', Phrase(None, "x y")),
    ("pre*", Prefix(None, "pre")),
    ("*", All()),
    ("@t:(a | b)", Or((Word("t", "a"), Word("t", "b")))),
    ("@t:{ New York | b }", Tags("t", ("New York", "b"))),
    ("@n:[1 (5]", Range("n", 1.0, 5.0, True, False)),
    ("@n:[-inf +inf]", Range("n", -math.inf, math.inf)),
    ("x-y", Word(None, "x-y")),                    # a hyphen inside a word is not NOT
    ("and", Word(None, "and")),                    # operators are upper case
    (r"a\|b", Word(None, "a|b")),
])
def test_trees(text, tree):
    assert parse(text) == tree


@pytest.mark.parametrize("text, offset, message", [
    ("", 0, "the query is empty"),
    ("(a", 2, "expected ')'"),
    ("a )", 2, "unexpected character"),
    ('"open', 0, "unterminated phrase"),
    ("@t:{a", 3, "unterminated tag list"),
    ("@t:{a||b}", 6, "empty tag"),
    ("@n:[1]", 3, "two bounds"),
    ("@n:[a 2]", 4, "'a' is not a number"),
    ("@:x", 1, "field name"),
    ("@t x", 2, "expected ':'"),
    ("AND a", 3, "AND needs something on its left"),
    ("@a:@b:x", 3, "cannot be nested"),
    ("{a}", 0, "must follow a @field"),
])
def test_errors_name_the_offset(text, offset, message):
    with pytest.raises(QueryError) as exc:
        parse(text)
    assert exc.value.offset == offset and message in str(exc.value)


def test_fields_of_names_every_field():
    assert fields_of(parse("@a:x (@b:{y} | -@c:[1 2]) plain")) == {"a", "b", "c"}


def test_a_deep_query_is_refused_not_a_crash():
    with pytest.raises(QueryError, match="nests deeper"):
        parse("(" * 200 + "a" + ")" * 200)
