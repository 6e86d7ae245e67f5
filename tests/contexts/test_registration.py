"""Starting a supervisor or a runner registers it: registrar or admin keys only."""
from __future__ import annotations

import uuid

import pytest

from herocelery.commands import authorize_registration
from herocelery.contexts import Scope
from herocelery.errors import PermissionDenied


def test_only_registrar_and_admin_keys_may_start_workers(secure_settings, registry) -> None:
    tag = uuid.uuid4().hex[:6]
    admin = registry.create_key(f"reg-admin-{tag}", Scope.admin)
    registrar = registry.create_key(f"reg-registrar-{tag}", Scope.registrar)
    user = registry.create_key(f"reg-user-{tag}", Scope.user)
    authorize_registration(secure_settings.with_(api_key=registrar))
    authorize_registration(secure_settings.with_(api_key=admin))
    with pytest.raises(PermissionDenied, match="may not register runners"):
        authorize_registration(secure_settings.with_(api_key=user))
    with pytest.raises(PermissionDenied, match="HEROCELERY_API_KEY"):
        authorize_registration(secure_settings.with_(api_key=None))


def test_the_cli_refuses_a_user_key_in_one_line(secure_settings, registry, run_cli) -> None:
    user = registry.create_key(f"reg-cli-{uuid.uuid4().hex[:6]}", Scope.user)
    for args in (("runner", "start", "python", "--node", "node1"),
                 ("supervisor", "start", "--node", "node1")):
        out = run_cli(secure_settings, *args, key=user)
        assert out.returncode == 1 and "may not register runners" in out.stderr
        assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1
