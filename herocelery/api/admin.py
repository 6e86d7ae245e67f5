"""RPC methods over contexts and API keys (the contexts room), as far as the caller's key
allows: `context.list|create|grant|revoke`, `key.create|list|revoke`. Registered only when
`herocelery.contexts` is installed. Access keys of contexts are never returned."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .access import registry_of, require
from .rpc import Method

if TYPE_CHECKING:
    from ..contexts import Context
    from .methods import Backend

NAME = Field(min_length=1, max_length=200)


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoParams(_Params):
    pass


class CreateContextParams(_Params):
    name: str = NAME
    admins: list[str] = Field(default_factory=list)
    readers: list[str] = Field(default_factory=list)
    executors: list[str] = Field(default_factory=list)


class GrantParams(_Params):
    name: str = NAME
    caller: str = NAME
    role: Literal["admin", "reader", "executor"]


class RevokeParams(_Params):
    name: str = NAME
    caller: str = NAME
    role: Literal["admin", "reader", "executor"] | None = None


class KeyCreateParams(_Params):
    name: str = NAME
    scope: Literal["admin", "registrar", "user"] = "user"


class KeyNameParams(_Params):
    name: str = NAME


def context_view(ctx: Context) -> dict[str, Any]:
    return {"name": ctx.name, "db": ctx.db, "admins": sorted(ctx.admins),
            "readers": sorted(ctx.readers), "executors": sorted(ctx.executors),
            "require_signatures": ctx.require_signatures, "created_at": ctx.created_at}


def context_list(b: Backend, p: NoParams) -> dict[str, Any]:
    from .access import may_read
    return {"contexts": [context_view(c) for c in registry_of(b).contexts()
                         if may_read(b, c.name)]}


def context_create(b: Backend, p: CreateContextParams) -> dict[str, Any]:
    require(b, "create_context")
    ctx = registry_of(b).create_context(p.name, admins=p.admins, readers=p.readers,
                                        executors=p.executors)
    return context_view(ctx)


def context_grant(b: Backend, p: GrantParams) -> dict[str, Any]:
    from ..contexts import Role
    require(b, "manage", p.name)
    return context_view(registry_of(b).grant(p.name, p.caller, Role(p.role)))


def context_revoke(b: Backend, p: RevokeParams) -> dict[str, Any]:
    from ..contexts import Role
    require(b, "manage", p.name)
    role = Role(p.role) if p.role else None
    return context_view(registry_of(b).revoke(p.name, p.caller, role))


def key_create(b: Backend, p: KeyCreateParams) -> dict[str, Any]:
    from ..contexts import Scope
    require(b, "manage_keys")
    return {"name": p.name, "scope": p.scope,
            "api_key": registry_of(b).create_key(p.name, Scope(p.scope))}


def key_list(b: Backend, p: NoParams) -> dict[str, Any]:
    require(b, "manage_keys")
    return {"keys": registry_of(b).callers()}


def key_revoke(b: Backend, p: KeyNameParams) -> dict[str, Any]:
    require(b, "manage_keys")
    registry_of(b).revoke_key(p.name)
    return {"revoked": p.name}


def admin_methods() -> dict[str, Method]:
    """The methods, or none when the contexts room is not installed."""
    import importlib.util
    if importlib.util.find_spec("herocelery.contexts") is None:
        return {}
    obj = {"type": "object"}
    methods = [
        Method("context.list", NoParams, context_list, "Contexts the caller may read.", obj),
        Method("context.create", CreateContextParams, context_create,
               "Create a context (its own database and ACL).", obj, scope="admin"),
        Method("context.grant", GrantParams, context_grant,
               "Give a caller a role in a context.", obj, scope="admin"),
        Method("context.revoke", RevokeParams, context_revoke,
               "Take a role (or every role) of a caller in a context.", obj, scope="admin"),
        Method("key.create", KeyCreateParams, key_create,
               "Create an API key; the key is returned once, only its hash is stored.", obj,
               scope="admin"),
        Method("key.list", NoParams, key_list, "API keys: names, scopes, key ids.", obj,
               scope="admin"),
        Method("key.revoke", KeyNameParams, key_revoke, "Revoke an API key.", obj,
               scope="admin"),
    ]
    return {m.name: m for m in methods}
