"""`herocelery context ...` and `herocelery key ...`: contexts, roles and API keys.

Every command finds its installation through `herocelery.local` and authenticates with
`--api-key` / HEROCELERY_API_KEY, else (on this machine) the local admin key of the data
directory; an installation with no API keys at all is single-user (the local admin). Each
asks `may` before acting.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from ..cli import settings_from
from ..errors import PermissionDenied
from .model import Action, Caller, Context, Role, Scope
from .policy import may
from .registry import Registry


@contextmanager
def _registry(ctx: click.Context) -> Iterator[tuple[Registry, Caller]]:
    from ..local import connect
    from ..store import Store
    with connect(settings_from(ctx)) as found:
        settings = found.settings
        store = Store.from_url(settings.store_url())
        try:
            registry = Registry(store.r, settings)
            yield registry, registry.authenticate(settings.api_key)
        finally:
            store.close()


def _require(caller: Caller, action: Action, context: Context | None = None) -> None:
    decision = may(caller, action, context)
    if not decision:
        raise PermissionDenied(decision.reason)


def _describe(c: Context) -> dict[str, Any]:
    return {"name": c.name, "db": c.db, "protected": bool(c.access_key),
            "admins": sorted(c.admins), "readers": sorted(c.readers),
            "executors": sorted(c.executors), "require_signatures": c.require_signatures,
            "signers": sorted(c.signers)}


# ---- context ---------------------------------------------------------------------------------
@click.group("context")
def context_group() -> None:
    """Contexts: a database, an access key and an ACL each."""


@context_group.command("create")
@click.argument("name")
@click.option("--admin", "admins", multiple=True, help="Caller given the admin role.")
@click.option("--reader", "readers", multiple=True, help="Caller given the reader role.")
@click.option("--executor", "executors", multiple=True, help="Caller given the executor role.")
@click.option("--require-signatures", is_flag=True, help="Refuse jobs without a valid signature.")
@click.option("--signer", "signers", multiple=True, metavar="PUBKEY",
              help="Accept signatures only from this public key (hex); repeatable.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def context_create(ctx: click.Context, name: str, admins: tuple[str, ...],
                   readers: tuple[str, ...], executors: tuple[str, ...],
                   require_signatures: bool, signers: tuple[str, ...], as_json: bool) -> None:
    """Create context NAME with its own database and access key."""
    with _registry(ctx) as (registry, caller):
        _require(caller, Action.create_context)
        c = registry.create_context(name, admins=admins, readers=readers, executors=executors,
                                    require_signatures=require_signatures, signers=signers)
    click.echo(json.dumps(_describe(c)) if as_json else f"context {c.name}: database {c.db}")


@context_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def context_list(ctx: click.Context, as_json: bool) -> None:
    """The contexts you may read."""
    with _registry(ctx) as (registry, caller):
        rows = [_describe(c) for c in registry.contexts() if may(caller, Action.read, c)]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for r in rows:
        click.echo(f"{r['name']}\tdb {r['db']}\tadmins {','.join(r['admins']) or '-'}\t"
                   f"executors {','.join(r['executors']) or '-'}\treaders "
                   f"{','.join(r['readers']) or '-'}")


@context_group.command("show")
@click.argument("name")
@click.pass_context
def context_show(ctx: click.Context, name: str) -> None:
    """A context's database, ACL and signing policy (as JSON)."""
    with _registry(ctx) as (registry, caller):
        c = registry.context(name)
        _require(caller, Action.read, c)
    click.echo(json.dumps(_describe(c), indent=2))


@context_group.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def context_delete(ctx: click.Context, name: str, yes: bool) -> None:
    """Delete context NAME and ALL its data, its flows' and jobs' records included."""
    with _registry(ctx) as (registry, caller):
        c = registry.context(name)
        _require(caller, Action.delete_context, c)
        if not yes:
            click.confirm(f"delete context {name!r} and all data in database {c.db} (its "
                          "flows and jobs included)?",
                          abort=True)
        registry.delete_context(name)
    click.echo(f"deleted context {name}")


