"""The admin JSON-RPC: the Hero DB `hero_*` methods, for operators and tools.

JSON-RPC 2.0, one request (or batch) per line, one response per line, on
- the data directory's Unix socket `<dir>/herodb-admin.sock`, created mode 0600: whoever can
  open it is the directory's owner, so it is admin without a secret;
- optionally TCP (`--admin-rpc-port`), which needs the admin secret: the first call of a
  connection is `hero_auth {"secret": ...}`.

One implementation: every method runs the `HERODB` admin subcommand of the same operation
through the engine, on an admin connection, and replies after the log has the change (fsynced
with `appendfsync always`), exactly as the RESP command would. `rpc.discover` returns the
OpenRPC document (`openrpc.json`, which lists every method here; a test keeps them equal).
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

from .errors import ConfigError
from .protocol import ReplyError

log = logging.getLogger("herodb")

SOCKET_NAME = "herodb-admin.sock"
MAX_LINE = 1 << 20
UNIX_PATH_MAX = 107
PARSE_ERROR, INVALID_REQUEST, NO_METHOD, INVALID_PARAMS, SERVER_ERROR = (
    -32700, -32600, -32601, -32602, -32000)
NEEDS_AUTH = -32001


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def openrpc_document() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("openrpc.json").read_text()
    return json.loads(text)


# ---- methods: params -> HERODB subcommand -> JSON result -----------------------------------------
def _int(params: dict[str, Any], name: str) -> int:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RpcError(INVALID_PARAMS, f"param {name!r} must be an integer")
    return value


def _str(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str) or not value:
        raise RpcError(INVALID_PARAMS, f"param {name!r} must be a non-empty string")
    return value


def _bool(params: dict[str, Any], name: str, default: bool | None = None) -> bool:
    value = params.get(name, default)
    if not isinstance(value, bool):
        raise RpcError(INVALID_PARAMS, f"param {name!r} must be true or false")
    return value


def _text(v: Any) -> Any:
    return v.decode() if isinstance(v, bytes) else v


def create_database(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    args: list[Any] = [] if p.get("db") is None else [_int(p, "db")]
    args.append("PUBLIC" if _bool(p, "public", False) else "PRIVATE")
    return run("DBCREATE", *args)


def list_databases(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    return [{"db": n, "public": vis == b"public", "access_keys": keys}
            for n, vis, keys in run("DBLIST")]


def database_info(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    flat = run("DBINFO", _int(p, "db"))
    info = {_text(k): v for k, v in zip(flat[::2], flat[1::2], strict=False)}
    info["public"] = info.pop("visibility") == b"public"
    info["indexes"] = [_text(x) for x in info["indexes"]]
    info["vector_sets"] = [_text(x) for x in info["vector_sets"]]
    return info


def delete_database(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    return run("DBDELETE", _int(p, "db")) == "OK"


def add_access_key(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    key = run("KEYCREATE", _int(p, "db"), _str(p, "permission"))
    from .access import key_hash
    return {"key": key.decode(), "id": key_hash(key).decode()[:16]}


def list_access_keys(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    return [{"id": _text(i), "permission": _text(perm)}
            for i, perm in run("KEYLIST", _int(p, "db"))]


def delete_access_key(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    return run("KEYDELETE", _int(p, "db"), _str(p, "key")) == 1


def set_public(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    sub = "DBPUBLIC" if _bool(p, "public") else "DBPRIVATE"
    return run(sub, _int(p, "db")) == "OK"


def add_public_key(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    return run("PUBKEYADD", _int(p, "db"), _str(p, "public_key"),
               _str(p, "permission")) == "OK"


def list_public_keys(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    return [{"public_key": _text(k), "permission": _text(perm)}
            for k, perm in run("PUBKEYLIST", _int(p, "db"))]


def delete_public_key(run: Callable[..., Any], p: dict[str, Any]) -> Any:
    return run("PUBKEYDELETE", _int(p, "db"), _str(p, "public_key")) == 1


METHODS: dict[str, Callable[[Callable[..., Any], dict[str, Any]], Any]] = {
    "hero_createDatabase": create_database, "hero_listDatabases": list_databases,
    "hero_getDatabaseInfo": database_info, "hero_deleteDatabase": delete_database,
    "hero_addAccessKey": add_access_key, "hero_listAccessKeys": list_access_keys,
    "hero_deleteAccessKey": delete_access_key, "hero_setDatabasePublic": set_public,
    "hero_addPublicKey": add_public_key, "hero_listPublicKeys": list_public_keys,
    "hero_deletePublicKey": delete_public_key,
}
PARAM_ORDER = {  # positional params, in the OpenRPC document's order
    "hero_createDatabase": ("db", "public"), "hero_getDatabaseInfo": ("db",),
    "hero_deleteDatabase": ("db",), "hero_addAccessKey": ("db", "permission"),
    "hero_listAccessKeys": ("db",), "hero_deleteAccessKey": ("db", "key"),
    "hero_setDatabasePublic": ("db", "public"),
    "hero_addPublicKey": ("db", "public_key", "permission"),
    "hero_listPublicKeys": ("db",), "hero_deletePublicKey": ("db", "public_key"),
    "hero_auth": ("secret",),
}


# ---- one connection ------------------------------------------------------------------------------
class Session:
    """One RPC connection: an engine connection that is admin (Unix socket) or becomes admin
    with hero_auth (TCP)."""

    def __init__(self, engine: Any, trusted: bool) -> None:
        self.engine = engine
        self.conn = engine.new_client("admin-rpc", "admin-rpc")
        if trusted:
            self.conn.admin, self.conn.authenticated, self.conn.perm = True, True, "readwrite"

    def run(self, *args: Any) -> Any:
        """`HERODB <args>` on this connection; RpcError with its error text."""
        argv = [b"HERODB"] + [a if isinstance(a, bytes) else str(a).encode() for a in args]
        reply = self.engine.execute(self.conn, argv)
        the_log = self.engine.log
        if the_log is not None:
            the_log.flush()  # acknowledged = in the log (fsynced with appendfsync always)
        if isinstance(reply, ReplyError):
            raise RpcError(SERVER_ERROR, reply.text)
        return reply

    def handle_line(self, line: bytes) -> bytes | None:
        try:
            request = json.loads(line)
        except (ValueError, UnicodeDecodeError) as exc:
            return _dump(_error(None, RpcError(PARSE_ERROR, f"not JSON: {exc}")))
        if isinstance(request, list):
            if not request:
                return _dump(_error(None, RpcError(INVALID_REQUEST, "an empty batch")))
            out = [r for r in (self.handle(item) for item in request) if r is not None]
            return _dump(out) if out else None
        reply = self.handle(request)
        return None if reply is None else _dump(reply)

    def handle(self, request: Any) -> dict[str, Any] | None:
        if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or \
                not isinstance(request.get("method"), str):
            return _error(request.get("id") if isinstance(request, dict) else None,
                          RpcError(INVALID_REQUEST, "expected {\"jsonrpc\": \"2.0\", "
                                   "\"method\": ..., \"params\": ..., \"id\": ...}"))
        rid = request.get("id")
        try:
            result = self.dispatch(request["method"], request.get("params", {}))
        except RpcError as exc:
            return None if "id" not in request else _error(rid, exc)
        return None if "id" not in request else {"jsonrpc": "2.0", "id": rid, "result": result}

    def dispatch(self, method: str, params: Any) -> Any:
        params = _named(method, params)
        if method == "rpc.discover":
            return openrpc_document()
        if method == "hero_auth":
            access = self.engine.access
            if access is None:
                raise RpcError(SERVER_ERROR, "this server has no admin secret")
            error = access.auth(self.conn, None, _str(params, "secret").encode())
            if error or not self.conn.admin:
                raise RpcError(SERVER_ERROR, error or "not the admin secret")
            return True
        fn = METHODS.get(method)
        if fn is None:
            raise RpcError(NO_METHOD, f"unknown method {method!r} (rpc.discover lists them)")
        if not self.conn.admin:
            raise RpcError(NEEDS_AUTH, "call hero_auth with the admin secret first")
        return fn(self.run, params)


def _named(method: str, params: Any) -> dict[str, Any]:
    if params is None:
        return {}
    if isinstance(params, dict):
        return params
    if isinstance(params, list):
        names = PARAM_ORDER.get(method, ())
        if len(params) > len(names):
            raise RpcError(INVALID_PARAMS, f"{method} takes at most {len(names)} params")
        return dict(zip(names, params, strict=False))
    raise RpcError(INVALID_PARAMS, "params must be an object or an array")


def _error(rid: Any, exc: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": {"code": exc.code, "message": exc.message}}


def _dump(value: Any) -> bytes:
    return json.dumps(value, default=_text).encode() + b"\n"


async def _serve(engine: Any, trusted: bool, reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
    session = Session(engine, trusted)
    try:
        while True:
            try:
                line = await reader.readline()
            except (asyncio.LimitOverrunError, ValueError):
                writer.write(_dump(_error(None, RpcError(INVALID_REQUEST,
                                                         f"a request line over {MAX_LINE} bytes"))))
                break
            if not line:
                break
            if line.strip():
                reply = session.handle_line(line)
                if reply is not None:
                    writer.write(reply)
                    await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def start(engine: Any, data_dir: Path | None, host: str, port: int | None
                ) -> tuple[list[asyncio.Server], str | None, int | None]:
    """Listen on `<data_dir>/herodb-admin.sock` (when there is a data directory) and on TCP
    `host:port` (when `port` is given). Returns (servers, socket path, TCP port)."""
    loop = asyncio.get_running_loop()
    servers: list[asyncio.Server] = []
    path: str | None = None
    if data_dir is not None:
        path = str(Path(data_dir).expanduser() / SOCKET_NAME)
        if len(path.encode()) > UNIX_PATH_MAX:
            log.warning("herodb: no admin RPC socket: %s is longer than a Unix socket path may "
                        "be (%d bytes)", path, UNIX_PATH_MAX)
            path = None
        else:
            servers.append(await loop.create_unix_server(
                lambda: _protocol(engine, True), sock=_private_socket(path)))
    tcp_port = None
    if port is not None:
        if engine.access is None:
            raise ConfigError("the admin RPC on TCP needs an admin secret (--admin-secret)")
        try:
            srv = await asyncio.start_server(lambda r, w: _serve(engine, False, r, w), host,
                                             port, limit=MAX_LINE)
        except OSError as exc:
            raise ConfigError(f"cannot listen for the admin RPC on {host}:{port}: "
                              f"{exc.strerror or exc}") from None
        servers.append(srv)
        tcp_port = srv.sockets[0].getsockname()[1]
    return servers, path, tcp_port


def _protocol(engine: Any, trusted: bool) -> asyncio.StreamReaderProtocol:
    reader = asyncio.StreamReader(limit=MAX_LINE)
    return asyncio.StreamReaderProtocol(
        reader, lambda r, w: asyncio.ensure_future(_serve(engine, trusted, r, w)))


def _private_socket(path: str) -> socket.socket:
    """A listening Unix socket at `path` that only this user can connect to (mode 0600 from
    its creation: the umask is narrowed around bind, so there is no window)."""
    if os.path.exists(path):
        os.unlink(path)  # left by a killed server; the directory lock says none runs
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(path)
    finally:
        os.umask(old)
    os.chmod(path, 0o600)
    sock.listen(64)
    sock.setblocking(False)
    return sock
