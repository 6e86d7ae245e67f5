"""The optional C scanner (`_speedups.c`) behind one function; never required.

`scanner()` gives the compiled scan, or None when the extension is not built (no compiler
at install time), when `HEROCELERY_PURE_PYTHON=1` (read at first use, like msgpack's
MSGPACK_PUREPYTHON), or when the Action model no longer has the slots the C code fills.
The scan runs `_Parser.run`'s line loop: it handles the common lines itself and hands any
other line to `_Parser.line`, so results and errors are those of the Python parser.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from functools import cache
from typing import Any

from .model import KINDS, Action

# Action's slots in the order _speedups.c fills them; the last three keep their defaults
FIELDS = ("kind", "actor", "name", "params", "args", "comments", "param_comments", "file",
          "line", "column", "pos", "text", "id", "priority", "done", "result")

Scan = Callable[[Any, str], int | None]   # (parser, normalised text) -> lines, or None


@cache
def scanner() -> Scan | None:
    """The compiled line scan, or None (then the pure-Python scan runs)."""
    if os.environ.get("HEROCELERY_PURE_PYTHON", "") not in ("", "0"):
        return None
    try:
        from . import _speedups  # type: ignore[attr-defined]
    except ImportError:
        return None
    fields = dataclasses.fields(Action)
    if tuple(f.name for f in fields) != FIELDS:
        return None
    layout = (Action, tuple(Action.__dict__[name] for name in FIELDS),
              tuple(f.default for f in fields[13:]), tuple(KINDS[n] for n in (1, 2, 3, 4)))
    native = _speedups.scan

    def scan(parser: Any, text: str) -> int | None:
        return native(parser, text, layout)
    return scan


def accelerated() -> bool:
    """True when parsing uses the C scan."""
    return scanner() is not None
