"""The `rhai` runner: runs a job's Rhai script with the job's inputs and its context database.

Scope: INPUTS (map of prerequisite results), ARGS, CALLER_ID, CONTEXT_ID, JOB_ID, FLOW_ID.
Functions: every binding of `bindings.BINDINGS` (db_get, db_set, ... bound to `job.db()`).
Modules: registered ones, else Rhai source stored in the context database at MODULE_KEY.
`print`/`debug` lines go to `job.log`; the wall-clock limit is `job.deadline`; cancellation
is checked with the operation budget; the job's memory is capped (memcap: the worker process
may grow by at most `min(job.memory_bytes, runner.memory_bytes)` while it runs, every value
and copy counted). The result is the last value, as JSON data.
"""
from __future__ import annotations

from typing import Any

from ..base import JobContext
from ..memcap import job_memory_cap
from .bindings import BINDINGS
from .engine import Engine, Module
from .errors import OUT_OF_MEMORY, RhaiLimitError, RhaiRuntimeError
from .runtime import Limits
from .values import to_json

# a Rhai module kept in the context's own database: `import "name" as m;` reads this key
MODULE_KEY = "rhai:module:{}"

DEFAULT_LIMITS = Limits(max_call_levels=128, max_expr_depth=64,
                        max_string_size=16 * 1024 * 1024, max_array_size=4 * 1024 * 1024,
                        max_map_size=1024 * 1024)
# how much a job may grow the shared worker process (the job's own memory_bytes if lower)
DEFAULT_MEMORY_BYTES = 256 * 1024 * 1024


class RhaiRunner:
    """Runner type `rhai`; stateless between jobs (one engine per job)."""

    name = "rhai"

    def __init__(self, limits: Limits = DEFAULT_LIMITS,
                 memory_bytes: int = DEFAULT_MEMORY_BYTES) -> None:
        self.limits = limits
        self.memory_bytes = memory_bytes
        self.modules: dict[str, Module | dict[str, Any] | str] = {}

    def register_module(self, name: str, module: Module | dict[str, Any] | str) -> None:
        """A module every job may `import "name" as m;`."""
        self.modules[name] = module

    def engine_for(self, job: JobContext) -> Engine:
        def module_source(name: str) -> str | None:
            src = job.db().get(MODULE_KEY.format(name))
            return None if src is None else str(src)
        engine = Engine(self.limits, module_resolver=module_source)
        for name, factory in list(BINDINGS.items()):
            try:
                engine.register_fn(name, factory(job))
            except Exception as e:        # a broken binding fails the job, not the worker
                raise RhaiRuntimeError(f"cannot bind function {name}: {e}") from None
        for name, module in self.modules.items():
            engine.register_module(name, module)
        return engine

    def run(self, job: JobContext) -> Any:
        """Run the job's script; returns its last value as JSON data or raises RhaiError."""
        scope = {"INPUTS": dict(job.inputs), "ARGS": dict(job.args),
                 "CALLER_ID": job.caller_id, "CONTEXT_ID": job.context_id,
                 "JOB_ID": job.job_id, "FLOW_ID": job.flow_id}
        cap = min(job.memory_bytes, self.memory_bytes)
        try:
            with job_memory_cap(cap):
                value = self.engine_for(job).evaluate(
                    job.script, scope=scope, deadline=job.deadline, on_print=job.log,
                    on_debug=job.log, cancelled=job.cancelled)
                return to_json(value)
        except RhaiLimitError as e:
            if not e.message.startswith(OUT_OF_MEMORY):
                raise
            raise RhaiLimitError(f"{e.message}: the job may use {cap // (1 << 20)} MB",
                                 e.pos) from None
        except MemoryError:        # in to_json, or in the engine's own bookkeeping
            raise RhaiLimitError(f"{OUT_OF_MEMORY}: the job may use {cap // (1 << 20)} MB"
                                 ) from None
        finally:
            job.close()


RUNNER = RhaiRunner()
