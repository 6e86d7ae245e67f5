"""Who may call what: the API's permission checks, delegated to the contexts room.

A caller is a `contexts.Caller` when that room is installed; then reading a flow or job needs
the `read` permission in its context, cancelling and retrying need `execute` (submitting is
checked by the coordinator itself), and the flow list shows only readable contexts. Without
the room (a caller is a plain name) every authenticated caller may do everything.
"""
from __future__ import annotations

from typing import Any

from ..errors import PermissionDenied


def has_contexts(caller: Any) -> bool:
    return hasattr(caller, "scope")


def registry_of(backend: Any) -> Any:
    root = getattr(backend, "_parent", None) or backend
    if getattr(root, "_registry", None) is None:
        from ..contexts import Registry
        root._registry = Registry(root.store.r, root.settings)
    return root._registry


def decide(backend: Any, action: str, context: str | None) -> Any:
    """The contexts room's Decision (truthy when allowed) for the backend's caller."""
    from ..contexts import Action, may
    registry = registry_of(backend)
    ctx = None
    if context is not None:
        try:
            ctx = registry.context(context)
        except Exception:  # noqa: BLE001 - an unknown context: only admins pass below
            ctx = None
    return may(backend.caller, Action(action), ctx)


def require(backend: Any, action: str, context: str | None = None) -> None:
    """PermissionDenied unless the caller may do `action` (in `context`)."""
    if not has_contexts(backend.caller):
        return
    decision = decide(backend, action, context)
    if not decision:
        raise PermissionDenied(decision.reason or f"not allowed: {action}")


def may_read(backend: Any, context: str) -> bool:
    if not has_contexts(backend.caller):
        return True
    return bool(decide(backend, "read", context))
