"""The context registry and API keys on a real HeroDB with an admin secret."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import redis

from herocelery.contexts import ContextError, Role, Scope, scoped_url
from herocelery.errors import NotFound, PermissionDenied


def test_the_server_is_seen_as_protected(registry) -> None:
    assert registry.protected() is True


def test_each_context_gets_its_own_private_database_and_key(registry, secure_herodb) -> None:
    a = registry.create_context("reg-a")
    b = registry.create_context("reg-b")
    assert a.db != b.db and a.access_key and b.access_key and a.access_key != b.access_key
    assert a.db not in (0, 1, 2, 3, 4)   # broker, backend, store and default stay apart
    ca = redis.Redis.from_url(scoped_url(registry.settings.broker_url, a), decode_responses=True)
    ca.set("k", "from-a")
    assert ca.get("k") == "from-a"
    # a's key does not open b's database, and nothing opens the admin or store databases
    for db in (b.db, 0, 1, 3):
        with pytest.raises(redis.RedisError,
                           match="invalid access key|admin database|does not exist|private"):
            ca.execute_command("SELECT", db, "KEY", a.access_key)
    with pytest.raises(redis.RedisError):
        redis.Redis.from_url(secure_herodb.bare(b.db)).get("k")
    listed = {c.name: c.db for c in registry.contexts()}
    assert listed["reg-a"] == a.db and listed["reg-b"] == b.db
    ca.close()


def test_contexts_created_at_the_same_time_never_share_a_database(registry,
                                                                   secure_settings) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from herocelery.contexts import Registry
    from herocelery.store import Store

    def make(i: int) -> int:
        store = Store.from_url(secure_settings.store_url())  # one client each, like processes
        try:
            return Registry(store.r, secure_settings).create_context(f"race-{i}").db
        finally:
            store.close()
    with ThreadPoolExecutor(5) as pool:
        dbs = list(pool.map(make, range(5)))
    assert len(set(dbs)) == 5
    for i in range(5):
        registry.delete_context(f"race-{i}")


def test_the_default_context_is_created_on_first_use(registry) -> None:
    d = registry.context("default")
    assert d.db == registry.settings.context_db and d.access_key
    assert registry.context("default") == d


@pytest.mark.parametrize("name", ["", "-x", "a b", "local", "*", "x" * 201, "a/b"])
def test_bad_context_names_are_refused(registry, name: str) -> None:
    with pytest.raises(ContextError, match="not valid"):
        registry.create_context(name)


def test_a_context_cannot_be_created_twice_and_unknown_ones_are_not_found(registry) -> None:
    registry.create_context("reg-twice")
    with pytest.raises(ContextError, match="already exists"):
        registry.create_context("reg-twice")
    with pytest.raises(NotFound, match="no context named 'reg-nope'"):
        registry.context("reg-nope")


def test_bad_signer_keys_are_refused(registry) -> None:
    with pytest.raises(ContextError, match="public key"):
        registry.create_context("reg-signer", signers=["abc"])
    with pytest.raises(NotFound):
        registry.context("reg-signer")  # nothing half-made is left behind


def test_grant_and_revoke_roles(registry) -> None:
    registry.create_context("reg-acl")
    registry.grant("reg-acl", "bob", Role.executor)
    ctx = registry.grant("reg-acl", "bob", Role.reader)
    assert ctx.roles_of("bob") == [Role.reader, Role.executor]
    assert registry.context("reg-acl").roles_of("bob") == [Role.reader, Role.executor]
    registry.revoke("reg-acl", "bob", Role.executor)
    assert registry.context("reg-acl").roles_of("bob") == [Role.reader]
    registry.revoke("reg-acl", "bob")
    assert registry.context("reg-acl").roles_of("bob") == []
    with pytest.raises(NotFound):
        registry.grant("reg-missing", "bob", Role.reader)


def test_deleting_a_context_drops_its_data_and_its_key(registry) -> None:
    ctx = registry.create_context("reg-del")
    url = scoped_url(registry.settings.broker_url, ctx)
    c = redis.Redis.from_url(url)
    c.set("k", "v")
    c.close()
    registry.delete_context("reg-del")
    with pytest.raises(NotFound):
        registry.context("reg-del")
    with pytest.raises(redis.RedisError):
        redis.Redis.from_url(url).get("k")


def test_api_keys_are_stored_as_hashes_only(registry, secure_herodb) -> None:
    key = registry.create_key("reg-user", Scope.user)
    assert key.startswith("hc_") and len(key) > 40
    assert registry.authenticate(key).name == "reg-user"
    admin = secure_herodb.admin(3)
    dump = json.dumps([admin.hgetall(k) if admin.type(k) == "hash" else admin.get(k)
                       for k in admin.keys("hero:*") if admin.type(k) in ("hash", "string")])
    assert key not in dump and key[3:] not in dump
    with pytest.raises(ContextError, match="already exists"):
        registry.create_key("reg-user", Scope.admin)
    registry.revoke_key("reg-user")
    with pytest.raises(PermissionDenied, match="not valid"):
        registry.authenticate(key)
    with pytest.raises(PermissionDenied, match="no valid API key"):
        registry.caller("reg-user")
    with pytest.raises(PermissionDenied, match="not valid"):
        registry.authenticate("hc_made-up")


def test_without_any_key_the_caller_is_the_local_admin_until_the_first_key(secure_settings,
                                                                           tmp_path) -> None:
    """A fresh installation (its own store database) is single-user until a key exists."""
    from herocelery.contexts import LOCAL, Registry
    from herocelery.contexts.registry import embedded_admin_key
    from herocelery.store import Store
    fresh = secure_settings.with_(store_db=9, context_db=10)
    store = Store.from_url(fresh.store_url())
    try:
        reg = Registry(store.r, fresh)
        assert reg.authenticate(None) == LOCAL
        key = embedded_admin_key(reg, tmp_path / "admin.key")
        assert key and (tmp_path / "admin.key").stat().st_mode & 0o777 == 0o600
        assert reg.authenticate(key).scope is Scope.admin
        assert embedded_admin_key(reg, tmp_path / "admin.key") == key  # read back, not remade
        with pytest.raises(PermissionDenied, match="HEROCELERY_API_KEY"):
            reg.authenticate(None)
        assert embedded_admin_key(reg, tmp_path / "other.key") is None
    finally:
        store.r.flushdb()
        store.close()


# ---- the CLI, as a user runs it ----------------------------------------------------------------
def subprocess_cli(settings, *args: str, key: str | None = None
                   ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env["HEROCELERY_BROKER_URL"] = settings.broker_url
    if key:
        env["HEROCELERY_API_KEY"] = key
    return subprocess.run([sys.executable, "-m", "herocelery", *args], env=env, text=True,
                          capture_output=True, timeout=60)


def test_a_refusal_is_one_red_line_from_the_real_command(secure_settings, registry) -> None:
    registry.create_key(f"line-{os.getpid()}", Scope.admin)  # the installation has keys
    out = subprocess_cli(secure_settings, "key", "list")
    assert out.returncode == 1 and "HEROCELERY_API_KEY" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_cli_keys_contexts_and_refusals(secure_settings, registry, run_cli) -> None:
    cli = run_cli
    admin_key = registry.create_key("cli-admin", Scope.admin)
    out = cli(secure_settings, "key", "create", "cli-user", "--scope", "user", key=admin_key)
    assert out.returncode == 0, out.stderr
    user_key = out.stdout.strip()
    assert user_key.startswith("hc_")
    # without a key, or with a user key, key management is refused in one red line
    no_key = cli(secure_settings, "key", "list")
    assert no_key.returncode == 1 and "HEROCELERY_API_KEY" in no_key.stderr
    denied = cli(secure_settings, "context", "create", "cli-ctx", key=user_key)
    assert denied.returncode == 1 and "admin key" in denied.stderr
    made = cli(secure_settings, "context", "create", "cli-ctx", "--executor", "cli-user",
               "--json", key=admin_key)
    assert made.returncode == 0, made.stderr
    assert json.loads(made.stdout)["executors"] == ["cli-user"]
    mine = cli(secure_settings, "context", "list", "--json", key=user_key)
    visible = json.loads(mine.stdout)
    assert "cli-ctx" in [c["name"] for c in visible]
    for c in visible:  # only contexts where this caller (or everyone, "*") has a role
        assert {"cli-user", "*"} & set(c["admins"] + c["readers"] + c["executors"]), c
    shown = cli(secure_settings, "context", "show", "cli-ctx", key=user_key)
    assert shown.returncode == 0 and "access_key" not in shown.stdout
    grant = cli(secure_settings, "context", "grant", "cli-ctx", "x", "reader", key=user_key)
    assert grant.returncode == 1 and "not an admin there" in grant.stderr
    ok = cli(secure_settings, "context", "grant", "cli-ctx", "x", "reader", key=admin_key)
    assert ok.returncode == 0, ok.stderr
    assert registry.context("cli-ctx").roles_of("x") == [Role.reader]
    revoked = cli(secure_settings, "context", "revoke", "cli-ctx", "x", key=admin_key)
    assert revoked.returncode == 0 and registry.context("cli-ctx").roles_of("x") == []
    listed = cli(secure_settings, "key", "list", "--json", key=admin_key)
    names = {r["name"]: r["scope"] for r in json.loads(listed.stdout)}
    assert names["cli-user"] == "user" and names["cli-admin"] == "admin"
    assert user_key not in listed.stdout
    assert cli(secure_settings, "key", "revoke", "cli-user", key=admin_key).returncode == 0
    gone = cli(secure_settings, "context", "list", key=user_key)
    assert gone.returncode == 1 and "not valid" in gone.stderr
    assert cli(secure_settings, "context", "delete", "cli-ctx", "--yes",
               key=admin_key).returncode == 0
    assert cli(secure_settings, "context", "show", "cli-ctx", key=admin_key).returncode == 1


def test_the_first_key_of_an_installation_must_be_admin(secure_settings, secure_herodb,
                                                        run_cli) -> None:
    """A fresh installation (an empty store database) bootstraps with one admin key."""
    fresh = {"HEROCELERY_STORE_DB": "11", "HEROCELERY_CONTEXT_DB": "12"}
    try:
        user_first = run_cli(secure_settings, "key", "create", "first", "--scope", "user",
                             env=fresh)
        assert user_first.returncode == 1 and "must have scope admin" in user_first.stderr
        boot = run_cli(secure_settings, "key", "create", "root", "--scope", "admin", env=fresh)
        assert boot.returncode == 0 and boot.stdout.strip().startswith("hc_")
        again = run_cli(secure_settings, "key", "create", "second", env=fresh)
        assert again.returncode == 1 and "HEROCELERY_API_KEY" in again.stderr
        ok = run_cli(secure_settings, "key", "create", "second", env=fresh,
                     key=boot.stdout.strip())
        assert ok.returncode == 0, ok.stderr
    finally:
        secure_herodb.admin(11).flushdb()


def test_cli_gen_signing_writes_a_private_key_and_prints_the_public_one(tmp_path, run_cli,
                                                                        secure_settings
                                                                        ) -> None:
    path = tmp_path / "sign.pem"
    out = run_cli(secure_settings, "key", "gen-signing", str(path))
    assert out.returncode == 0, out.stderr
    from herocelery.contexts import SigningKey
    assert SigningKey.load(path).public_hex == out.stdout.strip()
    again = run_cli(secure_settings, "key", "gen-signing", str(path))
    assert again.returncode != 0 and "exists" in again.stderr
