"""Typed reading of params (HEROSCRIPT.md §5) and pydantic schemas per action."""
from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from pydantic import BaseModel, ConfigDict

from herocelery.errors import HeroScriptError
from herocelery.heroscript import Params, Playbook, Registry, parse
from herocelery.heroscript import typed as t

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("text,expected", [
    ("", True), ("1", True), ("true", True), ("Y", True), ("yes", True),
    ("0", False), ("false", False), ("maybe", False)])
def test_bool_default_true(text: str, expected: bool) -> None:
    assert t.to_bool_default_true(text) is expected


@pytest.mark.parametrize("text,expected", [
    ("", False), ("0", False), ("false", False), ("N", False), ("no", False),
    ("1", True), ("true", True), ("maybe", True)])
def test_bool_default_false(text: str, expected: bool) -> None:
    assert t.to_bool_default_false(text) is expected


def test_missing_bools_follow_their_default() -> None:
    p = Params(parse("!!a.b x:1")[0])
    assert p.bool_default_true("missing") is True
    assert p.bool_default_false("missing") is False


@pytest.mark.parametrize("fn,text,expected", [
    (t.to_int, " 42 ", 42), (t.to_float, "2.5", 2.5), (t.to_percentage, "80%", 0.8),
    (t.to_percentage, "0.25", 0.25), (t.to_percentage, "50", 0.5),
    (t.to_list, "wallet,tft ,primary", ["wallet", "tft", "primary"]),
    (t.to_list, "[a, 'b c', , d]", ["a", "b c", "d"]),
    (t.to_list, "'x,y',\"z\"", ["x,y", "z"]),
    (t.to_list_int, "[1, 2,3]", [1, 2, 3]), (t.to_list_float, "1.5,2", [1.5, 2.0]),
    (t.to_storage_size, "10 GB", 10 * 1024**3), (t.to_storage_size, "500MB", 500 * 1024**2),
    (t.to_storage_size, "1.5 KiB", 1536), (t.to_storage_size, "42", 42),
    (t.to_duration, "30s", 30.0), (t.to_duration, "5m", 300.0), (t.to_duration, "2h", 7200.0),
    (t.to_duration, "1h30m", 5400.0), (t.to_duration, "250ms", 0.25),
    (t.to_duration, "12", 12.0),
    (t.to_timestamp, "14:30", time(14, 30)), (t.to_timestamp, "2:30 PM", time(14, 30)),
    (t.to_timestamp, "12:05am", time(0, 5)),
])
def test_readers(fn: object, text: str, expected: object) -> None:
    assert fn(text) == expected  # type: ignore[operator]


@pytest.mark.parametrize("text,expected", [
    ("+1h", datetime(2026, 1, 10, 13, 0, tzinfo=UTC)),
    ("+1w +2d -4h", datetime(2026, 1, 19, 8, 0, tzinfo=UTC)),
    ("+1M", datetime(2026, 2, 9, 12, 0, tzinfo=UTC)),
    ("-30s", datetime(2026, 1, 10, 11, 59, 30, tzinfo=UTC)),
    ("2025-03-04", datetime(2025, 3, 4, tzinfo=UTC)),
    ("2025-03-04 10:20", datetime(2025, 3, 4, 10, 20, tzinfo=UTC)),
    ("2025-03-04 10:20:30", datetime(2025, 3, 4, 10, 20, 30, tzinfo=UTC)),
])
def test_time_relative_and_absolute(text: str, expected: datetime) -> None:
    assert t.to_time(text, NOW) == expected


@pytest.mark.parametrize("fn,text", [
    (t.to_int, "4x"), (t.to_float, "abc"), (t.to_duration, "5 parsecs"),
    (t.to_duration, ""), (t.to_storage_size, "lots"), (t.to_timestamp, "25:00"),
    (t.to_timestamp, "13:00 PM"), (t.to_time, "+1x"), (t.to_time, "2025-13-01")])
def test_bad_values_raise_value_error(fn: object, text: str) -> None:
    with pytest.raises(ValueError):
        fn(text)  # type: ignore[operator]


def test_a_bad_value_names_the_key_and_the_param_position() -> None:
    [a] = parse("!!svc.start name:x\n    port:80a\n", "s.hero")
    with pytest.raises(HeroScriptError) as info:
        Params(a).int("port")
    assert (info.value.file, info.value.line, info.value.column) == ("s.hero", 2, 5)
    assert "'port'" in info.value.reason and "80a" in info.value.reason


def test_a_missing_key_points_at_the_action() -> None:
    [a] = parse("\n!!svc.start name:x\n", "s.hero")
    with pytest.raises(HeroScriptError) as info:
        Params(a).int("port")
    assert (info.value.line, info.value.column) == (2, 1)
    assert "missing param 'port'" in info.value.reason
    assert Params(a).int("port", 8080) == 8080


class PaymentAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: str
    name: str
    tags: list[str] = []
    amount: float = 0.0
    preferred: bool = False
    active: bool = True


def test_schema_validates_and_converts_all_params_at_once() -> None:
    reg = Registry()
    seen: list[PaymentAdd] = []
    reg.register("payment.add", lambda call: seen.append(call.params), schema=PaymentAdd)
    pb = Playbook.from_text("!!payment.add person:jan name:'TF Wallet' tags:a,b amount:2.5 "
                            "preferred:yes active:maybe\n")
    reg.run(pb)
    assert seen == [PaymentAdd(person="jan", name="TF Wallet", tags=["a", "b"], amount=2.5,
                               preferred=True, active=False)]


def test_schema_errors_name_the_key_and_position() -> None:
    reg = Registry()
    reg.register("payment.add", lambda call: None, schema=PaymentAdd)
    pb = Playbook.from_text("!!payment.add person:jan name:x\n    amount:lots\n", "p.hero")
    with pytest.raises(HeroScriptError) as info:
        reg.run(pb)
    assert (info.value.line, info.value.column) == (2, 5)
    assert "'amount'" in info.value.reason
    pb2 = Playbook.from_text("!!payment.add person:jan name:x colour:red\n", "p.hero")
    with pytest.raises(HeroScriptError) as info2:
        reg.run(pb2)
    assert "'colour'" in info2.value.reason and info2.value.column == 33
