"""Rhai's errors: parse errors, runtime errors and uncaught throws, each with a position.

Every error the interpreter raises is a `RhaiError` (from herocelery.errors); its text ends
with the position the way Rhai prints it: `Variable not found: x (line 3, position 5)`.
"""
from __future__ import annotations

from typing import Any

from ...errors import JobTimeout, RhaiError

Pos = tuple[int, int]


class RhaiBaseError(RhaiError):
    """A Rhai error whose position may be filled in by the innermost node that knows it."""

    def __init__(self, message: str, pos: Pos | None = None, kind: str = "RhaiError") -> None:
        line, col = pos if pos else (None, None)
        super().__init__(message, line=line, column=col, kind=kind)

    def at(self, pos: Pos | None) -> RhaiBaseError:
        """Set the position if none is known yet; returns self for `raise e.at(pos)`."""
        if self.line is None and pos is not None:
            self.line, self.column = pos
        return self

    @property
    def pos(self) -> Pos | None:
        """(line, column) when known."""
        if self.line is None or self.column is None:
            return None
        return (self.line, self.column)

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return f"{self.message} (line {self.line}, position {self.column})"


class RhaiParseError(RhaiBaseError):
    """The script is not valid Rhai."""

    def __init__(self, message: str, pos: Pos | None = None) -> None:
        super().__init__(message, pos, kind="RhaiParseError")


class RhaiRuntimeError(RhaiBaseError):
    """The script failed while running."""

    def __init__(self, message: str, pos: Pos | None = None) -> None:
        super().__init__(message, pos, kind="RhaiRuntimeError")


class RhaiThrow(RhaiRuntimeError):
    """A `throw` nobody caught; `value` is the thrown Rhai value."""

    def __init__(self, value: Any, text: str, pos: Pos | None = None) -> None:
        super().__init__(f"Runtime error: {text}", pos)
        self.kind = "RhaiThrow"
        self.value = value


class RhaiLimitError(RhaiRuntimeError):
    """A limit was exceeded: operations, call depth, sizes or the wall-clock deadline."""


class RhaiTimeout(RhaiLimitError, JobTimeout):
    """The wall-clock deadline passed: a job settles `timeout` (JobTimeout), not `error`."""


class FnNotFound(RhaiRuntimeError):
    """No function matches this name and these argument types."""


# error texts (Rhai's wording)
VAR_NOT_FOUND = "Variable not found: {}"
FN_NOT_FOUND = "Function not found: {}"
CONST_ASSIGN = "Cannot modify constant: {}"
TOO_MANY_OPS = "Too many operations"
STACK_OVERFLOW = "Stack overflow"
TIMEOUT = "Script terminated: wall-clock timeout exceeded"
DIV_ZERO = "Division by zero: {} {} {}"
OVERFLOW = "{} overflow: {} {} {}"
TOO_LARGE = "{} exceeds maximum limit"
OUT_OF_MEMORY = "Out of memory"
