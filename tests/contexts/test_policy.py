"""may(caller, action, context): every scope x role x action edge, allowed and refused."""
from __future__ import annotations

import pytest

from herocelery.contexts import Action, Caller, Context, Role, Scope, may

CTX = Context(name="team", db=5, admins=frozenset({"ann"}), readers=frozenset({"rita"}),
              executors=frozenset({"eve"}))
OPEN = Context(name="open", db=6, executors=frozenset({"*"}))

ROLE_OF = {"ann": Role.admin, "rita": Role.reader, "eve": Role.executor, "nobody": None}
# what a `user` key may do in CTX, by role
USER_TABLE = {
    Role.admin: {Action.read, Action.execute, Action.manage},
    Role.reader: {Action.read},
    Role.executor: {Action.read, Action.execute},
    None: set(),
}


@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("name", list(ROLE_OF))
def test_user_keys_follow_their_role_in_the_context(name: str, action: Action) -> None:
    decision = may(Caller(name, Scope.user), action, CTX)
    expected = action in USER_TABLE[ROLE_OF[name]]
    assert bool(decision) is expected
    if not expected:
        assert decision.reason and name in decision.reason


@pytest.mark.parametrize("action", list(Action))
def test_admin_keys_may_do_everything_without_a_role(action: Action) -> None:
    assert may(Caller("root", Scope.admin), action, CTX)
    assert may(Caller("root", Scope.admin), action, None)


@pytest.mark.parametrize("action", list(Action))
def test_registrar_keys_only_register(action: Action) -> None:
    # even a registrar listed as a context admin gets nothing but `register`
    ctx = Context(name="team", db=5, admins=frozenset({"reg"}))
    decision = may(Caller("reg", Scope.registrar), action, ctx)
    assert bool(decision) is (action is Action.register)
    if action is not Action.register:
        assert "registrar" in decision.reason


@pytest.mark.parametrize("action", [Action.create_context, Action.delete_context,
                                    Action.manage_keys, Action.register])
def test_user_keys_never_do_installation_actions_even_as_context_admin(action: Action) -> None:
    decision = may(Caller("ann", Scope.user), action, CTX)
    assert not decision
    assert "admin key" in decision.reason


def test_a_refusal_names_caller_context_and_the_missing_role() -> None:
    decision = may(Caller("rita", Scope.user), Action.execute, CTX)
    assert not decision
    assert "'rita'" in decision.reason and "'team'" in decision.reason
    assert "executor" in decision.reason


def test_context_actions_need_a_context() -> None:
    assert not may(Caller("eve", Scope.user), Action.execute, None)


def test_star_grants_a_role_to_every_caller() -> None:
    assert may(Caller("anyone", Scope.user), Action.execute, OPEN)
    assert may(Caller("anyone", Scope.user), Action.read, OPEN)
    assert not may(Caller("anyone", Scope.user), Action.manage, OPEN)


def test_a_role_in_one_context_gives_nothing_in_another() -> None:
    other = Context(name="other", db=7, executors=frozenset({"zed"}))
    assert not may(Caller("eve", Scope.user), Action.execute, other)
    assert not may(Caller("ann", Scope.user), Action.read, other)
