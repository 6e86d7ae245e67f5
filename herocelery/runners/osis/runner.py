"""The `osis` runner: a job's payload is a list of OSIS actions on the job's context database.

The payload is JSON (one action object or a list; see `actions`) or HeroScript
(`!!osis.set ...`). Every action runs on `job.db()`, the connection scoped to the job's
context, so a job can reach no other context's objects. Result: the action's result for a
single JSON object, else the list of results in order. Cancellation and the deadline are
checked before each action.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ...errors import JobTimeout
from ..base import JobContext
from .actions import apply, from_heroscript, parse_json
from .schema import OsisError
from .store import Osis


class OsisRunner:
    name = "osis"

    def run(self, job: JobContext) -> Any:
        import time
        osis = Osis(job.db())
        text = job.script.strip()
        if text.startswith(("{", "[")) or "!!" not in text:
            actions, single = parse_json(text)
            results = []
            for i, action in enumerate(actions, 1):
                self._guard(job, time)
                results.append(apply(osis, action, f"action {i}"))
            return results[0] if single else results
        return self._heroscript(job, osis, time)

    @staticmethod
    def _guard(job: JobContext, time: Any) -> None:
        if job.cancelled():
            raise OsisError("cancelled", kind="Cancelled")
        if time.monotonic() > job.deadline:
            raise JobTimeout(f"job ran past its timeout of {job.timeout_s}s", kind="JobTimeout")

    def _heroscript(self, job: JobContext, osis: Osis, time: Any) -> Any:
        from ...errors import HeroScriptError
        from ...heroscript.playbook import Playbook
        pb = Playbook.from_text(job.script, f"job:{job.name}", includes=False)
        if not len(pb):
            raise OsisError("payload: expected JSON (an action object or a list) or "
                            "HeroScript !!osis.* actions; found neither")
        results = []
        for action in pb.ordered():
            self._guard(job, time)
            if action.actor != "osis":
                raise action.error(f"the osis runner only runs !!osis.* actions, not "
                                   f"!!{action.full_name}")
            try:
                results.append(apply(osis, from_heroscript(osis, action.name, action.params),
                                     f"!!{action.full_name}"))
            except OsisError as exc:
                raise HeroScriptError(exc.message, file=action.file, line=action.line,
                                      column=action.column, kind="OsisError") from None
        return results


RUNNER = OsisRunner()


# ---- other runners' ways in ---------------------------------------------------------------------
def register_heroscript(registry: Any) -> None:
    """Add `!!osis.*` actions to a heroscript handler registry (the job's database)."""
    def handler(call: Any) -> Any:
        osis = Osis(call.state.db())
        a = call.action
        return apply(osis, from_heroscript(osis, a.name, a.params), f"!!{a.full_name}")
    registry.register("osis.*", handler)


def rhai_bindings() -> dict[str, Callable[[JobContext], Callable[..., Any]]]:
    """Factories of the Rhai functions bound to the job's database: osis_set(model, map),
    osis_get(model, id), osis_delete(model, id), osis_find(model, map) (a text value ending
    in `*` is a prefix), osis_list(model), osis_search(model, query) (fulltext fields)."""
    def plain(value: Any) -> Any:
        from ..rhai.values import to_json
        return to_json(value)

    def osis_set(job: JobContext) -> Callable[..., Any]:
        def fn(model: str, obj: Any) -> Any:
            return Osis(job.db()).set(str(model), plain(obj))
        return fn

    def osis_get(job: JobContext) -> Callable[..., Any]:
        def fn(model: str, obj_id: Any) -> Any:
            return Osis(job.db()).get(str(model), str(obj_id))
        return fn

    def osis_delete(job: JobContext) -> Callable[..., Any]:
        def fn(model: str, obj_id: Any) -> Any:
            return Osis(job.db()).delete(str(model), str(obj_id))
        return fn

    def osis_find(job: JobContext) -> Callable[..., Any]:
        def fn(model: str, where: Any) -> Any:
            where = plain(where)
            if not isinstance(where, dict):
                raise OsisError("osis_find(model, map): the second argument must be a map")
            eq = {k: v for k, v in where.items() if not (isinstance(v, str) and v.endswith("*"))}
            pre = {k: v[:-1] for k, v in where.items() if isinstance(v, str) and v.endswith("*")}
            return Osis(job.db()).find(str(model), eq, prefix=pre)
        return fn

    def osis_list(job: JobContext) -> Callable[..., Any]:
        def fn(model: str) -> Any:
            return Osis(job.db()).list(str(model))["items"]
        return fn

    def osis_search(job: JobContext) -> Callable[..., Any]:
        def fn(model: str, query: Any) -> Any:
            query = plain(query)
            if not isinstance(query, str):
                raise OsisError("osis_search(model, query): the query must be a string")
            return Osis(job.db()).search(str(model), query)
        return fn

    return {"osis_set": osis_set, "osis_get": osis_get, "osis_delete": osis_delete,
            "osis_find": osis_find, "osis_list": osis_list, "osis_search": osis_search}


def register_rhai() -> None:
    """Bind the osis_* functions in every rhai job (call once in the rhai worker)."""
    from ..rhai.bindings import register_binding
    for name, factory in rhai_bindings().items():
        register_binding(name, factory)
