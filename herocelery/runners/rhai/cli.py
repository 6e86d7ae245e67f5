"""`herocelery rhai eval|run`: run Rhai scripts directly, outside any flow.

The final value goes to stdout (`display` or `json`), print/debug lines to stderr; any error,
an uncaught throw included, is one line on stderr and a non-zero exit (via HeroCeleryError).
Both commands run under default limits (DEFAULT_TIMEOUT_S, DEFAULT_MAX_OPERATIONS), so
`loop {}` ends with an error that names the flag raising the limit; 0 turns a limit off.
"""
from __future__ import annotations

import json
import sys

import click

from .engine import Engine
from .errors import RhaiLimitError, RhaiTimeout
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


DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_OPERATIONS = 20_000_000


def _engine(timeout: float, max_operations: int) -> Engine:
    return Engine(Limits(timeout_s=timeout, max_operations=max_operations))


def _evaluate(src: str, timeout: float, max_operations: int) -> object:
    """Evaluate under the limits; a limit error says which flag raises that limit."""
    try:
        return _engine(timeout, max_operations).evaluate(src, on_print=_err, on_debug=_err)
    except RhaiTimeout as e:
        raise RhaiTimeout(f"{e.message} after {timeout:g}s (raise it with --timeout S, "
                          f"0 for none)", e.pos) from None
    except RhaiLimitError as e:
        if "Too many operations" not in e.message:
            raise
        raise RhaiLimitError(f"{e.message}: more than {max_operations} (raise the limit with "
                             f"--max-operations N, 0 for none)",
                             e.pos) from None


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
@click.option("--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT_S,
              show_default=True, help="Wall-clock limit in seconds (0: none).")
@click.option("--max-operations", type=click.IntRange(min=0), default=DEFAULT_MAX_OPERATIONS,
              show_default=True, help="Operation limit (0: none).")
def eval_cmd(script: str | None, file: str | None, fmt: str, timeout: float,
             max_operations: int) -> None:
    """Evaluate SCRIPT (or -f FILE, or - for stdin) and print its final value."""
    src = _read(script, file)
    value = _evaluate(src, timeout, max_operations)
    if fmt == "json":
        click.echo(json.dumps(to_json(value), ensure_ascii=False))
    else:
        click.echo(to_display(value))


@group.command("run")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT_S,
              show_default=True, help="Wall-clock limit in seconds (0: none).")
@click.option("--max-operations", type=click.IntRange(min=0), default=DEFAULT_MAX_OPERATIONS,
              show_default=True, help="Operation limit (0: none).")
def run_cmd(file: str, timeout: float, max_operations: int) -> None:
    """Run a script FILE for its effects (print/debug output goes to stderr)."""
    src = _read(None, file)
    _evaluate(src, timeout, max_operations)
