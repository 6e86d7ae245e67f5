"""The contract between the runner task and each runner type.

A runner type gets a `JobContext` and returns the job's result (anything JSON can hold), or
raises `ScriptError` (with the script position when known). It never touches job records:
the runner task around it claims the job, records status, result, error and logs.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import redis


@dataclass
class JobContext:
    """What a runner type may know about the job it executes."""

    job_id: str
    flow_id: str
    name: str
    runner: str
    script: str
    args: dict[str, Any]
    env: dict[str, str]
    inputs: dict[str, Any]
    caller_id: str
    context_id: str
    node: str
    timeout_s: float
    db_url: str                                   # the job's context database (redis URL)
    log: Callable[[str], None] = print            # append one line to the job's logs
    cancelled: Callable[[], bool] = lambda: False  # True once the job/flow was cancelled
    signatories: tuple[str, ...] = ()
    # this run's number (1, 2, ...): a job may run more than once (a retry, or a run whose
    # worker died before it could record an outcome), so an effect can be made idempotent
    attempt: int = 1
    # without the zygote (python.py), process-isolated runners start a fresh interpreter
    # instead of running in the forked worker image, whose memory and /proc/self/environ hold
    # the tiers' secrets (set when the context has an access key, or with `job_user`)
    fresh_interpreter: bool = False
    user: tuple[int, int] | None = None          # (uid, gid) of `job_user`; None: the runner's
    cpu_s: int = 600                              # limits of process-isolated runners
    memory_bytes: int = 1 << 30
    output_bytes: int = 65536
    env_allow: tuple[str, ...] = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR")
    started_monotonic: float = field(default_factory=time.monotonic)
    _db: redis.Redis | None = field(default=None, repr=False)

    @property
    def deadline(self) -> float:
        """time.monotonic() value after which the job must stop."""
        return self.started_monotonic + self.timeout_s

    def db(self) -> redis.Redis:
        """A client bound to the job's context database, created on first use."""
        if self._db is None:
            import redis as redis_mod
            self._db = redis_mod.Redis.from_url(self.db_url, decode_responses=True,
                                                protocol=2)
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


class Runner(Protocol):
    """One runner type: executes one job and returns its result or raises ScriptError."""

    name: str

    def run(self, job: JobContext) -> Any: ...
