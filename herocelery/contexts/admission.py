"""The checks the coordinator and the supervisor make before a job may run.

The coordinator calls `check_flow` when a flow is submitted; the supervisor calls
`JobCheck.refusal` for every job before dispatch, from the records alone, so a message put on
the queue by hand is checked the same way. A refusal is a sentence naming the caller, the
context and what is missing.
"""
from __future__ import annotations

from typing import Any

from ..errors import HeroCeleryError, PermissionDenied
from ..keys import home_of
from ..models import FlowSpec, Job
from . import signing
from .model import Action, Caller, Context
from .policy import may
from .registry import Registry


def check_flow(registry: Registry, caller: Caller, spec: FlowSpec) -> Context:
    """The flow's context when `caller` may execute there and every signature holds;
    PermissionDenied otherwise (nothing is stored)."""
    try:
        ctx = registry.context(spec.context)
    except HeroCeleryError as exc:
        raise PermissionDenied(f"flow {spec.name!r}: {exc}") from None
    decision = may(caller, Action.execute, ctx)
    if not decision:
        raise PermissionDenied(f"flow {spec.name!r}: {decision.reason}")
    for name, js in spec.jobs.items():
        if not js.signatures and not ctx.require_signatures:
            continue
        data = signing.canonical(context=spec.context, name=name, runner=js.runner,
                                 script=js.script, args=js.args, env=js.env, after=js.after)
        _, why = signing.check(js.signatures, data, required=ctx.require_signatures,
                               signers=ctx.signers, context=ctx.name)
        if why is not None:
            raise PermissionDenied(f"flow {spec.name!r}, job {name!r}: {why}")
    return ctx


class JobCheck:
    """Per-batch admission of jobs: caller, context ACL and signatures (lookups cached)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self._callers: dict[str, Any] = {}
        self._contexts: dict[str, Any] = {}

    def _lookup(self, cache: dict[str, Any], key: str, fn: Any) -> Any:
        if key not in cache:
            try:
                cache[key] = fn(key)
            except HeroCeleryError as exc:
                cache[key] = exc
        return cache[key]

    def context(self, name: str) -> Context:
        value = self._lookup(self._contexts, name, self.registry.context)
        if isinstance(value, Exception):
            raise value
        return value

    def refusal(self, job: Job) -> tuple[list[str], str | None]:
        """(signatories, why the job may not run or None)."""
        caller = self._lookup(self._callers, job.caller_id, self.registry.caller)
        if isinstance(caller, Exception):
            return [], str(caller)
        ctx = self._lookup(self._contexts, job.context_id, self.registry.context)
        if isinstance(ctx, Exception):
            return [], str(ctx)
        home = home_of(job.id)
        if home is not None and home != ctx.db:
            return [], (f"job {job.id} claims context {ctx.name!r} but its record lies outside "
                        f"that context's database ({ctx.db})")
        decision = may(caller, Action.execute, ctx)
        if not decision:
            return [], decision.reason
        return check_signatures(ctx, job)


def check_signatures(ctx: Context, job: Job) -> tuple[list[str], str | None]:
    """(signatories, why the job's signatures do not hold for its context, or None).

    The supervisor asks before dispatch and the runner again just before running, from the
    record it claimed: records live in the context's database, which its jobs can write, so
    neither the script nor the signatories are taken on trust from an earlier check."""
    if not job.signatures and not ctx.require_signatures:
        return [], None
    return signing.check(job.signatures, signing.job_bytes(job), required=ctx.require_signatures,
                         signers=ctx.signers, context=ctx.name)


def check_access(registry: Registry, caller: Caller, context_name: str, action: Action,
                 what: str) -> None:
    """PermissionDenied unless `caller` may do `action` in the context of `what` (a flow)."""
    try:
        ctx = registry.context(context_name)
    except HeroCeleryError as exc:
        raise PermissionDenied(f"{what}: {exc}") from None
    decision = may(caller, action, ctx)
    if not decision:
        raise PermissionDenied(f"{what}: {decision.reason}")


def readable(registry: Registry, caller: Caller, context_names: set[str]) -> set[str]:
    """The contexts among `context_names` whose flows `caller` may see."""
    out = set()
    for name in context_names:
        try:
            if may(caller, Action.read, registry.context(name)):
                out.add(name)
        except HeroCeleryError:
            continue
    return out
