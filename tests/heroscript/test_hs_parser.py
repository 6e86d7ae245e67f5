"""The parser against every rule of HEROSCRIPT.md §1-§3 and the examples of §6."""
from __future__ import annotations

import pytest

from herocelery.errors import HeroScriptError
from herocelery.heroscript import parse
from herocelery.heroscript.parser import parse_items


def view(text: str, **kw: object) -> list[dict[str, object]]:
    return [{"kind": a.kind, "actor": a.actor, "name": a.name, "params": a.params,
             "args": a.args, "comments": a.comments, "line": a.line, "column": a.column}
            for a in parse(text, "t.hero", **kw)]  # type: ignore[arg-type]


# -- the examples of HEROSCRIPT.md §6, each parse written out ----------------------------

def test_example_configure_then_start() -> None:
    text = """// configure then start a service
!!supervisor.configure
    name:'default'
    redis_addr:'127.0.0.1:6379'
    http_port:8082

!!supervisor.start name:'default' reset:1
"""
    assert view(text) == [
        {"kind": "sal", "actor": "supervisor", "name": "configure",
         "params": {"name": "default", "redis_addr": "127.0.0.1:6379", "http_port": "8082"},
         "args": [], "comments": ["configure then start a service"], "line": 2, "column": 1},
        {"kind": "sal", "actor": "supervisor", "name": "start",
         "params": {"name": "default", "reset": "1"}, "args": [], "comments": [],
         "line": 7, "column": 1},
    ]


def test_example_payment_with_list_multiline_and_trailing_comment() -> None:
    text = """//payment method for a person
!!payment.add person:fatayera
    name: 'TF Wallet'
    blockchain: 'stellar'   //could also be holochain
    tags: wallet,tft ,primary
    description: '
        Wallet used for TFT.
        Second line kept.
        '
    preferred: false
"""
    [a] = parse(text, "t.hero")
    assert (a.actor, a.name, a.comments) == ("payment", "add", ["payment method for a person"])
    assert a.params == {"person": "fatayera", "name": "TF Wallet", "blockchain": "stellar",
                        "tags": "wallet,tft ,primary",
                        "description": "Wallet used for TFT.\nSecond line kept.",
                        "preferred": "false"}
    assert a.param_comments == {"blockchain": "could also be holochain"}
    assert a.param_pos == {"person": (2, 15), "name": (3, 5), "blockchain": (4, 5),
                           "tags": (5, 5), "description": (6, 5), "preferred": (10, 5)}


def test_example_session_include_site() -> None:
    text = """!!session.env_set key:'ROOT' val:'/data/sites'
!!play.include path:'./sites' replace:'domain:example.com'
!!site.config path:'{ROOT}/main'
"""
    assert [(a["actor"], a["name"], a["params"]) for a in view(text)] == [
        ("session", "env_set", {"key": "ROOT", "val": "/data/sites"}),
        ("play", "include", {"path": "./sites", "replace": "domain:example.com"}),
        ("site", "config", {"path": "{ROOT}/main"}),
    ]


def test_example_calendar_and_task() -> None:
    text = """!!calendar.create when:'+1d' name:'cloud_sync' descr:'discuss cloud product' \
attendees:'jan,alex'
!!task.create title:'Write specs' name:'write_specs' due:'+2d' assignee:'jan' duration:'1h'
"""
    a, b = parse(text)
    assert a.params == {"when": "+1d", "name": "cloud_sync", "descr": "discuss cloud product",
                        "attendees": "jan,alex"}
    assert b.params == {"title": "Write specs", "name": "write_specs", "due": "+2d",
                        "assignee": "jan", "duration": "1h"}


def test_example_flow_file() -> None:
    text = """!!flow.define name:etl context:default

!!flow.job name:extract runner:python
    script:'
        result = [1, 2, 3]
        '

!!flow.job name:double runner:rhai after:extract retries:2 timeout:30s
    script:'
        let out = [];
        for x in INPUTS.extract { out.push(x * 2); }
        out
        '
"""
    d, e, f = parse(text)
    assert d.params == {"name": "etl", "context": "default"}
    assert e.params == {"name": "extract", "runner": "python", "script": "result = [1, 2, 3]"}
    assert f.params["script"] == ("let out = [];\nfor x in INPUTS.extract { out.push(x * 2); }"
                                  "\nout")
    assert f.params["timeout"] == "30s" and f.line == 8


# -- §1 lines ------------------------------------------------------------------------------

def test_text_is_dedented_and_tabs_count_as_four_spaces() -> None:
    text = "        !!a.b x:1\n\t\t  y:2\n        !!a.c\n"
    a, b = parse(text)
    assert a.params == {"x": "1", "y": "2"} and a.column == 9
    assert a.param_pos["y"] == (2, 11)
    assert (b.name, b.line) == ("c", 3)


def test_blank_lines_do_not_end_an_action() -> None:
    [a] = parse("!!a.b\n\n    x:1\n\n\n    y:2\n")
    assert a.params == {"x": "1", "y": "2"}


def test_comments_attach_to_the_next_action_only() -> None:
    text = "// one\n// two\n!!a.b\n// three\nsome markdown\n!!a.c\n<!-- four\nfive -->\n!!a.d\n"
    a, b, c = parse(text)
    assert a.comments == ["one", "two"]
    assert b.comments == []          # other text in between drops "three"
    assert c.comments == ["four", "five"]


def test_indented_comment_line_inside_params_belongs_to_the_action() -> None:
    [a] = parse("!!a.b\n    // about x\n    x:1\n")
    assert a.comments == ["about x"] and a.params == {"x": "1"}


