"""Playbooks: sources, replace map, filters, priorities, includes, env, hashes, handlers."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from herocelery.errors import HeroScriptError
from herocelery.heroscript import DECLINE, Call, Playbook, Registry, parse
from herocelery.heroscript.handlers import session_handlers
from herocelery.heroscript.playbook import apply_replace


def test_ids_priorities_and_done_defaults() -> None:
    pb = Playbook.from_text("!!a.x\n!!b.y\n!!c.z\n")
    assert [(a.id, a.priority, a.done) for a in pb.actions] == [(1, 50, False), (2, 50, False),
                                                                (3, 50, False)]


def test_replace_map_forms_and_untouched_others() -> None:
    text = "!!a.b x:@name y:'${name}' z:{name} w:{other} v:@named mail:a@b.c\n"
    [a] = Playbook.from_text(text, replace={"name": "jan"}).actions
    assert a.params == {"x": "jan", "y": "jan", "z": "jan", "w": "{other}", "v": "@named",
                        "mail": "a@b.c"}
    assert apply_replace("@a @ab", {"a": "1", "ab": "2"}) == "1 2"


def test_from_directory_walks_sorted_and_recursive(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.hero").write_text("!!x.two\n")
    (tmp_path / "1.md").write_text("# doc\n\n!!x.one\n")
    (tmp_path / "3.heroscript").write_text("!!x.three\n")
    (tmp_path / "skip.txt").write_text("!!x.never\n")
    pb = Playbook.from_path(tmp_path)
    assert [a.name for a in pb.actions] == ["one", "three", "two"]  # sorted by path
    assert [a.id for a in pb.actions] == [1, 2, 3]
    assert pb.actions[0].file.endswith("1.md") and pb.actions[0].line == 3


FILTER_TEXT = """!!core.person_select a:1
!!myactor.run
!!greenhouse.water
!!green.x
!!red.y
!!person_select b:2
"""


@pytest.mark.parametrize("spec,expected", [
    ("core.person_select", [1, 6]),
    ("person_select", [1, 6]),
    ("myactor.*", [2]),
    ("green*.*", [3, 4]),
    ("core.person_select,myactor.*,green*.*", [1, 2, 3, 4, 6]),
    ("?ed.[xy]", [5]),
    ("*.*", [1, 2, 3, 4, 5, 6]),
    ("nothing.here", []),
])
def test_filters_with_globs_and_alternatives(spec: str, expected: list[int]) -> None:
    pb = Playbook.from_text(FILTER_TEXT)
    assert [a.id for a in pb.find(spec)] == expected


def test_get_exists_once_max_once_ensure_once_params_get() -> None:
    pb = Playbook.from_text(FILTER_TEXT)
    assert pb.get("myactor.run").id == 2
    assert pb.exists("red.*") and not pb.exists("blue.*")
    assert pb.exists_once("red.y") and not pb.exists_once("person_select")
    assert pb.max_once("red.y") is True and pb.max_once("blue.*") is False
    assert pb.params_get("person_select") == {"a": "1", "b": "2"}
    with pytest.raises(HeroScriptError) as info:
        pb.max_once("person_select")
    assert "<text>:1:1" in info.value.reason and "<text>:6:1" in info.value.reason
    with pytest.raises(HeroScriptError):
        pb.ensure_once("blue.*")
    with pytest.raises(HeroScriptError):
        pb.get("green*.*")


def test_priorities_claim_actions_and_order_runs() -> None:
    pb = Playbook.from_text("!!a.one\n!!b.two\n!!c.three\n!!b.four\n")
    pb.set_priorities({20: "b.*", 10: "c.three"})
    assert [a.name for a in pb.ordered()] == ["three", "two", "four", "one"]
    with pytest.raises(HeroScriptError):
        pb.set_priorities({60: "a.*"})


def test_empty_check_lists_every_unhandled_action_with_position() -> None:
    pb = Playbook.from_text("!!a.one\n!!b.two\n!!c.three\n", "p.hero")
    pb.actions[1].done = True
    with pytest.raises(HeroScriptError) as info:
        pb.empty_check()
    assert "2 action(s)" in info.value.reason
    assert "p.hero:1:1 !!a.one" in info.value.reason and "p.hero:3:1 !!c.three" in \
        info.value.reason
    for a in pb.actions:
        a.done = True
    pb.empty_check()


def test_include_relative_to_including_file_with_replace(tmp_path: Path) -> None:
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "a.hero").write_text("!!site.add domain:@domain\n")
    (tmp_path / "sites" / "deeper").mkdir()
    (tmp_path / "sites" / "deeper" / "b.hero").write_text("!!play.include path:'../c.md'\n")
    (tmp_path / "sites" / "c.md").write_text("text\n!!site.c x:@domain\n")
    main = tmp_path / "main.hero"
    main.write_text("!!a.before\n!!play.include path:'./sites' replace:'domain:example.com'\n"
                    "!!a.after\n")
    pb = Playbook.from_path(main)
    names = [(a.name, a.params.get("domain") or a.params.get("x")) for a in pb.actions
             if a.actor != "play"]
    assert names == [("before", None), ("add", "example.com"), ("c", "example.com"),
                     ("c", "example.com"), ("after", None)]
    assert [a.id for a in pb.actions] == list(range(1, len(pb.actions) + 1))


def test_include_cycle_is_an_error_at_the_include(tmp_path: Path) -> None:
    (tmp_path / "a.hero").write_text("!!x.a\n!!play.include path:b.hero\n")
    (tmp_path / "b.hero").write_text("\n!!play.include path:'a.hero'\n")
    with pytest.raises(HeroScriptError) as info:
        Playbook.from_path(tmp_path / "a.hero")
    err = info.value
    assert "include cycle" in err.reason and err.file.endswith("b.hero") and err.line == 2


def test_include_of_missing_path_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.hero").write_text("!!play.include path:nope.hero\n")
    with pytest.raises(HeroScriptError) as info:
        Playbook.from_path(tmp_path / "a.hero")
    assert "does not exist" in info.value.reason and info.value.line == 1


def _recorder() -> tuple[Registry, list[tuple[str, dict[str, str]]]]:
    seen: list[tuple[str, dict[str, str]]] = []
    reg = session_handlers(Registry())
    reg.register("site.*", lambda call: seen.append((call.action.name,
                                                     dict(call.action.params))))
    return reg, seen


def test_env_set_substitutes_in_actions_not_yet_done() -> None:
    text = ("!!site.early path:'{ROOT}/a'\n!!session.env_set key:'ROOT' val:'/data/sites'\n"
            "!!site.config path:'{ROOT}/main' other:'{UNSET}'\n")
    reg, seen = _recorder()
    reg.run(Playbook.from_text(text))
    assert seen == [("early", {"path": "{ROOT}/a"}),
                    ("config", {"path": "/data/sites/main", "other": "{UNSET}"})]


def test_env_set_once_refuses_a_second_different_value() -> None:
    reg, _ = _recorder()
    pb = Playbook.from_text("!!session.env_set_once key:A val:1\n"
                            "!!session.env_set_once key:A val:2\n", "e.hero")
    with pytest.raises(HeroScriptError) as info:
        reg.run(pb)
    assert info.value.line == 2 and "already set" in info.value.reason


def test_handlers_run_in_explicit_order_and_first_taker_wins() -> None:
    calls: list[str] = []
    reg = Registry()

    def make(tag: str, decline: bool = False) -> Any:
        def fn(call: Call) -> Any:
            calls.append(f"{tag}:{call.action.name}")
            return DECLINE if decline else tag
        return fn
    reg.register("db.*", make("generic"), order=50)
    reg.register("db.set", make("specific"), order=10)
    reg.register("db.*", make("decliner", decline=True), order=5)
    pb = Playbook.from_text("!!db.get\n!!db.set\n")
    assert reg.run(pb) == ["generic", "specific"]
    assert calls == ["decliner:get", "generic:get", "decliner:set", "specific:set"]
    assert all(a.done for a in pb.actions)
    assert [a.result for a in pb.actions] == ["generic", "specific"]


def test_unhandled_actions_fail_before_anything_runs() -> None:
    ran: list[str] = []
    reg = Registry()
    reg.register("a.*", lambda call: ran.append(call.action.name))
    pb = Playbook.from_text("!!a.one\n!!b.two\n!!a.three\n!!c.four\n", "u.hero")
    with pytest.raises(HeroScriptError) as info:
        reg.run(pb)
    assert ran == []
    assert "u.hero:2:1 !!b.two" in info.value.reason and "u.hero:4:1 !!c.four" in \
        info.value.reason


def test_a_failing_handler_becomes_a_positioned_error() -> None:
    reg = Registry()
    reg.register("a.*", lambda call: 1 / 0)
    with pytest.raises(HeroScriptError) as info:
        reg.run(Playbook.from_text("\n\n  !!a.boom\n", "f.hero"))
    assert (info.value.line, info.value.column) == (3, 3)
    assert "ZeroDivisionError" in info.value.reason


def test_serialise_then_parse_gives_the_same_actions_and_hashes(tmp_path: Path) -> None:
    text = Path(__file__).with_name("test_hs_parser.py").read_text()
    sample = text[text.index('"""//payment'):]
    sample = sample[3:sample.index('"""', 3)]
    pb = Playbook.from_text(sample + "\n!!x.y a b:'c d' e:'multi\\'quote' f:\"it's\"\n")
    again = Playbook.from_text(pb.heroscript())
    assert again.hashes() == pb.hashes() and again.hash() == pb.hash()
    assert [a.params for a in again.actions] == [a.params for a in pb.actions]
    assert again.heroscript() == pb.heroscript()


def test_hash_ignores_comments_but_not_values() -> None:
    [a] = parse("// c\n!!a.b x:1\n")
    [b] = parse("!!a.b x:'1'\n")
    [c] = parse("!!a.b x:2\n")
    pa, pb, pc = (Playbook([x]) for x in (a, b, c))
    assert pa.hash() == pb.hash() != pc.hash()
