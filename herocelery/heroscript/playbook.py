"""Playbook: the actions of texts, files and directories, with includes, filters,
priorities, done flags, session variables, serialisation and hashes (HEROSCRIPT.md §4)."""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from pathlib import Path

from ..errors import HeroScriptError
from .model import DEFAULT_PRIORITY, Action
from .parser import parse
from .serialize import action_hash, actions_hash, serialize
from .typed import to_list

SUFFIXES = (".md", ".hero", ".heroscript")
ENV_REF = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
INCLUDE = ("play", "include")


def apply_replace(text: str, replace: Mapping[str, str]) -> str:
    """Replace `@key`, `${key}` and `{key}` for the keys of `replace`; other text untouched."""
    if not replace:
        return text
    names = "|".join(re.escape(k) for k in sorted(replace, key=len, reverse=True))
    pattern = re.compile(rf"\$\{{({names})\}}|\{{({names})\}}|@({names})(?![A-Za-z0-9_])")
    return pattern.sub(lambda m: replace[m.group(1) or m.group(2) or m.group(3)], text)


def parse_replace(text: str) -> dict[str, str]:
    """`'k:v,k2:v2'` -> {k: v, k2: v2}; ValueError on an item without ':'."""
    out: dict[str, str] = {}
    for item in to_list(text):
        key, sep, value = item.partition(":")
        if not sep or not key.strip():
            raise ValueError(f"replace item {item!r} is not key:value")
        out[key.strip()] = value.strip()
    return out


@lru_cache(maxsize=256)
def compile_filter(spec: str) -> Callable[[Action], bool]:
    """`actor.name` globs, comma-separated alternatives; no dot means actor `core`."""
    pairs: list[tuple[str, str]] = []
    for alt in spec.split(","):
        alt = alt.strip().lower()
        if not alt:
            continue
        actor, dot, name = alt.partition(".")
        pairs.append((actor, name) if dot else ("core", actor))

    def match(a: Action) -> bool:
        return any(fnmatch.fnmatchcase(a.actor, ap) and fnmatch.fnmatchcase(a.name, np)
                   for ap, np in pairs)
    return match


def _positions(actions: Iterable[Action]) -> str:
    return "; ".join(f"{a.where()} !!{a.full_name}" for a in actions)


def files_of(path: Path) -> list[Path]:
    """The HeroScript files of a directory, walked recursively, sorted."""
    return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)


