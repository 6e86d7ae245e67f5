"""The store owns record I/O (issue 17.2): job and flow records, their leases and the
reconciler's indexes are read and written only by `store.py`; its Lua scripts are package
data whose statuses come from `models`, not from lists copied by hand into Lua text."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from herocelery import store_lua
from herocelery.models import (
    TERMINAL_FLOW,
    TERMINAL_JOB,
    FlowRecord,
    FlowStatus,
    Job,
    JobStatus,
)

PKG = Path(__file__).resolve().parents[1] / "herocelery"

# keys of the records the store owns
RECORD_KEYS = {"job", "flow", "flows", "lease", "inflight", "finishing", "metrics", "logs"}
# modules with pipelines of their own, on data that is not a job or flow record
OWN_DATA = {
    "store.py": "the records",
    "contexts/registry.py": "contexts, callers and API keys: the contexts room's records",
    "runners/osis/store.py": "OSIS objects in a context's database",
    "reconciler/broker.py": "kombu's unacked messages in the broker",
    "api/metrics.py": "queue depths in the broker",
}
FILES = sorted(p for p in PKG.rglob("*.py") if "herodb" not in p.relative_to(PKG).parts)


def _rel(path: Path) -> str:
    return str(path.relative_to(PKG))


def raw_io(tree: ast.AST, rel: str) -> list[str]:
    """Pipelines and record keys used outside the modules that own them. Pure."""
    bad = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        f = node.func
        if f.attr == "pipeline" and rel not in OWN_DATA:
            bad.append(f"line {node.lineno}: .pipeline(")
        if isinstance(f.value, ast.Name) and f.value.id == "Keys" and f.attr in RECORD_KEYS \
                and rel not in ("store.py", "keys.py"):
            bad.append(f"line {node.lineno}: Keys.{f.attr}(")
    return bad


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_record_io_only_in_the_store(path: Path) -> None:
    rel = _rel(path)
    bad = raw_io(ast.parse(path.read_text(), rel), rel)
    assert not bad, f"{rel} reads or writes records itself (use a Store method): {bad}"


def test_the_check_sees_raw_record_io() -> None:
    src = "def f(store, jid):\n    p = store.home(jid).pipeline()\n    p.hget(Keys.job(jid), 'x')\n"
    tree = ast.parse(src)
    assert raw_io(tree, "settle.py") == ["line 2: .pipeline(", "line 3: Keys.job("]
    assert raw_io(tree, "store.py") == []


LUA = sorted((PKG / "lua").glob("*.lua"))


def test_every_script_ships_as_package_data() -> None:
    assert {p.stem for p in LUA} == set(store_lua.SCRIPTS)
    for name in store_lua.SCRIPTS:
        assert store_lua.script(name).startswith(store_lua.preamble())


@pytest.mark.parametrize("path", LUA, ids=lambda p: p.name)
def test_no_status_is_spelled_in_lua(path: Path) -> None:
    text = path.read_text()
    code = "\n".join(line.split("--", 1)[0] for line in text.splitlines())
    statuses = {s.value for s in JobStatus} | {s.value for s in FlowStatus}
    fields = set(Job.model_fields) | set(FlowRecord.model_fields)   # `error` is a field too
    quoted = set(re.findall(r"['\"]([a-z_]+)['\"]", code)) & statuses - fields
    assert not quoted, f"{path.name} spells statuses by hand: {sorted(quoted)}"
    for table, enum in (("JOB", JobStatus), ("FLOW", FlowStatus)):
        for name in re.findall(rf"\b{table}\.([A-Za-z_]+)", code):
            assert name in {s.value for s in enum}, f"{path.name}: {table}.{name} is no status"


def test_the_preamble_is_the_models() -> None:
    text = store_lua.preamble()
    for table, members in (("TERMINAL_JOB", TERMINAL_JOB), ("TERMINAL_FLOW", TERMINAL_FLOW)):
        line = next(x for x in text.splitlines() if x.startswith(f"local {table} "))
        assert set(re.findall(r"\['([a-z_]+)'\] = true", line)) == {m.value for m in members}
    for table, enum in (("JOB", JobStatus), ("FLOW", FlowStatus)):
        line = next(x for x in text.splitlines() if x.startswith(f"local {table} "))
        assert set(re.findall(r"\['([a-z_]+)'\] = '", line)) == {m.value for m in enum}
    with pytest.raises(ValueError):
        store_lua.script("nope")
