"""Imports go one way: flow -> coordinator -> supervisor -> runners -> settle/runtime -> store
-> herodb.

Shared ground that any room may use: errors, settings, keys, models, store, graph, canvas,
contexts, and below the tiers `settle` (what happens when a job ends) and `runtime` (what a
worker carries). `celeryapp` only wires the tiers' tasks onto an app: no tier imports it.
Imports under `if TYPE_CHECKING:` are annotations only and do not count for the one-way rule;
the cycle check below counts every import, function-level and annotation-only ones included.
No tier hands another a function to call back (an injected callable hides an upward call from
this test).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "herocelery"

TIERS = ["herocelery.flow", "herocelery.coordinator", "herocelery.supervisor",
         "herocelery.runners", "herocelery.reconciler", "herocelery.celeryapp",
         "herocelery.commands", "herocelery.cli", "herocelery.api", "herocelery.up",
         "herocelery.worker", "herocelery.inprocess"]

# room -> module prefixes it must never import
FORBIDDEN = {
    # below every tier: what happens when a job ends, what a worker carries, the records
    "herocelery.settle": TIERS,
    "herocelery.runtime": TIERS,
    "herocelery.store": TIERS,
    "herocelery.store_lua": TIERS,
    "herocelery.herodb": ["herocelery."],                      # a server any client can use
    "herocelery.heroscript": ["herocelery."],                  # a language library
    "herocelery.runners.rhai": ["herocelery."],                # a language library
    "herocelery.runners": ["herocelery.coordinator", "herocelery.supervisor", "herocelery.flow",
                           "herocelery.reconciler",
                           "herocelery.commands", "herocelery.cli", "herocelery.api",
                           "herocelery.up", "herocelery.celeryapp", "herocelery.inprocess"],
    "herocelery.supervisor": ["herocelery.coordinator", "herocelery.flow", "herocelery.commands",
                              "herocelery.reconciler",
                              "herocelery.cli", "herocelery.api", "herocelery.up",
                              "herocelery.celeryapp", "herocelery.inprocess"],
    "herocelery.coordinator": ["herocelery.flow", "herocelery.commands", "herocelery.cli",
                               "herocelery.api", "herocelery.up", "herocelery.supervisor",
                               "herocelery.reconciler", "herocelery.celeryapp",
                               "herocelery.inprocess"],
    # above the tiers it watches; its own `cli.py` is its command's front door
    "herocelery.reconciler": ["herocelery.flow", "herocelery.commands", "herocelery.api",
                              "herocelery.up"],
}
# what a language library or the server may still use
ALLOWED = {
    "herocelery.herodb": ["herocelery.herodb"],
    "herocelery.heroscript": ["herocelery.heroscript", "herocelery.errors"],
    "herocelery.runners.rhai": ["herocelery.runners.rhai", "herocelery.errors",
                                "herocelery.runners.base", "herocelery.runners.memcap"],
}


def module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports(path: Path, *, annotations: bool = False) -> list[tuple[int, str]]:
    """(line, module) of every import of `path`; those under `if TYPE_CHECKING:` only with
    `annotations`."""
    tree = ast.parse(path.read_text(), str(path))
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if not annotations and isinstance(node, ast.If) and \
                "TYPE_CHECKING" in ast.unparse(node.test):
            for sub in ast.walk(node):
                skip.add(id(sub))
    out = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            out.append((node.lineno, target))
    return out


def room_of(mod: str) -> str | None:
    best = None
    for room in FORBIDDEN:
        if mod == room or mod.startswith(room + "."):
            if best is None or len(room) > len(best):
                best = room
    return best


FILES = sorted(p for p in PKG.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_imports_go_one_way(path: Path) -> None:
    mod = module_name(path)
    room = room_of(mod)
    if room is None:
        return
    bad = []
    for line, target in imports(path):
        if not target.startswith("herocelery"):
            continue
        allowed = ALLOWED.get(room)
        if allowed is not None:
            if not any(target == a or target.startswith(a + ".") for a in allowed):
                bad.append(f"line {line}: {target}")
            continue
        if any(target == f or target.startswith(f + ".") or (f.endswith(".") and
               target.startswith(f)) for f in FORBIDDEN[room]):
            bad.append(f"line {line}: {target}")
    assert not bad, f"{mod} ({room}) imports upward: {bad}"


# the rooms between which no import cycle may exist, by any path through the package
ACYCLIC = ["herocelery.flow", "herocelery.coordinator", "herocelery.supervisor",
           "herocelery.runners", "herocelery.settle", "herocelery.runtime", "herocelery.store"]


def unit_of(mod: str) -> str:
    """The unit a module belongs to in the cycle check: its sub-package under herocelery
    (`herocelery.runners.rhai` is part of `herocelery.runners`), or itself."""
    parts = mod.split(".")
    return ".".join(parts[:2])


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in FILES:
        src = unit_of(module_name(path))
        for _, target in imports(path, annotations=True):
            if target.startswith("herocelery.") or target == "herocelery":
                dst = unit_of(target)
                if dst != src and dst != "herocelery":
                    graph.setdefault(src, set()).add(dst)
    return graph


def cycle_through(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start through the graph, or None. Pure."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None


@pytest.mark.parametrize("room", ACYCLIC)
def test_no_import_cycle(room: str) -> None:
    """Every import counts here, function-level and annotation-only ones too (a late import
    hides a cycle from the import machinery, not from the design)."""
    cycle = cycle_through(import_graph(), room)
    assert cycle is None, f"import cycle: {' -> '.join(cycle or [])}"


def test_the_cycle_check_sees_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycle_through(graph, "a") == ["a", "b", "c", "a"]
    assert cycle_through(graph, "d") is None


def injected_calls(tree: ast.AST) -> list[str]:
    """Calls of a callable carried on an object that get that object back as their first
    argument (`rt.job_ended(rt, ...)`): how an injected function calls up past this test."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args \
                and ast.dump(node.func.value) == ast.dump(node.args[0]):
            out.append(f"line {node.lineno}: {ast.unparse(node.func)}")
    return out


def assigned_imports(tree: ast.AST) -> list[str]:
    """Attributes set to an imported name (`self.job_ended = job_ended`): a function of some
    room carried on an object for others to call."""
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            imported.update(a.asname or a.name for a in node.names)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name) and \
                node.value.id in imported and \
                any(isinstance(t, ast.Attribute) for t in node.targets):
            out.append(f"line {node.lineno}: {ast.unparse(node)}")
    return out


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_injected_callables(path: Path) -> None:
    if room_of(module_name(path)) in ("herocelery.herodb", "herocelery.heroscript",
                                      "herocelery.runners.rhai"):
        return   # language libraries and the server: their own objects, not the tiers'
    tree = ast.parse(path.read_text(), str(path))
    bad = injected_calls(tree) + assigned_imports(tree)
    assert not bad, f"{module_name(path)} carries a function on an object: {bad}"


def test_the_injection_check_sees_one() -> None:
    tree = ast.parse("from x import job_ended\n"
                     "class R:\n    def __init__(self):\n        self.job_ended = job_ended\n"
                     "def f(rt):\n    rt.job_ended(rt, 1)\n    rt.store.settle(1)\n")
    assert injected_calls(tree) == ["line 6: rt.job_ended"]
    assert assigned_imports(tree) == ["line 4: self.job_ended = job_ended"]