class Playbook:
    """Ordered actions with ids 1..N; handlers mark them done."""

    def __init__(self, actions: Iterable[Action] = ()) -> None:
        self.actions: list[Action] = list(actions)
        self.env: dict[str, str] = {}
        self._renumber()

    # -- building ------------------------------------------------------------------------
    @classmethod
    def from_text(cls, text: str, source: str = "<text>", *,
                  replace: Mapping[str, str] | None = None,
                  keep_ids: bool = False, includes: bool = True) -> Playbook:
        """`includes=False` leaves `!!play.include` as a plain action (no file access)."""
        pb = cls()
        pb.add_text(text, source, replace=replace, keep_ids=keep_ids, includes=includes)
        return pb

    @classmethod
    def from_path(cls, path: str | Path, *, replace: Mapping[str, str] | None = None,
                  keep_ids: bool = False) -> Playbook:
        pb = cls()
        pb.add_path(path, replace=replace, keep_ids=keep_ids)
        return pb

    def add_text(self, text: str, source: str = "<text>", *,
                 replace: Mapping[str, str] | None = None, keep_ids: bool = False,
                 includes: bool = True, _stack: tuple[Path, ...] = ()) -> None:
        """Parse `text` and add its actions, expanding `!!play.include` in place."""
        actions = parse(apply_replace(text, replace or {}), source, keep_ids=keep_ids)
        for a in actions:
            self.actions.append(a)
            if includes and (a.actor, a.name) == INCLUDE:
                self._include(a, source, dict(replace or {}), keep_ids, _stack)
        self._renumber()

    def add_path(self, path: str | Path, *, replace: Mapping[str, str] | None = None,
                 keep_ids: bool = False, _stack: tuple[Path, ...] = ()) -> None:
        """Add a file, or every `*.md`/`*.hero`/`*.heroscript` under a directory."""
        p = Path(path)
        if p.is_dir():
            for f in files_of(p):
                self.add_path(f, replace=replace, keep_ids=keep_ids, _stack=_stack)
            return
        resolved = p.resolve()
        if resolved in _stack:
            chain = " -> ".join(str(s) for s in (*_stack, resolved))
            raise HeroScriptError(f"include cycle: {chain}", file=str(p))
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise HeroScriptError(f"cannot read {p}: {exc}", file=str(p)) from None
        self.add_text(text, str(p), replace=replace, keep_ids=keep_ids,
                      _stack=(*_stack, resolved))

    def _include(self, a: Action, source: str, replace: dict[str, str], keep_ids: bool,
                 stack: tuple[Path, ...]) -> None:
        target = a.params.get("path") or (a.args[0] if a.args else "")
        if not target:
            raise a.error("play.include needs path:'file or directory'")
        if "replace" in a.params:
            try:
                replace.update(parse_replace(a.params["replace"]))
            except ValueError as exc:
                raise a.error(f"param 'replace': {exc}", "replace") from None
        base = Path(source).parent if source not in ("<text>", "-", "<stdin>") else Path.cwd()
        p = Path(target).expanduser()
        p = p if p.is_absolute() else base / p
        if not p.exists():
            raise a.error(f"play.include: {p} does not exist", "path")
        if p.is_file() and p.resolve() in stack:
            chain = " -> ".join(str(s) for s in (*stack, p.resolve()))
            raise a.error(f"include cycle: {chain}", "path")
        a.done = True
        self.add_path(p, replace=replace, keep_ids=keep_ids, _stack=stack)

    def _renumber(self) -> None:
        for i, a in enumerate(self.actions, 1):
            a.id = i

    # -- finding -------------------------------------------------------------------------
    def find(self, spec: str = "*.*", *, include_done: bool = True) -> list[Action]:
        match = compile_filter(spec)
        return [a for a in self.actions if match(a) and (include_done or not a.done)]

    def exists(self, spec: str) -> bool:
        match = compile_filter(spec)
        return any(match(a) for a in self.actions)

    def exists_once(self, spec: str) -> bool:
        return len(self.find(spec)) == 1

    def max_once(self, spec: str) -> bool:
        """True if one action matches, False if none; an error if more than one."""
        found = self.find(spec)
        if len(found) > 1:
            raise found[1].error(f"{spec!r} may appear at most once; found "
                                 f"{len(found)}: {_positions(found)}")
        return bool(found)

    def get(self, spec: str) -> Action:
        """The one action matching `spec`; an error naming positions otherwise."""
        found = self.find(spec)
        if len(found) != 1:
            where = _positions(found) if found else "none"
            raise HeroScriptError(f"expected exactly one action matching {spec!r}; "
                                  f"found {len(found)}: {where}",
                                  file=found[1].file if found else None,
                                  line=found[1].line if found else None,
                                  column=found[1].column if found else None)
        return found[0]

    ensure_once = get

    def params_get(self, spec: str) -> dict[str, str]:
        """Params of every matching action merged in file order (later ones win)."""
        merged: dict[str, str] = {}
        for a in self.find(spec):
            merged.update(a.params)
        return merged

    # -- order and state -----------------------------------------------------------------
    def set_priorities(self, priorities: Mapping[int, str]) -> None:
        """Claim matching actions for a priority below 50 (lower runs first)."""
        for prio, spec in sorted(priorities.items()):
            if not 0 <= prio < DEFAULT_PRIORITY:
                raise HeroScriptError(f"priority {prio} for {spec!r} must be 0..49")
            match = compile_filter(spec)
            for a in self.actions:
                if a.priority == DEFAULT_PRIORITY and match(a):
                    a.priority = prio

    def ordered(self) -> list[Action]:
        """Actions by ascending priority, file order within a priority."""
        return sorted(self.actions, key=lambda a: (a.priority, a.id))

    def not_done(self) -> list[Action]:
        return [a for a in self.ordered() if not a.done]

    def empty_check(self) -> None:
        """HeroScriptError listing every action no handler took (with positions)."""
        left = self.not_done()
        if left:
            raise HeroScriptError(f"{len(left)} action(s) not handled: {_positions(left)}",
                                  file=left[0].file, line=left[0].line,
                                  column=left[0].column,
                                  source_line=left[0].source_line or None)

    def env_set(self, key: str, value: str, *, once: bool = False,
                by: Action | None = None) -> None:
        """Set a session variable and substitute `{key}` in actions not yet done."""
        if once and key in self.env and self.env[key] != value:
            reason = f"session variable {key!r} is already set to {self.env[key]!r}"
            raise by.error(reason) if by else HeroScriptError(reason)
        self.env[key] = value
        self.apply_env()

    def apply_env(self) -> None:
        env = self.env
        if not env:
            return

        def sub(text: str) -> str:
            if "{" not in text:
                return text
            return ENV_REF.sub(lambda m: env.get(m.group(1), m.group(0)), text)
        for a in self.actions:
            if not a.done:
                a.params = {k: sub(v) for k, v in a.params.items()}
                a.args = [sub(x) for x in a.args]

    # -- text and hashes -----------------------------------------------------------------
    def _content(self) -> list[Action]:
        return [a for a in self.actions if (a.actor, a.name) != INCLUDE or not a.done]

    def heroscript(self) -> str:
        """The playbook as canonical HeroScript (expanded includes are inlined)."""
        return serialize(self._content())

    def hash(self) -> str:
        return actions_hash(self._content())

    def hashes(self) -> list[str]:
        return [action_hash(a) for a in self._content()]

    def __len__(self) -> int:
        return len(self.actions)
