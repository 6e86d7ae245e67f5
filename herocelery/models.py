"""Records: what a user writes (FlowSpec, JobSpec) and what is stored (Job, FlowRecord).

Stored records are flat Redis hashes: scalar fields as text, structured fields as JSON.
"""
from __future__ import annotations

import json
import time
from enum import Enum
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,199}$"


class JobStatus(str, Enum):
    created = "created"
    waiting_for_prerequisites = "waiting_for_prerequisites"
    dispatched = "dispatched"
    started = "started"
    finished = "finished"
    error = "error"
    timeout = "timeout"
    cancelled = "cancelled"
    skipped = "skipped"


class FlowStatus(str, Enum):
    created = "created"
    started = "started"
    finished = "finished"
    error = "error"
    cancelled = "cancelled"


TERMINAL_JOB = frozenset({JobStatus.finished, JobStatus.error, JobStatus.timeout,
                          JobStatus.cancelled, JobStatus.skipped})
FAILED_JOB = frozenset({JobStatus.error, JobStatus.timeout})
TERMINAL_FLOW = frozenset({FlowStatus.finished, FlowStatus.error, FlowStatus.cancelled})


class JobSpec(BaseModel):
    """One job as a user writes it (YAML, HeroScript or `Flow.job`)."""

    model_config = ConfigDict(extra="forbid")

    runner: str = "python"
    script: str
    after: list[str] = Field(default_factory=list)
    retries: int = Field(default=0, ge=0, le=100)
    retry_backoff: float | None = Field(default=None, ge=0, le=3600)
    timeout: float | None = Field(default=None, gt=0, le=7 * 86400)
    node: str | None = Field(default=None, pattern=NAME_PATTERN)
    allow_failure: bool = False
    env: dict[str, str] = Field(default_factory=dict)
    args: dict[str, Any] = Field(default_factory=dict)
    signatures: list[dict[str, str]] = Field(default_factory=list)  # see contexts/signing.py

    @field_validator("after", mode="before")
    @classmethod
    def _after_as_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("env", mode="before")
    @classmethod
    def _env_values_as_text(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in value.items()}
        return value


class FlowSpec(BaseModel):
    """A flow as a user writes it: a name, a context and named jobs."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=NAME_PATTERN)
    context: str = Field(default="default", pattern=NAME_PATTERN)
    jobs: dict[str, JobSpec]


def runs_allowed(retries: int, lost_runs_limit: int) -> int:
    """How many runs of a job may start: one, one more per retry, and `lost_runs_limit` more
    for runs whose worker died before they could record anything (a lost run counts against
    `retries` first). Pure."""
    return retries + 1 + max(0, lost_runs_limit)


def now() -> float:
    return round(time.time(), 6)


class Job(BaseModel):
    """A stored job record (`hero:job:<id>`)."""

    id: str
    flow_id: str
    name: str
    caller_id: str = "local"
    context_id: str = "default"
    node: str
    runner: str
    script: str
    args: dict[str, Any] = Field(default_factory=dict)
    env: dict[str, str] = Field(default_factory=dict)
    after: list[str] = Field(default_factory=list)          # prerequisite names
    after_ids: list[str] = Field(default_factory=list)      # prerequisite ids, same order
    dependents: list[str] = Field(default_factory=list)     # ids of jobs that wait on this one
    timeout_s: float
    retries: int = 0
    retry_backoff_s: float = 1.0
    allow_failure: bool = False
    status: JobStatus = JobStatus.created
    attempts: int = 0
    # dispatches of this job, ever: only grows (flow retry and re-dispatch add one), so every
    # hand-over carries a fresh Celery task id, never one a cancel revoked
    generation: int = 0
    pending: int = 0                                         # prerequisites not yet settled
    result: Any = None
    error: dict[str, Any] | None = None
    logs: str = ""
    created_at: float = Field(default_factory=now)
    started_at: float | None = None
    finished_at: float | None = None
    waiting_since: float | None = None                       # released, no live runner yet
    worker: str | None = None                                # host:pid of its last run
    signatures: list[dict[str, str]] = Field(default_factory=list)
    signatories: list[str] = Field(default_factory=list)    # verified by the supervisor
    seal: str = ""                  # HMAC of the fields admission trusts (contexts/seal.py)

    JSON_FIELDS: ClassVar[tuple[str, ...]] = ("args", "env", "after", "after_ids", "dependents",
                                              "result", "error", "signatures", "signatories")

    def runs_allowed(self, lost_runs_limit: int) -> int:
        return runs_allowed(self.retries, lost_runs_limit)

    def to_hash(self) -> dict[str, str]:
        """The record as hash fields. Hand-written (not model_dump): submitting a 5,000-job
        flow encodes 5,000 of these, and this is several times faster."""
        out: dict[str, str] = {}
        json_fields = self.JSON_FIELDS
        for key in type(self).model_fields:
            value = getattr(self, key)
            if key in json_fields:
                out[key] = json.dumps(value)
            elif value is None:
                continue
            elif isinstance(value, bool):
                out[key] = "1" if value else "0"
            elif isinstance(value, Enum):
                out[key] = str(value.value)
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> Job:
        data: dict[str, Any] = dict(raw)
        for key in cls.JSON_FIELDS:
            if key in data:
                data[key] = json.loads(data[key])
        for key in ("allow_failure",):
            if key in data:
                data[key] = data[key] in ("1", "True", "true")
        return cls.model_validate(data)


class FlowRecord(BaseModel):
    """A stored flow record (`hero:flow:<id>`)."""

    id: str
    name: str
    context_id: str = "default"
    caller_id: str = "local"
    status: FlowStatus = FlowStatus.created
    jobs: dict[str, str] = Field(default_factory=dict)       # job name -> job id
    remaining: int = 0                                        # jobs not yet in a terminal state
    created_at: float = Field(default_factory=now)
    started_at: float | None = None
    finished_at: float | None = None

    def to_hash(self) -> dict[str, str]:
        data = self.model_dump(mode="json")
        data["jobs"] = json.dumps(data["jobs"])
        return {k: str(v) for k, v in data.items() if v is not None}

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> FlowRecord:
        data: dict[str, Any] = dict(raw)
        data["jobs"] = json.loads(data.get("jobs", "{}"))
        return cls.model_validate(data)