def test_first_unindented_line_ends_the_action_and_is_other_text() -> None:
    items = parse_items("!!a.b x:1\nplain text\n  indented:2\n!!a.c\n")
    assert [type(i).__name__ for i in items] == ["Action", "Text", "Action"]
    assert items[0].params == {"x": "1"}  # type: ignore[union-attr]
    assert items[1].lines == ["plain text", "  indented:2"]  # type: ignore[union-attr]


def test_markdown_image_and_shebang_are_not_actions() -> None:
    text = "#!/usr/bin/env hero\n![logo](a.png)\n!!a.b\n"
    assert [(a.actor, a.name, a.line) for a in parse(text)] == [("a", "b", 3)]


@pytest.mark.parametrize("bangs,kind", [("!", "dal"), ("!!", "sal"), ("!!!", "macro"),
                                        ("!!!!", "wal")])
def test_kinds_by_number_of_bangs(bangs: str, kind: str) -> None:
    [a] = parse(f"{bangs}x.y\n")
    assert a.kind == kind


# -- §2 names ------------------------------------------------------------------------------

def test_names_are_normalised_and_one_part_means_core() -> None:
    a, b = parse("!!My-Actor.Do Thing\n!!Select-Person\n")
    assert (a.actor, a.name, a.args) == ("my_actor", "do", ["Thing"])
    assert (b.actor, b.name) == ("core", "select_person")


# -- §3 params -----------------------------------------------------------------------------

def test_quotes_double_as_single_escapes_and_positional_args() -> None:
    [a] = parse("""!!a.b x:"it's" y:'a\\'b' 'two words' bare z:'' url:http://h.io/p""")
    assert a.params == {"x": "it's", "y": "a'b", "z": "", "url": "http://h.io/p"}
    assert a.args == ["two words", "bare"]


def test_lists_with_quotes_and_brackets_are_kept_as_text() -> None:
    [a] = parse("!!a.b l1:a,b,c l2:[a, 'b c', d] l3:'x y','z'\n")
    assert a.params == {"l1": "a,b,c", "l2": "[a, 'b c', d]", "l3": "'x y','z'"}


@pytest.mark.parametrize("opener", ["'", '"', "'''", '"""'])
def test_multiline_values_with_the_four_openers(opener: str) -> None:
    text = f"!!a.b\n    text:{opener}\n        line one\n          indented\n\n        last\n" \
           f"        {opener}\n    after:1\n"
    [a] = parse(text)
    assert a.params == {"text": "line one\n  indented\n\nlast", "after": "1"}


def test_triple_quoted_block_may_hold_a_single_quote_line() -> None:
    [a] = parse("!!a.b s:'''\n    x = '\n    '\n    '''\n")
    assert a.params["s"] == "x = '\n'"


def test_inline_and_indented_params_join_and_keys_are_lowercased() -> None:
    [a] = parse("!!a.b Name:x\n    Path/To.Key,2:y\n")
    assert a.params == {"name": "x", "path/to.key,2": "y"}


def test_id_is_dropped_by_default_and_kept_on_request() -> None:
    [a] = parse("!!a.b id:7 x:1\n")
    [b] = parse("!!a.b id:7 x:1\n", keep_ids=True)
    assert a.params == {"x": "1"} and a.id == 1
    assert b.params == {"id": "7", "x": "1"}


def test_a_bare_flag_is_a_positional_argument_not_true() -> None:
    [a] = parse("!!x.start reset\n")
    assert a.params == {} and a.args == ["reset"]


def test_trailing_comment_on_the_head_line() -> None:
    [a, b] = parse("!!a.b x:1 // note\n!!a.c // about c\n")
    assert a.param_comments == {"x": "note"} and b.comments == ["about c"]


def test_crlf_line_endings() -> None:
    [a] = parse("!!a.b x:1\r\n    y:'2'\r\n")
    assert a.params == {"x": "1", "y": "2"}


# -- errors with positions -------------------------------------------------------------------

ERRORS = [
    ("!!!!!a.b\n", 1, 1, "too many '!'"),
    ("\n  !!a.b.c x:1\n", 2, 5, "has 3 parts"),
    ("!!.b\n", 1, 3, "empty part"),
    ("!!\n", 1, 1, "name missing"),
    ("!!a.b\n    my-key:1\n", 2, 7, "invalid character '-'"),
    ("!!a.b x:'open\n", 1, 9, "unterminated quote"),
    ("!!a.b 'open\n", 1, 7, "unterminated quote"),
    ("!!a.b x:'a'b\n", 1, 12, "unexpected 'b'"),
    ("!!a.b\n x:1\n", 2, 2, "at least two spaces"),
    ("!!a.b\n    s:'\n        never closed\n", 2, 5, "never closed"),
    ("!!a.b :x\n", 1, 7, "key is empty"),
    ("text\n<!-- open\n", 2, 1, "never closed"),
]


@pytest.mark.parametrize("text,line,col,reason", ERRORS)
def test_errors_name_file_line_column_and_reason(text: str, line: int, col: int,
                                                 reason: str) -> None:
    with pytest.raises(HeroScriptError) as info:
        parse(text, "bad.hero")
    err = info.value
    assert (err.file, err.line, err.column) == ("bad.hero", line, col), str(err)
    assert reason in err.reason
    assert str(err).startswith(f"bad.hero:{line}:{col}: ")
    assert err.source_line is not None and err.source_line in text.replace("\t", "    ")
