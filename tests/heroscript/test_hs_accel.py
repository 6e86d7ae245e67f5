"""The C accelerator (_speedups.c) gives exactly the pure-Python parser's results and errors,
and it is what `parse` uses when it is built (CI builds it with `pip install -e '.[dev]'`)."""
from __future__ import annotations

import os
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_hs_properties import PARAM_TOKENS, SETTINGS, TOKENS, actions

from herocelery.errors import HeroScriptError
from herocelery.heroscript import parser
from herocelery.heroscript._accel import accelerated, scanner
from herocelery.heroscript.model import Action
from herocelery.heroscript.parser import parse_items
from herocelery.heroscript.serialize import serialize

PURE_FORCED = os.environ.get("HEROCELERY_PURE_PYTHON", "") not in ("", "0")


def outcome(text: str, pure: bool, **kw: Any) -> tuple[str, object, object]:
    """What parsing gives: the items (every field of every action) and the warnings, or
    the error with its message and position."""
    warnings: list[tuple[int, int, str]] = []
    try:
        items = parse_items(text, "t.hero", warnings=warnings, pure=pure, **kw)
    except HeroScriptError as exc:
        return "error", str(exc), (exc.file, exc.line, exc.column, exc.source_line)
    return "ok", items, warnings


def assert_same(text: str, **kw: Any) -> None:
    """Same outcome through both paths; the text is also parsed twice over, because the C
    scan hands a line with a name or key it has not seen yet in this text to Python."""
    for doubled in (text, f"{text}\n{text}"):
        for keep_text in (False, True):
            fast = outcome(doubled, pure=False, keep_text=keep_text, **kw)
            pure = outcome(doubled, pure=True, keep_text=keep_text, **kw)
            assert fast == pure, doubled


# -- the accelerator is in use ------------------------------------------------------------

@pytest.mark.skipif(PURE_FORCED, reason="HEROCELERY_PURE_PYTHON forces the Python parser")
def test_the_accelerator_is_built_and_parse_uses_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from herocelery.heroscript import _speedups  # noqa: F401  (fails: extension not built)
    assert accelerated() and scanner() is not None
    calls: list[int] = []
    line = parser._Parser.line

    def counted(self: parser._Parser, raw: str, lineno: int) -> None:
        calls.append(lineno)
        line(self, raw, lineno)
    monkeypatch.setattr(parser._Parser, "line", counted)
    text = "// first\n!!a.b x:1 y:'two words'\n    z:3\n\n" * 100
    assert len(parser.parse(text)) == 100
    assert calls == []
    calls.clear()
    assert len(parser.parse(text, pure=True)) == 100
    assert len(calls) == text.count("\n") + 1


def test_pure_python_can_be_forced_by_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEROCELERY_PURE_PYTHON", "1")
    scanner.cache_clear()
    try:
        assert scanner() is None
    finally:
        monkeypatch.delenv("HEROCELERY_PURE_PYTHON")
        scanner.cache_clear()


# -- same results -------------------------------------------------------------------------

EXAMPLES = [
    "!!a.b x:1\n",
    "!!a.b x: //c y:  // d\n    z:   //e\n",
    "!!a.b x:1 x:2 id:3\n    x:'4' id:5 // dup\n",
    "!!a.b\n    s:'\n        one\n\n          two\n        '\n    t:\"\"\"\n    x\n    \"\"\"\n",
    "!!a.b\n    s:'''\n    '\n    \"\n    '''\n",
    "!!a.b\n    x:1\n    s:'\n    never closed\n",
    "!!a.b s:'\n  '\n!!a.c\n",
    "<!-- a\nb --> c\n!!a.b\n<!-- open\n",
    "text\n\n// c1\n!!a.b\nmore text\n\n  indented text\n// trailing\n",
    "    !!a.b x:1\n      y:2\n    !!a.c\n",
    "!!a.b x:'it\\'s' y:\"a\\\\b\" z:'C:\\new' 'two words' bare l:[a, 'b c'] m:a , b\n",
    "!!a.b é:1\n    中:'文字' x:😀 'é😀'\n",
    "!!a.b x:1\u00a0y:2\n",          # no-break space: the whole text goes to Python
    "!!a.b\n    x:1\x0c\n",
    "!!!!!a.b\n", "!!a.b.c\n", "!!\n", "!!a.b\n my:1\n", "!!a.b\n    my-key:1\n",
    "!!a.b x:'open\n", "!!a.b x:'a'b\n", "!!a.b :x\n", "![img](x)\n!x.y\n!!!m\n!!!!w\n",
    "!!a.b " + " ".join(f"k{i}:{i}" for i in range(300)) + "\n",
    "",
    "\n\n",
    "!!a.b\n\t\tx:1\r\n\ty:2\r",
]


