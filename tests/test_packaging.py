"""Every third-party module the package imports comes with `pip install .` (its declared
dependencies and what they pull in), not only with the dev extra the tests install."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", req, 1)[0].lower().replace("_", "-")


def runtime_closure() -> set[str]:
    """Declared dependencies and, transitively, their own (extras of a declared one too)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    todo = [(r, set(re.findall(r"\[([^\]]*)\]", r)[0].split(",")) if "[" in r else set())
            for r in project["dependencies"]]
    seen: set[str] = set()
    while todo:
        req, extras = todo.pop()
        name = _name(req)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for sub in requires:
            marker = sub.split(";", 1)[1] if ";" in sub else ""
            wanted = re.findall(r"extra\s*==\s*['\"]([^'\"]+)", marker)
            if wanted and not set(wanted) & extras:
                continue
            todo.append((sub.split(";", 1)[0], set()))
    return seen


def imported_top_level() -> dict[str, str]:
    out: dict[str, str] = {}
    for path in (ROOT / "herocelery").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for n in names:
                out.setdefault(n.split(".")[0], str(path.relative_to(ROOT)))
    return out


def test_every_imported_distribution_is_a_runtime_dependency() -> None:
    closure = runtime_closure()
    dists = metadata.packages_distributions()
    stdlib = set(sys.stdlib_module_names)
    missing = []
    for module, where in sorted(imported_top_level().items()):
        if module in stdlib or module == "herocelery" or module.startswith("_"):
            continue
        owners = {d.lower().replace("_", "-") for d in dists.get(module, [])}
        if not owners:
            continue  # optional import guarded at run time (e.g. playwright in tests only)
        if not owners & closure:
            missing.append(f"{module} ({', '.join(sorted(owners))}) imported in {where}")
    assert not missing, "not installed by `pip install .`: " + "; ".join(missing)


def test_the_heroscript_accelerator_is_an_optional_extension() -> None:
    """setup.py builds the C accelerator, but a machine without a compiler still installs
    (the pure-Python parser gives the same results)."""
    calls = [node for node in ast.walk(ast.parse((ROOT / "setup.py").read_text()))
             if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Extension"]
    assert calls, "setup.py declares no extension"
    for call in calls:
        options = {kw.arg: kw.value for kw in call.keywords}
        optional = options.get("optional")
        assert isinstance(optional, ast.Constant) and optional.value is True
        sources = ast.literal_eval(call.args[1])
        assert sources and all((ROOT / source).is_file() for source in sources)
