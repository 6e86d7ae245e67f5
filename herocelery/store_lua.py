"""The job store's Lua scripts: every multi-key state change that must be atomic (claiming,
settling, cancelling, leases, the reconciler's claim). HeroDB runs them as Redis does.

The scripts are package data (`herocelery/lua/<name>.lua`, each saying its KEYS and ARGV);
`script(name)` prepends the statuses they use, generated from `models` — `JOB.<status>`,
`FLOW.<status>`, and the sets `TERMINAL_JOB` / `TERMINAL_FLOW` — so no status list is
copied by hand into Lua text. `store.Store` is the only caller.
"""
from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from functools import cache
from importlib.resources import files

from .models import TERMINAL_FLOW, TERMINAL_JOB, FlowStatus, JobStatus

SCRIPTS = ("settle", "cancel", "claim", "release", "renew", "steal", "set_if_generation",
           "reclaim")


def lua_table(pairs: Iterable[tuple[str, str]]) -> str:
    """A Lua table constructor from (key, Lua value) pairs. Pure."""
    return "{" + ", ".join(f"[{_quote(k)}] = {v}" for k, v in pairs) + "}"


def _quote(text: str) -> str:
    if not all(ch.isalnum() or ch == "_" for ch in text):
        raise ValueError(f"status {text!r} is not a plain name")
    return f"'{text}'"


def preamble() -> str:
    """The Lua locals every script may use, generated from the status enums. Pure."""
    def names(enum: type[Enum]) -> str:
        return lua_table((m.value, _quote(m.value)) for m in enum)

    def members(values: Iterable[Enum]) -> str:
        return lua_table((m.value, "true") for m in sorted(values, key=lambda m: m.value))
    return (f"local JOB = {names(JobStatus)}\n"
            f"local FLOW = {names(FlowStatus)}\n"
            f"local TERMINAL_JOB = {members(TERMINAL_JOB)}\n"
            f"local TERMINAL_FLOW = {members(TERMINAL_FLOW)}\n")


def source(name: str) -> str:
    """The text of `lua/<name>.lua` as shipped in the package."""
    return files("herocelery.lua").joinpath(f"{name}.lua").read_text(encoding="utf-8")


@cache
def script(name: str) -> str:
    """The script `name` ready to load: the generated preamble, then its source."""
    if name not in SCRIPTS:
        raise ValueError(f"no store script {name!r} (known: {', '.join(SCRIPTS)})")
    return preamble() + source(name)