@pytest.mark.parametrize("text", EXAMPLES, ids=lambda text: repr(text[:24]))
def test_examples_parse_the_same_through_both_paths(text: str) -> None:
    assert_same(text)
    assert_same(text, keep_ids=True)


@SETTINGS
@given(st.lists(actions(), max_size=6))
def test_random_playbooks_parse_the_same_through_both_paths(acts: list[Action]) -> None:
    assert_same(serialize(acts))


@settings(SETTINGS, max_examples=600)
@given(st.one_of(st.text(), st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)))
def test_random_text_gives_the_same_actions_or_error_through_both_paths(text: str) -> None:
    assert_same(text)


INDENTS = ["", " ", "  ", "    ", "      ", "\t"]
LINE_STARTS = ["!!a.b", "!!a.c", "!x", "!!!!!x", "![i]", "//", "<!--", "-->", "text", "",
               "k:'", "k:'''", 'k:"', "'", '"', "'''", "id:'", "é", "😀", "中"]
LINE = st.builds(lambda i, s, body: i + s + (" " if s and body else "") + body,
                 st.sampled_from(INDENTS), st.sampled_from(LINE_STARTS),
                 st.lists(st.sampled_from(PARAM_TOKENS), max_size=8).map("".join))


@settings(SETTINGS, max_examples=600)
@given(st.lists(LINE, max_size=12).map("\n".join), st.booleans())
def test_random_lines_give_the_same_actions_or_error_through_both_paths(
        text: str, keep_ids: bool) -> None:
    assert_same(text, keep_ids=keep_ids)


@settings(SETTINGS, max_examples=1000)
@given(st.lists(st.sampled_from(PARAM_TOKENS), max_size=14).map("".join))
def test_random_param_lines_give_the_same_params_or_error_through_both_paths(
        line: str) -> None:
    assert_same(f"!!a.b {line}\n    {line}\n  {line}\n")


# mostly valid playbooks, so that lines after the first reach the scan
KEYS = ["k", "Key", "a.b", "x/y,z", "id", "my-key", "é", "k"]
VALUES = ["", "v", "'a b'", '"it\'s"', "'a\\'b'", "'C:\\new'", "[a, 'b c']", "[a", "['x]",
          "a,b", "a , b", "a,", "'a','b'", "'open", "//x", "x//y", "a'b", "é中", "😀", "''"]
PARAM = st.one_of(
    st.builds(lambda k, sp, v: f"{k}:{sp}{v}", st.sampled_from(KEYS),
              st.sampled_from(["", " ", "  "]), st.sampled_from(VALUES)),
    st.sampled_from(["word", "'two words'", "'open", "x'y", ":x", "/a", "é"]),
    st.sampled_from(["// note", "//", "// é"]))
PARAMS = st.lists(st.tuples(st.sampled_from([" ", "  ", "", ","]), PARAM), max_size=4).map(
    lambda ps: "".join(sep + p for sep, p in ps).lstrip())
QUOTES = ["'", '"', "'''", '"""']


@st.composite
def playbooks(draw: st.DrawFn) -> str:
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 5))):
        lines += draw(st.lists(st.sampled_from(
            ["// c", "<!-- x", "y -->", "<!-- z -->", "", "text", "  ", "![i](a)"]), max_size=2))
        lines.append(draw(st.sampled_from(["!!a.b", "!x.Y-z", "!!!m", "!!!!w.x", "!!a.b.c",
                                           "!!é.b"])) + " " + draw(PARAMS))
        for _ in range(draw(st.integers(0, 3))):
            indent = draw(st.sampled_from(["  ", "    ", "\t", "      "]))
            if draw(st.booleans()):
                lines.append(indent + draw(PARAMS))
                continue
            lines.append(f"{indent}{draw(st.sampled_from(KEYS))}:"
                         f"{draw(st.sampled_from(['', ' ']))}{draw(st.sampled_from(QUOTES))}")
            lines += draw(st.lists(st.sampled_from(
                ["  x", "    y = 1", "", "  ", "'", '"', "'''", " z"]), max_size=3))
            lines.append(draw(st.sampled_from(["", "  "])) + draw(st.sampled_from(QUOTES)))
    return "\n".join(lines)


@settings(SETTINGS, max_examples=1000)
@given(playbooks(), st.booleans())
def test_random_mostly_valid_playbooks_parse_the_same_through_both_paths(
        text: str, keep_ids: bool) -> None:
    assert_same(text, keep_ids=keep_ids)
