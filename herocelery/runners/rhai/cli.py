"""`herocelery rhai eval|run`: run Rhai scripts directly, outside any flow.

The final value goes to stdout (`display` or `json`), print/debug lines to stderr; any error,
an uncaught throw included, is one line on stderr and a non-zero exit (via HeroCeleryError).
"""
from __future__ import annotations

import json
import sys

import click

from .engine import Engine
from .runtime import Limits
from .values import to_display, to_json


def _read(script: str | None, file: str | None) -> str:
    if file is not None and script is not None:
        raise click.UsageError("give either SCRIPT or -f FILE, not both")
    if file is not None:
        try:
            with open(file, encoding="utf-8") as fh:
                return fh.read()
        except (OSError, UnicodeDecodeError) as e:
            raise click.FileError(file, str(e)) from None
    if script is None:
        raise click.UsageError("give a SCRIPT, -f FILE, or - to read standard input")
    if script == "-":
        return sys.stdin.read()
    return script


def _engine(timeout: float, max_operations: int) -> Engine:
    return Engine(Limits(timeout_s=timeout, max_operations=max_operations))


def _err(line: str) -> None:
    click.echo(line, err=True)


@click.group(name="rhai")
def group() -> None:
    """Run Rhai scripts directly."""


@group.command("eval")
@click.argument("script", required=False)
@click.option("-f", "--file", "file", type=click.Path(dir_okay=False), default=None,
              help="Read the script from FILE.")
@click.option("--format", "fmt", type=click.Choice(["display", "json"]), default="display",
              show_default=True, help="How to print the final value.")
@click.option("--timeout", type=float, default=0.0, help="Wall-clock limit in seconds (0: none).")
@click.option("--max-operations", type=int, default=0, help="Operation limit (0: none).")
def eval_cmd(script: str | None, file: str | None, fmt: str, timeout: float,
             max_operations: int) -> None:
    """Evaluate SCRIPT (or -f FILE, or - for stdin) and print its final value."""
    src = _read(script, file)
    value = _engine(timeout, max_operations).evaluate(src, on_print=_err, on_debug=_err)
    if fmt == "json":
        click.echo(json.dumps(to_json(value), ensure_ascii=False))
    else:
        click.echo(to_display(value))


@group.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--timeout", type=float, default=0.0, help="Wall-clock limit in seconds (0: none).")
@click.option("--max-operations", type=int, default=0, help="Operation limit (0: none).")
def run_cmd(file: str, timeout: float, max_operations: int) -> None:
    """Run a script FILE for its effects (print/debug output goes to stderr)."""
    src = _read(None, file)
    _engine(timeout, max_operations).evaluate(src, on_print=_err, on_debug=_err)
