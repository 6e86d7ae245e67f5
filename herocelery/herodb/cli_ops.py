"""Operator commands under `herocelery herodb`: databases and keys through the admin JSON-RPC
socket (`--dir`), full-text indexes, vector sets and named age keys through RESP (`--url`).

    herocelery herodb db list|create|info|delete|public|private ...   --dir DIR
    herocelery herodb key add|list|delete ...                         --dir DIR
    herocelery herodb pubkey add|list|delete ...                      --dir DIR
    herocelery herodb rpc METHOD [PARAMS-JSON]                        --dir DIR
    herocelery herodb index create|list|info|drop ...                 --url URL
    herocelery herodb vec create|list|info|drop ...                   --url URL
    herocelery herodb agekey create|list ...                          --url URL

Every failure is one line (click's `Error: ...`) and exit code 1.
"""
from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .adminrpc import SOCKET_NAME

DIR = click.option("--dir", "data_dir", envvar="HERODB_DIR", required=True,
                   type=click.Path(file_okay=False, path_type=Path),
                   help="The HeroDB data directory (its admin socket is DIR/herodb-admin.sock).")
URL = click.option("--url", envvar="HERODB_URL", default="redis://127.0.0.1:6379/0",
                   show_default=True, help="The HeroDB to talk to (redis://[user:pass@]host:port/db).")


def rpc_call(data_dir: Path, method: str, params: Any = None) -> Any:
    """One JSON-RPC call on the data directory's admin socket; ClickException on any error."""
    path = Path(data_dir).expanduser() / SOCKET_NAME
    request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params or {}}
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(30)
            sock.connect(str(path))
            sock.sendall(json.dumps(request).encode() + b"\n")
            with sock.makefile("rb") as f:
                line = f.readline()
    except OSError as exc:
        raise click.ClickException(f"cannot reach the admin socket {path} ({exc.strerror or exc})"
                                   ": is HeroDB running with this --dir?") from None
    try:
        reply = json.loads(line)
    except ValueError:
        raise click.ClickException(f"the admin socket {path} answered no JSON") from None
    if "error" in reply:
        raise click.ClickException(reply["error"].get("message", str(reply["error"])))
    return reply.get("result")


def _show(value: Any) -> None:
    plain = isinstance(value, (str, int)) and not isinstance(value, bool)
    click.echo(value if plain else json.dumps(value, indent=2))


def _resp(url: str, *argv: Any) -> Any:
    import redis
    try:
        client = redis.Redis.from_url(url, protocol=2)
        try:
            return client.execute_command(*argv)
        finally:
            client.close()
    except redis.ResponseError as exc:
        raise click.ClickException(str(exc)) from None
    except (redis.ConnectionError, redis.TimeoutError, ValueError) as exc:
        raise click.ClickException(f"cannot talk to HeroDB at {url}: {exc}") from None


def _text(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, list):
        return [_text(x) for x in v]
    return v


# ---- databases and keys (admin socket) -----------------------------------------------------------
@click.group(name="db")
def db_group() -> None:
    """Databases: create, list, inspect, delete, open or close (admin socket)."""


@db_group.command("list")
@DIR
def db_list(data_dir: Path) -> None:
    """Every registered database."""
    _show(rpc_call(data_dir, "hero_listDatabases"))


@db_group.command("create")
@DIR
@click.argument("number", required=False, type=int)
@click.option("--public", is_flag=True, help="Open to anyone (default: private, keys only).")
def db_create(data_dir: Path, number: int | None, public: bool) -> None:
    """Register a database (default: the lowest free number); prints its number."""
    _show(rpc_call(data_dir, "hero_createDatabase", {"db": number, "public": public}))


def _db_command(name: str, method: str, doc: str, extra: dict[str, Any] | None = None
                ) -> Callable[..., None]:
    @db_group.command(name, help=doc)
    @DIR
    @click.argument("number", type=int)
    def cmd(data_dir: Path, number: int) -> None:
        _show(rpc_call(data_dir, method, {"db": number, **(extra or {})}))
    return cmd


_db_command("info", "hero_getDatabaseInfo", "A database's visibility, keys, indexes, vector sets.")
_db_command("delete", "hero_deleteDatabase", "Forget a database, its keys and all its data.")
_db_command("public", "hero_setDatabasePublic", "Open a database to anyone.", {"public": True})
_db_command("private", "hero_setDatabasePublic", "Close a database to key holders only.",
            {"public": False})


@click.group(name="key")
def key_group() -> None:
    """Access keys of a database (admin socket)."""


@key_group.command("add")
@DIR
@click.argument("number", type=int)
@click.argument("permission", type=click.Choice(["read", "readwrite"]))
def key_add(data_dir: Path, number: int, permission: str) -> None:
    """A new access key (printed once: store it)."""
    _show(rpc_call(data_dir, "hero_addAccessKey", {"db": number, "permission": permission}))


@key_group.command("list")
@DIR
@click.argument("number", type=int)
def key_list(data_dir: Path, number: int) -> None:
    """Key ids (hash prefixes) and permissions; never the keys."""
    _show(rpc_call(data_dir, "hero_listAccessKeys", {"db": number}))


