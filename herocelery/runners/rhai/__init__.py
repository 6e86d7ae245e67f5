"""Runs Rhai scripts in Python (lexer, parser, closure compiler, stdlib); never touches job
records."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .engine import Engine, Module
from .errors import RhaiParseError, RhaiRuntimeError, RhaiThrow
from .runtime import Limits
from .values import from_json, to_display, to_json


def evaluate(script: str, *, scope: dict[str, Any] | None = None,
             functions: dict[str, Callable[..., Any]] | None = None,
             limits: Limits | None = None, on_print: Callable[[str], None] | None = None,
             on_debug: Callable[[str], None] | None = None,
             deadline: float | None = None) -> Any:
    """Evaluate one script with an optional scope and extra functions; returns a Rhai value."""
    engine = Engine(limits)
    for name, f in (functions or {}).items():
        engine.register_fn(name, f)
    return engine.evaluate(script, scope=scope, on_print=on_print, on_debug=on_debug,
                           deadline=deadline)


__all__ = ["Engine", "Module", "Limits", "evaluate", "to_json", "to_display", "from_json",
           "RhaiParseError", "RhaiRuntimeError", "RhaiThrow"]