@context_group.command("grant")
@click.argument("name")
@click.argument("caller_name", metavar="CALLER")
@click.argument("role", type=click.Choice([r.value for r in Role]))
@click.pass_context
def context_grant(ctx: click.Context, name: str, caller_name: str, role: str) -> None:
    """Give CALLER (an API key name, or '*') ROLE in context NAME."""
    with _registry(ctx) as (registry, caller):
        _require(caller, Action.manage, registry.context(name))
        registry.grant(name, caller_name, Role(role))
    click.echo(f"{caller_name} is {role} in {name}")


@context_group.command("revoke")
@click.argument("name")
@click.argument("caller_name", metavar="CALLER")
@click.argument("role", type=click.Choice([r.value for r in Role]), required=False)
@click.pass_context
def context_revoke(ctx: click.Context, name: str, caller_name: str, role: str | None) -> None:
    """Take ROLE (default: every role) in context NAME away from CALLER."""
    with _registry(ctx) as (registry, caller):
        _require(caller, Action.manage, registry.context(name))
        registry.revoke(name, caller_name, Role(role) if role else None)
    click.echo(f"{caller_name}: {role or 'all roles'} revoked in {name}")


# ---- key -------------------------------------------------------------------------------------
@click.group("key")
def key_group() -> None:
    """API keys (callers) and signing keys."""


@key_group.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice([s.value for s in Scope]), default="user",
              show_default=True)
@click.pass_context
def key_create(ctx: click.Context, name: str, scope: str) -> None:
    """Create an API key for caller NAME and print it once (only its hash is stored).

    On a fresh installation (no keys yet) the first key must be an admin key: it is the
    bootstrap key."""
    with _registry(ctx) as (registry, caller):
        if not registry.has_keys() and scope != Scope.admin.value:
            raise PermissionDenied("the first API key of an installation must have scope "
                                   "admin (it manages every other key)")
        _require(caller, Action.manage_keys)
        key = registry.create_key(name, Scope(scope))
    click.echo(key)


@key_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def key_list(ctx: click.Context, as_json: bool) -> None:
    """Every API key: name, scope, key id (a hash prefix), created."""
    with _registry(ctx) as (registry, caller):
        _require(caller, Action.manage_keys)
        rows = registry.callers()
    if as_json:
        click.echo(json.dumps(rows))
        return
    from rich.console import Console
    from rich.table import Table
    table = Table(title="API keys")
    for col in ("name", "scope", "key id", "created"):
        table.add_column(col, no_wrap=col != "name")
    for r in rows:
        table.add_row(r["name"], r["scope"], r["key_id"], _when(r.get("created_at", "")))
    Console(highlight=False, soft_wrap=False).print(table)


def _when(stamp: str) -> str:
    """A stored creation time (seconds since the epoch, as text) in local time. Pure."""
    import time
    try:
        return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(stamp)))
    except (TypeError, ValueError, OverflowError):
        return "-"


@key_group.command("revoke")
@click.argument("name")
@click.pass_context
def key_revoke(ctx: click.Context, name: str) -> None:
    """Revoke caller NAME's API key; its queued jobs are refused at admission."""
    with _registry(ctx) as (registry, caller):
        _require(caller, Action.manage_keys)
        registry.revoke_key(name)
    click.echo(f"revoked {name}")


@key_group.command("gen-signing")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite PATH if it exists.")
def key_gen_signing(path: Path, force: bool) -> None:
    """Write a new ed25519 signing key to PATH (mode 600); print its public key."""
    from .signing import SigningKey
    if path.exists() and not force:
        raise click.ClickException(f"{path} exists (use --force to overwrite)")
    key = SigningKey.generate()
    key.save(path)
    click.echo(key.public_hex)