@key_group.command("delete")
@DIR
@click.argument("number", type=int)
@click.argument("key")
def key_delete(data_dir: Path, number: int, key: str) -> None:
    """Revoke a key (the key or its id)."""
    _show(rpc_call(data_dir, "hero_deleteAccessKey", {"db": number, "key": key}))


@click.group(name="pubkey")
def pubkey_group() -> None:
    """ed25519 public keys allowed to log in (admin socket)."""


@pubkey_group.command("add")
@DIR
@click.argument("number", type=int)
@click.argument("public_key")
@click.argument("permission", type=click.Choice(["read", "readwrite", "admin"]))
def pubkey_add(data_dir: Path, number: int, public_key: str, permission: str) -> None:
    """Let a key pair log in (CHALLENGE + AUTH) with a permission on a database."""
    _show(rpc_call(data_dir, "hero_addPublicKey", {"db": number, "public_key": public_key,
                                                   "permission": permission}))


@pubkey_group.command("list")
@DIR
@click.argument("number", type=int)
def pubkey_list(data_dir: Path, number: int) -> None:
    _show(rpc_call(data_dir, "hero_listPublicKeys", {"db": number}))


@pubkey_group.command("delete")
@DIR
@click.argument("number", type=int)
@click.argument("public_key")
def pubkey_delete(data_dir: Path, number: int, public_key: str) -> None:
    _show(rpc_call(data_dir, "hero_deletePublicKey", {"db": number, "public_key": public_key}))


@click.command(name="rpc")
@DIR
@click.argument("method")
@click.argument("params", required=False)
def rpc(data_dir: Path, method: str, params: str | None) -> None:
    """Call any admin JSON-RPC method (PARAMS: a JSON object or array)."""
    try:
        parsed = json.loads(params) if params else {}
    except ValueError as exc:
        raise click.ClickException(f"PARAMS is not JSON: {exc}") from None
    _show(rpc_call(data_dir, method, parsed))


# ---- indexes, vector sets, named keys (RESP) ----------------------------------------------------
@click.group(name="index")
def index_group() -> None:
    """Full-text indexes of a database (FT.*)."""


@index_group.command("create")
@URL
@click.argument("name")
@click.argument("schema", nargs=-1, required=True)
def index_create(url: str, name: str, schema: tuple[str, ...]) -> None:
    """Create an index: SCHEMA is `field TEXT|TAG|NUMERIC [SORTABLE] ...`."""
    click.echo(_text(_resp(url, "FT.CREATE", name, "SCHEMA", *schema)))


@index_group.command("list")
@URL
def index_list(url: str) -> None:
    for name in _resp(url, "FT._LIST"):
        click.echo(_text(name))


@index_group.command("info")
@URL
@click.argument("name")
def index_info(url: str, name: str) -> None:
    flat = _text(_resp(url, "FT.INFO", name))
    _show(dict(zip(flat[::2], flat[1::2], strict=False)))


@index_group.command("drop")
@URL
@click.argument("name")
def index_drop(url: str, name: str) -> None:
    click.echo(_text(_resp(url, "FT.DROP", name)))


@click.group(name="vec")
def vec_group() -> None:
    """Vector sets of a database (VEC.*)."""


@vec_group.command("create")
@URL
@click.argument("name")
@click.option("--dim", required=True, type=click.IntRange(1), help="Vector dimension.")
@click.option("--metric", default="cosine", show_default=True,
              type=click.Choice(["cosine", "l2", "ip"]))
def vec_create(url: str, name: str, dim: int, metric: str) -> None:
    click.echo(_text(_resp(url, "VEC.CREATE", name, "DIM", dim, "METRIC", metric)))


@vec_group.command("list")
@URL
def vec_list(url: str) -> None:
    for name in _resp(url, "VEC.LIST"):
        click.echo(_text(name))


@vec_group.command("info")
@URL
@click.argument("name")
def vec_info(url: str, name: str) -> None:
    flat = _text(_resp(url, "VEC.INFO", name))
    _show(dict(zip(flat[::2], flat[1::2], strict=False)))


@vec_group.command("drop")
@URL
@click.argument("name")
def vec_drop(url: str, name: str) -> None:
    click.echo(_text(_resp(url, "VEC.DROP", name)))


@click.group(name="agekey")
def agekey_group() -> None:
    """Named age/ed25519 keys the server keeps for a database (AGE KEYGEN, AGE LIST)."""


@agekey_group.command("create")
@URL
@click.argument("name")
def agekey_create(url: str, name: str) -> None:
    """Make a named key; prints its public parts (recipient, verify key)."""
    recipient, verify = _text(_resp(url, "AGE", "KEYGEN", name))
    _show({"name": name, "recipient": recipient, "verify_key": verify})


@agekey_group.command("list")
@URL
def agekey_list(url: str) -> None:
    _show([{"name": n, "recipient": r, "verify_key": v}
           for n, r, v in _text(_resp(url, "AGE", "LIST"))])


def register(group: click.Group) -> None:
    """Attach these commands to `herocelery herodb`."""
    for cmd in (db_group, key_group, pubkey_group, rpc, index_group, vec_group, agekey_group):
        group.add_command(cmd)
