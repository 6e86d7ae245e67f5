"""Pure permission decisions: may this caller do this action (in this context)?

Rules (tested by tables in tests/contexts/test_policy.py):
- scope `admin`: everything.
- scope `registrar`: only `register` (runners and supervisors).
- scope `user`: `read` where the caller is a reader, executor or admin of the context;
  `execute` where executor or admin; `manage` (grant, revoke) where admin. Never
  `create_context`, `delete_context`, `manage_keys` or `register`.
An ACL entry `*` stands for every authenticated caller.
"""
from __future__ import annotations

from .model import ALLOWED, CONTEXT_ACTIONS, Action, Caller, Context, Decision, Role, Scope

NEEDS_ROLE: dict[Action, frozenset[Role]] = {
    Action.read: frozenset({Role.reader, Role.executor, Role.admin}),
    Action.execute: frozenset({Role.executor, Role.admin}),
    Action.manage: frozenset({Role.admin}),
}
ROLE_WORD = {Action.read: "a reader, executor or admin", Action.execute: "an executor or admin",
             Action.manage: "an admin"}

SCOPE_ONLY = ("caller {caller!r} (scope {scope}) may not {action}: it needs an admin key")
REGISTRAR_ONLY = ("caller {caller!r} has a registrar key, which only registers runners and "
                  "supervisors; it may not {action}")
NO_CONTEXT = "{action} needs a context"
NO_ROLE = ("caller {caller!r} may not {action} in context {context!r}: it is not {role} "
           "there (ask an admin: herocelery context grant {context} {caller} ROLE)")

VERB = {Action.read: "read", Action.execute: "execute jobs", Action.manage: "grant or revoke roles",
        Action.create_context: "create contexts", Action.delete_context: "delete contexts",
        Action.manage_keys: "manage API keys", Action.register: "register runners"}


def may(caller: Caller, action: Action, context: Context | None = None) -> Decision:
    """Whether `caller` may do `action` (in `context` for context actions). Pure."""
    verb = VERB[action]
    if caller.scope is Scope.admin:
        return ALLOWED
    if caller.scope is Scope.registrar:
        if action is Action.register:
            return ALLOWED
        return Decision(False, REGISTRAR_ONLY.format(caller=caller.name, action=verb))
    if action not in NEEDS_ROLE:
        return Decision(False, SCOPE_ONLY.format(caller=caller.name, scope=caller.scope.value,
                                                 action=verb))
    if context is None:
        return Decision(False, NO_CONTEXT.format(action=verb))
    if set(context.roles_of(caller.name)) & NEEDS_ROLE[action]:
        return ALLOWED
    return Decision(False, NO_ROLE.format(caller=caller.name, action=verb,
                                          context=context.name, role=ROLE_WORD[action]))


assert CONTEXT_ACTIONS >= set(NEEDS_ROLE)
