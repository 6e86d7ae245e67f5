"""The `heroscript` runner: a job's script run as a playbook against registered handlers.

In-process and host-free: only registered actions run (`!!db.*` on the job's own database,
`!!job.result`, `!!play.echo`, `!!session.env_set`), `!!play.include` is not available.

References in param values and positional args, resolved before the first action runs:

    {inputs.NAME}          the whole result of prerequisite NAME: text as is, else JSON
    {inputs.NAME.0.key}    a part of it (list index or object key, any depth)
    {args.KEY[.part...]}   the job's args, same rendering
    {env.NAME}             the job's env
    {job.name} {job.id} {job.flow_id} {job.context_id} {job.caller_id} {job.node}

`{NAME}` (no dot) is a session variable set by `!!session.env_set`. The result is what the
last `!!job.result` set, else the list of every action's result in run order. Cancellation
and the job deadline are checked before every action. The job runs in the worker's process,
capped (memcap) to grow it by at most `min(job.memory_bytes, MEMORY_BYTES)`; past that it fails
with a HeroScriptError naming the limit.
"""
from __future__ import annotations

import importlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from ..errors import ConfigError, HeroScriptError, JobTimeout
from ..heroscript.builtins import UNSET, JobState, builtin_registry
from ..heroscript.handlers import Registry
from ..heroscript.model import Action
from ..heroscript.playbook import Playbook
from .base import JobContext
from .memcap import job_memory_cap

REF = re.compile(r"\{(inputs|args|env|job)\.([A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*)\}")

# "module:function" entries called with the runner's registry to add actions of other
# rooms (e.g. "herocelery.runners.osis:register_heroscript"); imported on first use.
EXTENSIONS: tuple[str, ...] = ("herocelery.runners.osis:register_heroscript",)
# how much one job may grow the shared worker process (the job's memory_bytes if lower)
MEMORY_BYTES = 256 * 1024 * 1024


def render(value: Any) -> str:
    """Text as is; anything else as JSON."""
    return value if isinstance(value, str) else json.dumps(value)


def lookup(root: Any, parts: list[str]) -> Any:
    """Walk `root` by keys / list indexes; KeyError naming the first missing part."""
    cur = root
    for part in parts:
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.lstrip("-").isdigit() and \
                -len(cur) <= int(part) < len(cur):
            cur = cur[int(part)]
        else:
            raise KeyError(part)
    return cur


def resolve_refs(actions: list[Action], job: JobContext) -> None:
    """Replace `{inputs.x}`, `{args.x}`, `{env.x}`, `{job.x}` in params and args."""
    roots: dict[str, Any] = {
        "inputs": job.inputs, "args": job.args, "env": job.env,
        "job": {"name": job.name, "id": job.job_id, "flow_id": job.flow_id,
                "context_id": job.context_id, "caller_id": job.caller_id, "node": job.node}}

    def sub_in(action: Action, key: str | None) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            parts = m.group(2).split(".")
            try:
                return render(lookup(roots[m.group(1)], parts))
            except KeyError as exc:
                known = ", ".join(sorted(map(str, roots[m.group(1)]))) or "none"
                raise action.error(f"unknown reference {m.group(0)}: no {exc.args[0]!r} "
                                   f"(known {m.group(1)}: {known})", key) from None
        return sub

    for a in actions:
        for key, value in a.params.items():
            if "{" in value:
                a.params[key] = REF.sub(sub_in(a, key), value)
        a.args = [REF.sub(sub_in(a, None), x) if "{" in x else x for x in a.args]


class HeroScriptRunner:
    """Runs `job.script` as a playbook; see the module docstring for the rules."""

    name = "heroscript"

    def __init__(self, extensions: tuple[str, ...] = EXTENSIONS) -> None:
        self.extensions = extensions
        self._registry: Registry | None = None

    def registry(self) -> Registry:
        """Built-ins plus every extension; built once (handlers keep no per-job state)."""
        if self._registry is None:
            reg = builtin_registry()
            for target in self.extensions:
                module_name, attr = target.split(":")
                try:
                    module = importlib.import_module(module_name)
                except ModuleNotFoundError as exc:
                    raise ConfigError(f"heroscript extension {target!r} is not available: "
                                      f"{exc}") from None
                getattr(module, attr)(reg)
            self._registry = reg
        return self._registry

    def run(self, job: JobContext) -> Any:
        cap = min(job.memory_bytes, MEMORY_BYTES)
        try:
            with job_memory_cap(cap):
                return self._run(job)
        except MemoryError:
            raise HeroScriptError(f"the job ran out of memory: it may use "
                                  f"{cap // (1 << 20)} MB", file=f"job:{job.name}") from None

    def _run(self, job: JobContext) -> Any:
        pb = Playbook.from_text(job.script, f"job:{job.name}", includes=False)
        resolve_refs(pb.actions, job)
        state = JobState(db=job.db, log=job.log)

        def guard(action: Action) -> None:
            if job.cancelled():
                raise action.error(f"job cancelled before !!{action.full_name}")
            if time.monotonic() > job.deadline:
                raise JobTimeout(f"job ran past its timeout of {job.timeout_s}s before "
                                 f"!!{action.full_name} at {action.where()}",
                                 line=action.line, column=action.column, kind="JobTimeout")
        results = self.registry().run(pb, state, before_each=guard)
        return state.result if state.result is not UNSET else results


RUNNER = HeroScriptRunner()
