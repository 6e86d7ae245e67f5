"""Executes one job's script for its runner type; never decides what runs next."""
from __future__ import annotations

import importlib

from ..errors import ConfigError
from .base import JobContext, Runner

# runner type -> "module:attribute" of an object satisfying `Runner`; imported on first use
REGISTRY: dict[str, str] = {
    "python": "herocelery.runners.python:RUNNER",
    "shell": "herocelery.runners.shell:RUNNER",
    "heroscript": "herocelery.runners.heroscript:RUNNER",
    "rhai": "herocelery.runners.rhai.runner:RUNNER",
    "osis": "herocelery.runners.osis:RUNNER",
}

# runner type -> "module:function" called once before its runner is first used: bindings that
# other rooms add to a language library that may not import them (layering)
EXTENSIONS: dict[str, tuple[str, ...]] = {
    "rhai": ("herocelery.runners.osis:register_rhai",),
}
_extended: set[str] = set()


def get_runner(kind: str) -> Runner:
    """The runner object of a type; ConfigError if the type is unknown or not installed."""
    target = REGISTRY.get(kind)
    if target is None:
        raise ConfigError(f"unknown runner type {kind!r}; known: {', '.join(sorted(REGISTRY))}")
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(f"runner type {kind!r} is not available: {exc}") from None
    runner: Runner = getattr(module, attr)
    if kind not in _extended:
        _extended.add(kind)
        for hook in EXTENSIONS.get(kind, ()):
            hook_module, hook_name = hook.split(":")
            getattr(importlib.import_module(hook_module), hook_name)()
    return runner


__all__ = ["JobContext", "Runner", "get_runner", "REGISTRY"]
