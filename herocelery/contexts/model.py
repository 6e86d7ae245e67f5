"""What a context, a caller and a permission decision are: plain frozen records."""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


class Scope(str, Enum):
    """What an API key may do at all."""

    admin = "admin"          # everything, key management included
    registrar = "registrar"  # register runners and supervisors
    user = "user"            # flows in contexts where the caller has a role


class Role(str, Enum):
    """A caller's role in one context (Hero's model)."""

    admin = "admin"          # read, execute, grant and revoke roles
    reader = "reader"        # see flows, jobs and data
    executor = "executor"    # submit and manage flows (and read)


class Action(str, Enum):
    """Everything a permission is asked for."""

    read = "read"                    # a context's flows, jobs and records
    execute = "execute"              # submit, cancel or retry flows in a context
    manage = "manage"                # grant or revoke roles in a context
    create_context = "create_context"
    delete_context = "delete_context"
    manage_keys = "manage_keys"      # create, list and revoke API keys
    register = "register"            # register runners and supervisors


CONTEXT_ACTIONS = frozenset({Action.read, Action.execute, Action.manage,
                             Action.delete_context})
ANYONE = "*"                          # in an ACL: every authenticated caller


@dataclass(frozen=True)
class Caller:
    """Who is asking: an API key's name and scope."""

    name: str
    scope: Scope


LOCAL = Caller("local", Scope.admin)   # an installation with no API keys yet (single user)


@dataclass(frozen=True)
class Context:
    """A tenant: its own HeroDB database and access key, its ACL and signing policy.

    `access_key` is empty when the server has no access model (plain Redis, or HeroDB without
    an admin secret): then the database number is all that separates contexts.
    """

    name: str
    db: int
    access_key: str = ""
    admins: frozenset[str] = frozenset()
    readers: frozenset[str] = frozenset()
    executors: frozenset[str] = frozenset()
    require_signatures: bool = False
    signers: frozenset[str] = frozenset()      # allowed public keys (hex); empty: any signer
    created_at: float = 0.0

    def members(self, role: Role) -> frozenset[str]:
        return {Role.admin: self.admins, Role.reader: self.readers,
                Role.executor: self.executors}[role]

    def roles_of(self, caller: str) -> list[Role]:
        return [r for r in Role if caller in self.members(r) or ANYONE in self.members(r)]


@dataclass(frozen=True)
class Decision:
    """The answer of `may`: truthy when allowed; otherwise `reason` says why not."""

    allowed: bool
    reason: str = field(default="")

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)
