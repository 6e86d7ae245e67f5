"""Run-time state of one evaluation: limits, operation budget, call depth, functions.

Guarantees: every loop iteration and every function call spends one operation; the budget is
checked against `max_operations`, the wall-clock `deadline` and a cancel hook at least every
`WINDOW` operations, so no script can run past its limits.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import STACK_OVERFLOW, TIMEOUT, TOO_LARGE, TOO_MANY_OPS, RhaiLimitError, RhaiTimeout
from .library import Library
from .values import FnPtr

WINDOW = 128
MAX_CALL_LEVELS = 1000      # beyond this the Python stack itself would be at risk


@dataclass(frozen=True)
class Limits:
    """Resource limits of one evaluation; 0 means unlimited (sizes, operations)."""

    max_operations: int = 0
    max_call_levels: int = 64
    max_expr_depth: int = 64
    max_string_size: int = 0
    max_array_size: int = 0
    max_map_size: int = 0
    timeout_s: float = 0.0        # 0: no timeout unless a deadline is given


class Cell:
    """A variable shared between a scope and the closures that captured it."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v


class Ret:
    """Control signal: `return value`."""

    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v


class Brk:
    """Control signal: `break [value]`."""

    __slots__ = ("v",)

    def __init__(self, v: Any = None) -> None:
        self.v = v


class Cont:
    """Control signal: `continue`."""

    __slots__ = ()


BREAK = Brk()
CONTINUE = Cont()


class CtlExc(Exception):
    """Carries a control signal out of an expression (e.g. `return` inside `let x = if ...`)."""

    def __init__(self, ctl: Any) -> None:
        super().__init__()
        self.ctl = ctl


class ExitScript(BaseException):
    """`exit(value)`: ends the evaluation with value. A BaseException, so that no `try`, no
    native's error wrapper and no loop handler stops it; only Engine.evaluate catches it."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value


class NoThis:
    """Marks `this` as unbound in a frame."""

    __slots__ = ()


NO_THIS = NoThis()


class ScriptFn:
    """A compiled script function or closure: its frame layout and its body."""

    __slots__ = ("name", "params", "nslots", "body", "boxed", "pos", "private", "capture_slots",
                 "template", "fast", "rt")

    def __init__(self, name: str, params: list[str], pos: tuple[int, int],
                 private: bool = False) -> None:
        self.name = name
        self.params = params
        self.pos = pos
        self.private = private
        self.nslots = 0
        self.body: Callable[[list[Any]], Any] = lambda fr: None
        self.boxed: tuple[int, ...] = ()          # parameter slots that closures capture
        self.capture_slots: tuple[int, ...] = ()  # closure: slots receiving captured cells
        self.template: list[Any] = []
        # `fast(*args)`: the body called with its arguments (no `this`); the compiler puts a
        # generated entry here when it can, this one builds the frame
        self.fast: Callable[..., Any] = self._framed
        self.rt: Rt | None = None

    def _framed(self, depth: int, *args: Any) -> Any:
        """fast(depth, *args) for a body that has only the frame entry."""
        nf = self.template.copy()
        nf[1:1 + len(args)] = args
        for s in self.boxed:
            nf[s] = Cell(nf[s])
        rt = self.rt
        assert rt is not None
        saved = rt.depth
        rt.depth = depth
        try:
            return self.body(nf)
        finally:
            rt.depth = saved

    def finish(self, nslots: int) -> None:
        self.nslots = nslots
        self.template = [NO_THIS] + [None] * (nslots - 1)


class Closure:
    """A closure value's callable part: the function and the cells it captured."""

    __slots__ = ("fn", "cells")

    def __init__(self, fn: ScriptFn, cells: list[Cell]) -> None:
        self.fn = fn
        self.cells = cells


class Rt:
    """The state of one evaluation."""

    # slots: generated code reads and writes depth and budget on every call
    __slots__ = ("limits", "lib", "max_ops", "max_depth", "max_str", "max_arr", "max_map",
                 "deadline", "cancelled", "on_print", "on_debug", "ops", "window", "budget",
                 "loop_mask", "depth", "fns", "modules", "call_fnptr", "load_module")

    def __init__(self, limits: Limits, lib: Library, deadline: float | None = None,
                 on_print: Callable[[str], None] | None = None,
                 on_debug: Callable[[str], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> None:
        self.limits = limits
        self.lib = lib
        self.max_ops = limits.max_operations
        self.max_depth = min(limits.max_call_levels, MAX_CALL_LEVELS)
        self.max_str = limits.max_string_size
        self.max_arr = limits.max_array_size
        self.max_map = limits.max_map_size
        if limits.timeout_s and deadline is None:
            deadline = time.monotonic() + limits.timeout_s
        self.deadline = deadline
        self.cancelled = cancelled
        self.on_print = on_print or (lambda s: print(s))
        self.on_debug = on_debug or self.on_print
        self.ops = 0
        self.window = WINDOW if not self.max_ops else min(WINDOW, self.max_ops)
        self.budget = self.window
        # loops count iterations locally and spend them in batches of loop_mask + 1
        self.loop_mask = 0 if (self.max_ops and self.max_ops < 100_000) else 63
        self.depth = 0
        self.fns: dict[tuple[str, int], ScriptFn] = {}
        self.modules: dict[str, Any] = {}
        self.call_fnptr: Callable[[FnPtr, list[Any]], Any] = lambda fp, args: None
        self.load_module: Callable[[str], Any] = self.modules.get

    def tick(self) -> None:
        """Called when the budget runs out: count, check limits, refill."""
        self.ops += self.window - self.budget
        if self.max_ops and self.ops > self.max_ops:
            raise RhaiLimitError(TOO_MANY_OPS)
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RhaiTimeout(TIMEOUT)
        if self.cancelled is not None and self.cancelled():
            raise RhaiLimitError("Script terminated: cancelled")
        left = self.max_ops - self.ops if self.max_ops else WINDOW
        self.window = max(1, min(WINDOW, left))
        self.budget = self.window

    def spend(self, n: int) -> None:
        """Spend n operations at once (e.g. a native walking a big array)."""
        self.budget -= n
        if self.budget < 0:
            self.tick()

    def too_deep(self) -> RhaiLimitError:
        return RhaiLimitError(STACK_OVERFLOW)

    def check_str(self, s: str) -> str:
        if self.max_str and len(s) > self.max_str:
            raise RhaiLimitError(TOO_LARGE.format("Length of string"))
        return s

    def check_arr(self, a: list[Any]) -> list[Any]:
        if self.max_arr and len(a) > self.max_arr:
            raise RhaiLimitError(TOO_LARGE.format("Size of array"))
        return a

    def check_map(self, m: dict[str, Any]) -> dict[str, Any]:
        if self.max_map and len(m) > self.max_map:
            raise RhaiLimitError(TOO_LARGE.format("Size of object map"))
        return m

    def check_value(self, v: Any) -> Any:
        t = type(v)
        if t is str:
            return self.check_str(v)
        if t is list:
            return self.check_arr(v)
        if t is dict:
            return self.check_map(v)
        return v
