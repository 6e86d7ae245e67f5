"""Handler registry: patterns -> functions, tried in an explicit order.

Guarantees of `Registry.run`: every action not yet done must have a handler, checked before
anything runs (an unhandled action is an error listing every position); actions then run by
ascending priority and file order; for each action the matching handlers are tried by
ascending `order` (registration order breaks ties) and the first that does not return
`DECLINE` takes it; the action is marked done with its result. A failing handler becomes a
HeroScriptError positioned at the action.
"""
from __future__ import annotations

import itertools
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import HeroCeleryError, HeroScriptError
from .model import Action
from .playbook import Playbook, compile_filter
from .typed import Params, to_bool_default_false, to_bool_default_true, to_list

DECLINE = object()  # a handler returns this to let the next matching handler try


@dataclass
class Call:
    """What a handler gets: the action, its params (typed reader or validated model),
    the playbook, and the caller's state (e.g. the job being run)."""

    action: Action
    params: Any
    playbook: Playbook
    state: Any = None


HandlerFn = Callable[[Call], Any]


@dataclass(frozen=True)
class Handler:
    pattern: str
    fn: HandlerFn
    order: int
    seq: int
    schema: Any = None
    match: Callable[[Action], bool] = field(compare=False, repr=False, default=lambda a: False)


def schema_params(action: Action, schema: Any) -> Any:
    """Validate and convert all params of `action` at once with a pydantic model.

    bool fields follow Hero's rules (the field default decides which), list fields are
    split like `to_list`; everything else is left to pydantic. Errors name key and position.
    """
    from pydantic import ValidationError
    data: dict[str, Any] = {}
    for key, value in action.params.items():
        info = schema.model_fields.get(key)
        ann = info.annotation if info is not None else None
        if ann is bool:
            data[key] = (to_bool_default_true(value) if info.default is True
                         else to_bool_default_false(value))
        elif typing.get_origin(ann) in (list, tuple, set):
            data[key] = to_list(value)
        else:
            data[key] = value
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first.get("loc") else None
        raise action.error(f"{action.full_name}: param {where!r}: {first['msg']}"
                           if where else f"{action.full_name}: {first['msg']}", where) from None


class Registry:
    """Handlers by actor.name pattern (globs, alternatives), with an explicit order."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._seq = itertools.count()

    def register(self, pattern: str, fn: HandlerFn, *, order: int = 50,
                 schema: Any = None) -> None:
        h = Handler(pattern, fn, order, next(self._seq), schema, compile_filter(pattern))
        self._handlers.append(h)
        self._handlers.sort(key=lambda x: (x.order, x.seq))

    def action(self, pattern: str, *, order: int = 50,
               schema: Any = None) -> Callable[[HandlerFn], HandlerFn]:
        """Decorator: `@registry.action("payment.add", schema=PaymentAdd)`."""
        def deco(fn: HandlerFn) -> HandlerFn:
            self.register(pattern, fn, order=order, schema=schema)
            return fn
        return deco

    def copy(self) -> Registry:
        new = Registry()
        for h in self._handlers:
            new.register(h.pattern, h.fn, order=h.order, schema=h.schema)
        return new

    def handlers_for(self, action: Action) -> list[Handler]:
        return [h for h in self._handlers if h.match(action)]

    def patterns(self) -> list[str]:
        return [h.pattern for h in self._handlers]

    def check(self, playbook: Playbook) -> None:
        """HeroScriptError listing every action (not done) that no handler matches."""
        left = [a for a in playbook.not_done() if not self.handlers_for(a)]
        if left:
            where = "; ".join(f"{a.where()} !!{a.full_name}" for a in left)
            first = left[0]
            raise HeroScriptError(f"no handler for {len(left)} action(s): {where}",
                                  file=first.file, line=first.line, column=first.column,
                                  source_line=first.source_line or None)

    def run(self, playbook: Playbook, state: Any = None, *,
            before_each: Callable[[Action], None] | None = None) -> list[Any]:
        """Run every action not yet done; returns the handler results in run order."""
        self.check(playbook)
        results: list[Any] = []
        for action in playbook.ordered():
            if action.done:
                continue
            if before_each is not None:
                before_each(action)
            results.append(self._dispatch(action, playbook, state))
        return results

    def _dispatch(self, action: Action, playbook: Playbook, state: Any) -> Any:
        for h in self.handlers_for(action):
            params = schema_params(action, h.schema) if h.schema else Params(action)
            try:
                result = h.fn(Call(action, params, playbook, state))
            except HeroScriptError as exc:
                if exc.line is None:
                    raise action.error(exc.reason) from None
                raise
            except HeroCeleryError as exc:
                raise action.error(f"{action.full_name}: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - a handler bug or a store failure
                raise action.error(f"{action.full_name} failed: "
                                   f"{type(exc).__name__}: {exc}") from None
            if result is DECLINE:
                continue
            action.done = True
            action.result = result
            return result
        raise action.error(f"every handler declined !!{action.full_name}")


def session_handlers(registry: Registry) -> Registry:
    """`!!session.env_set key:K val:V` and `env_set_once` (order 0)."""
    def env_set(call: Call) -> None:
        key = call.params.str("key")
        value = call.action.params.get("val", call.action.params.get("value", ""))
        call.playbook.env_set(key, value, once=call.action.name == "env_set_once",
                              by=call.action)
    registry.register("session.env_set,session.env_set_once", env_set, order=0)
    return registry
