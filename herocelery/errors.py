"""One error tree: every error herocelery raises on purpose derives from HeroCeleryError.

The CLI turns a HeroCeleryError into one red line and a non-zero exit code; a traceback
shown to a user means a bug in herocelery, not in the user's input.
"""
from __future__ import annotations


class HeroCeleryError(Exception):
    """Base of every error herocelery raises on purpose."""

    exit_code: int = 1


class ConfigError(HeroCeleryError):
    """A setting is missing, malformed or contradicts another one."""

    exit_code = 2


class FlowError(HeroCeleryError):
    """A flow is invalid: unknown prerequisite, duplicate name, cycle, unknown runner, bad file."""

    exit_code = 2


class NotFound(HeroCeleryError):
    """A flow, job, context or key that was asked for does not exist."""


class NotRunning(HeroCeleryError):
    """No installation runs where a command needs one (`herocelery up`, workers, the API)."""


class AlreadyRunning(HeroCeleryError):
    """Another `herocelery up` holds this data directory."""


class StoreError(HeroCeleryError):
    """The job store (HeroDB or Redis) could not be reached or answered unexpectedly."""


class JobFailed(HeroCeleryError):
    """A job ended `error` or `timeout`. Raised by the runner task after the job's record
    settled, so Celery (and Flower) show the task as FAILURE; declared in the task's
    `throws`, so the worker logs no traceback for it. The message is acked as for a success."""


class AdmissionError(HeroCeleryError):
    """A supervisor refused a job: no live runner, no permission, bad signature."""


class PermissionDenied(AdmissionError):
    """The caller may not do this in this context."""


class ScriptError(HeroCeleryError):
    """A job's script failed; carries the script position (line, column) when known."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 kind: str = "ScriptError", traceback: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column
        self.kind = kind
        self.traceback = traceback

    def to_record(self) -> dict[str, object]:
        """The error as stored on the job record."""
        return {"type": self.kind, "message": self.message, "line": self.line,
                "column": self.column, "traceback": self.traceback}


class JobTimeout(ScriptError):
    """A job ran past its timeout and was killed."""


class HeroScriptError(ScriptError):
    """HeroScript text could not be parsed or an action could not be run; names file:line:column.

    str() is `file:line:col: reason`, followed by the offending source line when known.
    """

    def __init__(self, reason: str, *, file: str | None = None, line: int | None = None,
                 column: int | None = None, source_line: str | None = None,
                 kind: str = "HeroScriptError", traceback: str | None = None) -> None:
        super().__init__(reason, line=line, column=column, kind=kind, traceback=traceback)
        self.reason = reason
        self.file = file
        self.source_line = source_line

    def __str__(self) -> str:
        where = ":".join(str(p) for p in (self.file or "<text>", self.line, self.column)
                         if p is not None)
        text = f"{where}: {self.reason}"
        if self.source_line is not None:
            text += "\n    " + self.source_line.rstrip("\n")
        return text

    def to_record(self) -> dict[str, object]:
        record = super().to_record()
        record["file"] = self.file
        record["message"] = str(self)
        return record


class RhaiError(ScriptError):
    """A Rhai script failed to parse or run; names the position like Rhai does."""
