"""Every third-party module the package imports comes with `pip install .` (its declared
dependencies and what they pull in), not only with the dev extra the tests install."""
from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[\s<>=!~;\[(]", req, maxsplit=1)[0].lower().replace("_", "-")


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


# ---- a real wheel, installed (not editable) in a fresh venv -------------------------------------
@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package built as a wheel from a copy of the tracked tree (so no build output lands
    in the checkout), installed with pip into a fresh venv. The venv reaches the running
    interpreter's dependencies through a .pth file (no download); herocelery itself comes only
    from the wheel."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others",
                            "--exclude-standard"], cwd=ROOT, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "-w", str(tmp / "dist"), str(src)],
                   check=True, timeout=600)
    (wheel,) = (tmp / "dist").glob("herocelery-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    deps = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    (site / "deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    str(wheel)], check=True, timeout=300)
    return venv


def test_flower_conf_ships_in_the_wheel(wheel_venv: Path, tmp_path: Path, redis_server) -> None:
    """Issue 12.9: a non-editable install finds flower.conf, and `herocelery flower` uses it
    (its loopback rule refuses FLOWER_ADDRESS=0.0.0.0 without FLOWER_BASIC_AUTH)."""
    python = str(wheel_venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HEROCELERY_", "FLOWER_", "PYTHON"))}
    out = subprocess.run([python, "-c", "import herocelery, herocelery.installation as i; "
                          "print(herocelery.__file__); print(i.flower_conf())"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    module, conf = out.stdout.split()
    assert module.startswith(str(wheel_venv)), f"herocelery imported from {module}"
    assert conf.startswith(str(wheel_venv)) and Path(conf).is_file()
    out = subprocess.run([str(wheel_venv / "bin" / "herocelery"), "--broker",
                          redis_server.url + "/1", "flower", "--port", "0"], cwd=tmp_path,
                         env={**env, "FLOWER_ADDRESS": "0.0.0.0"}, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode != 0
    assert "flower.conf: refusing to serve on 0.0.0.0" in out.stdout + out.stderr


def test_the_wheel_marks_the_package_typed(wheel_venv: Path) -> None:
    """Issue 17.5: `py.typed` ships, so a type checker reads herocelery's own annotations."""
    (site,) = wheel_venv.glob("lib/python*/site-packages")
    assert (site / "herocelery" / "py.typed").is_file()
