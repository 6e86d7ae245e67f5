"""Property tests: serialise -> parse round-trips, and any text raises only HeroScriptError."""
from __future__ import annotations

import string

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from herocelery.errors import HeroScriptError
from herocelery.heroscript import Action, Playbook, parse
from herocelery.heroscript.parser import parse_items
from herocelery.heroscript.serialize import action_hash, serialize

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

ALPHABET = string.ascii_letters + string.digits + string.punctuation + " éß中"
NAME = st.text(st.sampled_from(string.ascii_lowercase + string.digits + "_"), min_size=1,
               max_size=8)
KEY = st.builds(lambda a, b: a + b, NAME, st.text(st.sampled_from("abc_./"), max_size=3)) \
    .filter(lambda k: k != "id")
CHARS = st.sampled_from(ALPHABET)
LINE = st.text(CHARS, max_size=20)


def _representable_block(lines: list[str]) -> bool:
    nonblank = [x for x in lines if x.strip()]
    return (bool(nonblank) and any(not x[0].isspace() for x in nonblank)
            and all(x == "" or x.strip() for x in lines)
            and not ({"'", '"'} <= {x.strip() for x in lines} and
                     {"'''", '"""'} <= {x.strip() for x in lines}))


MULTI = st.lists(LINE, min_size=2, max_size=4).filter(_representable_block).map("\n".join)
VALUE = st.one_of(LINE, MULTI)
COMMENT = LINE.map(str.strip).filter(lambda c: "\n" not in c)


@st.composite
def actions(draw: st.DrawFn) -> Action:
    params = draw(st.dictionaries(KEY, VALUE, max_size=5))
    return Action(kind=draw(st.sampled_from(["dal", "sal", "macro", "wal"])),
                  actor=draw(NAME), name=draw(NAME), params=params,
                  args=draw(st.lists(LINE.filter(lambda a: "\\" not in a), max_size=3)),
                  comments=draw(st.lists(COMMENT, max_size=2)))


def _meaning(a: Action) -> tuple[object, ...]:
    return (a.kind, a.actor, a.name, a.params, a.args, a.comments)


@SETTINGS
@given(st.lists(actions(), max_size=6))
def test_serialise_then_parse_round_trips_random_playbooks(acts: list[Action]) -> None:
    text = serialize(acts)
    parsed = parse(text)
    assert [_meaning(a) for a in parsed] == [_meaning(a) for a in acts], text
    assert [action_hash(a) for a in parsed] == [action_hash(a) for a in acts]
    again = Playbook.from_text(Playbook(parsed).heroscript())
    assert again.hash() == Playbook(parsed).hash()


TOKENS = ["!!", "!", "!!!!!", "a.b", "x.y.z", "key", ":", "'", '"', "'''", '"""', "\n",
          "\n  ", "\n    ", "\n ", "\t", "//", "<!--", "-->", ",", "[", "]", "\\", " ",
          "id:1", "é", "\r\n", "#", "![", "value", "{x}", "-", "."]


@settings(SETTINGS, max_examples=600)
@given(st.one_of(st.text(), st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)))
@example("<!---->\n  a.b")  # text indented under a dropped comment: fmt must stay idempotent
def test_any_text_only_ever_raises_heroscript_error(text: str) -> None:
    try:
        items = parse_items(text, "r.hero")
    except HeroScriptError as exc:
        assert exc.line is None or exc.line >= 1
        return
    acts = [i for i in items if isinstance(i, Action)]
    # whatever parsed, its canonical text parses back to the same actions and hashes
    again = parse(serialize(acts))
    assert [action_hash(a) for a in again] == [action_hash(a) for a in acts]
    # and formatting is idempotent
    once = serialize(items)
    assume("\t" not in text)
    assert serialize(parse_items(once)) == once


PARAM_TOKENS = ["k", "key", "a.b", ":", " ", "  ", "'", '"', "\\", ",", " ,", ", ", "[", "]",
                "//", "/", "x", "it's", "id", "é", "-", "{x}", ":'", "''", "v1"]


def _parse_exact(text: str) -> list[tuple[object, ...]]:
    from herocelery.heroscript import parser as p

    def exact(self: p._Parser, act: Action, line: str, lineno: int, pos: int) -> None:
        self.params_exact(act, line.rstrip(), lineno, pos)
    original = p._Parser.params
    p._Parser.params = exact  # type: ignore[method-assign]
    try:
        return [(a.params, a.args, a.param_comments, a.param_pos)
                for a in parse(text, pure=True)]
    finally:
        p._Parser.params = original  # type: ignore[method-assign]


@settings(SETTINGS, max_examples=500)
@given(st.lists(st.sampled_from(PARAM_TOKENS), max_size=14).map("".join))
def test_the_fast_token_path_agrees_with_the_exact_path(line: str) -> None:
    # the Python parser's two tokenizers; test_hs_accel checks the C scan against it
    text = f"!!a.b {line}\n    {line}\n"
    try:
        fast = [(a.params, a.args, a.param_comments, a.param_pos)
                for a in parse(text, pure=True)]
    except HeroScriptError as exc:
        fast_err: HeroScriptError | None = exc
    else:
        fast_err = None
    try:
        exact = _parse_exact(text)
    except HeroScriptError as exc:
        assert fast_err is not None and (exc.line, exc.column, exc.reason) == \
            (fast_err.line, fast_err.column, fast_err.reason)
        return
    assert fast_err is None and fast == exact
