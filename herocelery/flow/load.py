"""Reading flows from files (YAML, JSON, HeroScript) and from Python (`module:attribute`).

Every source produces the same `FlowSpec`; every problem is one FlowError naming where.
"""
from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..errors import FlowError, HeroScriptError
from ..models import FlowSpec

YAML_SUFFIXES = (".yaml", ".yml")
JSON_SUFFIXES = (".json",)
HEROSCRIPT_SUFFIXES = (".heroscript", ".hero", ".md")
MAX_FILE_BYTES = 64 * 1024 * 1024


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML loader that refuses duplicate keys instead of keeping the last one."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode,
                       deep: bool = False) -> dict[Any, Any]:
    seen: dict[Any, Any] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (a job or field defined twice)", mark)
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_mapping)


def spec_from_mapping(data: Any, source: str) -> FlowSpec:
    """Validate a parsed mapping as a flow; errors name the job and the field."""
    if not isinstance(data, dict):
        raise FlowError(f"{source}: a flow must be a mapping with 'name' and 'jobs'")
    jobs = data.get("jobs")
    if isinstance(jobs, dict):
        for name, job in jobs.items():
            if not isinstance(name, str):
                raise FlowError(f"{source}: job name {name!r} must be text")
            if job is None or not isinstance(job, dict):
                raise FlowError(f"{source}, job {name!r}: must be a mapping of fields "
                                "(runner, script, after, ...)")
    try:
        return FlowSpec.model_validate(data)
    except ValidationError as exc:
        raise FlowError(f"{source}: {describe_validation(exc)}") from None


def describe_validation(exc: ValidationError) -> str:
    """One line per problem: `job 'double', field 'retries': Input should be ...`."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = []
        if len(loc) >= 2 and loc[0] == "jobs":
            where.append(f"job {loc[1]!r}")
            loc = loc[2:]
        if loc:
            where.append("field " + repr(".".join(str(p) for p in loc)))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "missing"
        lines.append(f"{', '.join(where) or 'flow'}: {msg}")
    return "; ".join(lines)


def read_file(path: Path) -> FlowSpec:
    """A flow file: YAML, JSON or HeroScript, chosen by suffix."""
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise FlowError(f"{source}: file larger than {MAX_FILE_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FlowError(f"{source}: no such file") from None
    except UnicodeDecodeError as exc:
        raise FlowError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise FlowError(f"{source}: cannot read: {exc.strerror}") from None
    return parse_text(text, source, path.suffix.lower())


def parse_text(text: str, source: str, suffix: str) -> FlowSpec:
    if suffix in JSON_SUFFIXES:
        try:
            data = json.loads(text, object_pairs_hook=_unique_pairs)
        except json.JSONDecodeError as exc:
            raise FlowError(f"{source}: line {exc.lineno}, column {exc.colno}: "
                            f"invalid JSON: {exc.msg}") from None
        except ValueError as exc:
            raise FlowError(f"{source}: {exc}") from None
        return spec_from_mapping(data, source)
    if suffix in HEROSCRIPT_SUFFIXES:
        try:
            from ..heroscript.flowfile import flow_spec_from_heroscript
        except ImportError:
            raise FlowError(f"{source}: HeroScript flow files are not supported yet") from None
        try:
            data = flow_spec_from_heroscript(text, source)
        except HeroScriptError as exc:
            raise FlowError(str(exc)) from None
        return spec_from_mapping(data, source)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - safe loader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        pos = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise FlowError(f"{source}: {pos}invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise FlowError(f"{source}: invalid YAML: {exc}") from None
    return spec_from_mapping(data, source)


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r} (a job or field defined twice)")
        out[key] = value
    return out


def import_target(target: str) -> FlowSpec:
    """`package.module:attribute` or `path/to/module.py:attribute` naming a Flow, a
    FlowSpec, a mapping, or a callable returning one of them. A module path works from any
    directory: relative to the current one, inside its package when it has one."""
    module_name, _, attr = target.rpartition(":")
    if not module_name or not attr:
        raise FlowError(f"{target}: expected a file or package.module:attribute")
    if module_name.endswith(".py") or "/" in module_name:
        module_name = _module_of_file(target, Path(module_name).expanduser())
    elif "" not in sys.path and str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise FlowError(f"{target}: cannot import module {module_name!r}: {exc}") from None
    except Exception as exc:  # the user's module failed while importing
        raise FlowError(f"{target}: importing {module_name!r} failed: "
                        f"{type(exc).__name__}: {exc}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise FlowError(f"{target}: module {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    return coerce(obj, target)


def _module_of_file(target: str, path: Path) -> str:
    """The importable name of the module file `path`, with the directory above its
    package (or its own directory) put first on sys.path, as pytest's `prepend` does."""
    path = path.resolve()
    if not path.is_file():
        raise FlowError(f"{target}: no such module file {str(path)!r}")
    if path.suffix != ".py" or not path.stem.isidentifier():
        raise FlowError(f"{target}: {path.name!r} is not an importable Python module "
                        "(name.py)")
    parts = [] if path.stem == "__init__" else [path.stem]
    root = path.parent
    while (root / "__init__.py").exists() and root.name.isidentifier():
        parts.insert(0, root.name)
        root = root.parent
    if not parts:
        raise FlowError(f"{target}: a package's __init__.py outside any package")
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    return ".".join(parts)


def coerce(obj: Any, source: str) -> FlowSpec:
    from .api import Flow
    if callable(obj) and not isinstance(obj, (Flow, FlowSpec)):
        obj = obj()
    if isinstance(obj, Flow):
        return obj.spec()
    if isinstance(obj, FlowSpec):
        return obj
    if isinstance(obj, dict):
        return spec_from_mapping(obj, source)
    raise FlowError(f"{source}: is a {type(obj).__name__}, not a Flow")


def load(target: str) -> FlowSpec:
    """A file path, or `module:attribute` when no such file exists."""
    path = Path(target)
    if path.exists() or ":" not in target or target.endswith(YAML_SUFFIXES + JSON_SUFFIXES
                                                            + HEROSCRIPT_SUFFIXES):
        return read_file(path)
    return import_target(target)
