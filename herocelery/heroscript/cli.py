"""`herocelery heroscript parse|check|fmt`: read, lint and format HeroScript files.

Errors print one line `file:line:col: reason` and exit 1; never a traceback.
"""
from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import TypeVar

import click

from ..errors import HeroScriptError
from .model import Action
from .parser import parse, parse_items
from .serialize import serialize

T = TypeVar("T")
FLAG_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def _read(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read(), path
    except UnicodeDecodeError as exc:
        raise HeroScriptError(f"not UTF-8 text (byte {exc.start})", file=path) from None
    except OSError as exc:
        raise HeroScriptError(f"cannot read: {exc.strerror}", file=path) from None


def _write(path: str, text: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise HeroScriptError(f"cannot write: {exc.strerror}", file=path) from None


def _guard(fn: Callable[[], T]) -> T:
    try:
        return fn()
    except HeroScriptError as exc:
        where = ":".join(str(p) for p in (exc.file or "<text>", exc.line, exc.column)
                         if p is not None)
        click.secho(f"{where}: {exc.reason}", fg="red", err=True)
        sys.exit(1)


def lint(actions: list[Action]) -> list[tuple[str, int, int, str]]:
    """Warnings: bare flags probably meant as `key:true`, indented actions."""
    out = []
    for a in actions:
        for arg in a.args:
            if arg.startswith("!") and len(arg) > 1:
                out.append((a.file, a.line, a.column,
                            f"!!{a.full_name}: argument {arg!r} looks like an action; an "
                            "indented line belongs to the action above, so start it at "
                            "the left margin"))
            elif FLAG_LIKE.match(arg):
                out.append((a.file, a.line, a.column,
                            f"!!{a.full_name}: bare word {arg!r} is a positional argument, "
                            f"not a flag; write {arg}:true if you meant a flag"))
    return out


def _human(a: Action) -> str:
    params = " ".join(f"{k}={v!r}" for k, v in a.params.items())
    args = " ".join(repr(x) for x in a.args)
    return f"{a.line}:{a.column} {'!' * a.bangs}{a.full_name} {args} {params}".rstrip()


@click.group(name="heroscript")
def group() -> None:
    """Read, check and format HeroScript files."""


@group.command("parse")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Actions as JSON.")
@click.option("--keep-ids", is_flag=True, help="Keep params named id (dropped by default).")
def parse_cmd(file: str, as_json: bool, keep_ids: bool) -> None:
    """Parse FILE (or - for stdin) and print its actions."""
    text, source = _guard(lambda: _read(file))
    actions = _guard(lambda: parse(text, source, keep_ids=keep_ids))
    if as_json:
        click.echo(json.dumps([a.to_dict() for a in actions], indent=2))
        return
    for a in actions:
        click.echo(_human(a))


@group.command("check")
@click.argument("file")
@click.option("--strict", is_flag=True, help="Exit non-zero on warnings too.")
def check_cmd(file: str, strict: bool) -> None:
    """Report syntax errors and warnings of FILE; exit 1 on errors.

    A file with `!!flow.define` is also checked as a flow file (unknown params, missing
    runner, bad durations, ...)."""
    text, source = _guard(lambda: _read(file))
    dup: list[tuple[int, int, str]] = []
    actions = _guard(lambda: parse(text, source, warnings=dup))
    if any(a.actor == "flow" and a.name == "define" for a in actions):
        from .flowfile import flow_spec_from_heroscript  # a flow file: check it as one
        _guard(lambda: flow_spec_from_heroscript(text, source))
    warnings = [(source, ln, col, msg) for ln, col, msg in dup] + lint(actions)
    for src, ln, col, msg in sorted(warnings, key=lambda w: (w[1], w[2])):
        click.secho(f"{src}:{ln}:{col}: warning: {msg}", fg="yellow", err=True)
    click.echo(f"{source}: {len(actions)} action(s), {len(warnings)} warning(s)")
    if strict and warnings:
        sys.exit(1)


@group.command("fmt")
@click.argument("file")
@click.option("--write", is_flag=True, help="Rewrite FILE in place instead of printing.")
def fmt_cmd(file: str, write: bool) -> None:
    """Print FILE in canonical formatting (idempotent)."""
    text, source = _guard(lambda: _read(file))
    items = _guard(lambda: parse_items(text, source, keep_ids=True, keep_text=True))
    out = serialize(items)
    if write and file != "-":
        if out != text:
            _guard(lambda: _write(file, out))
        return
    click.echo(out, nl=False)
