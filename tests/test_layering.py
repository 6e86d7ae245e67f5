"""Imports go one way: flow -> coordinator -> supervisor -> runners -> herodb.

Shared ground that any room may use: errors, settings, keys, models, store, graph, canvas,
contexts. Imports under `if TYPE_CHECKING:` are annotations only and do not count.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "herocelery"

# room -> module prefixes it must never import
FORBIDDEN = {
    "herocelery.herodb": ["herocelery."],                      # a server any client can use
    "herocelery.heroscript": ["herocelery."],                  # a language library
    "herocelery.runners.rhai": ["herocelery."],                # a language library
    "herocelery.runners": ["herocelery.coordinator", "herocelery.supervisor", "herocelery.flow",
                           "herocelery.reconciler",
                           "herocelery.commands", "herocelery.cli", "herocelery.api",
                           "herocelery.up"],
    "herocelery.supervisor": ["herocelery.coordinator", "herocelery.flow", "herocelery.commands",
                              "herocelery.reconciler",
                              "herocelery.cli", "herocelery.api", "herocelery.up"],
    "herocelery.coordinator": ["herocelery.flow", "herocelery.commands", "herocelery.cli",
                               "herocelery.api", "herocelery.up", "herocelery.supervisor",
                               "herocelery.reconciler"],
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


def imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), str(path))
    mod = module_name(path)
    package = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    skip: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
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
