"""The API server: JSON-RPC at POST /rpc, server-sent events at /events[/<flow_id>],
Prometheus text at /metrics, leaf (the web front end) under /leaf/.

Loopback by default; binding elsewhere requires an API key. CORS allows only the origins of
the `api_cors_origins` setting (pages there embed leaf with a key); a page of any other origin
is refused by the gate (`gate.py`), and without a key only the local user gets in (`local.py`).
"""
from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import redis
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import (
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..errors import ConfigError
from ..settings import Settings
from .access import has_contexts, may_read
from .auth import Authenticator, Unauthorized, require_safe_bind
from .events import stream
from .gate import Forbidden, Gate
from .methods import METHODS, Backend
from .openrpc import document
from .rpc import INVALID_REQUEST, PARSE_ERROR, UNAUTHORIZED, RpcError, dispatch

LEAF_DIR = Path(__file__).resolve().parent.parent / "leaf"
MAX_BODY_BYTES = 16 * 1024 * 1024
log = logging.getLogger("herocelery.api")


def _version() -> str:
    try:
        from importlib.metadata import version
        return version("herocelery")
    except Exception:  # noqa: BLE001 - not installed as a distribution
        return "0"


def create_app(settings: Settings) -> Starlette:
    """The ASGI app over the store and broker named by `settings`."""
    backend = Backend(settings)
    broker = redis.Redis.from_url(settings.require_broker(), decode_responses=True)
    discover = document(METHODS, version=_version())

    auth = Authenticator(settings.api_key, backend.store.r, settings,
                         local_key=lambda: local_admin_key(settings.data_dir))
    gate = Gate(auth, settings.api_cors_origins)
    caller_of = gate.caller

    async def rpc(request: Request) -> Response:
        try:
            gate.check_rpc_post(request)
        except Forbidden as exc:
            return _rpc_error(INVALID_REQUEST, exc.message, exc.status)
        raw = await request.body()
        if len(raw) > MAX_BODY_BYTES:
            return _rpc_error(INVALID_REQUEST, f"request larger than {MAX_BODY_BYTES} bytes",
                              413)
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            return _rpc_error(PARSE_ERROR, f"parse error: body is not JSON ({exc})")
        try:
            caller = caller_of(request)
        except Unauthorized as exc:
            return JSONResponse(refused(body, RpcError(UNAUTHORIZED, str(exc))),
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        if _is_discover(body):
            return JSONResponse({"jsonrpc": "2.0", "id": body.get("id"), "result": discover})
        reply = await run_in_threadpool(dispatch, METHODS, backend.for_caller(caller), body)
        if reply is None:
            return Response(status_code=204)
        return JSONResponse(reply)

    async def events(request: Request) -> Response:
        try:
            gate.check_origin(request)
            caller = caller_of(request)
        except Forbidden as exc:
            return PlainTextResponse(exc.message, status_code=exc.status)
        except Unauthorized as exc:
            return PlainTextResponse(str(exc), status_code=401)
        flow_id = request.path_params.get("flow_id")
        allow: Callable[[str], Awaitable[bool]] | None = None
        if has_contexts(caller) and getattr(caller.scope, "value", "") != "admin":
            scoped = backend.for_caller(caller)

            def readable(fid: str) -> bool:
                (ctx,) = backend.store.flow_fields(fid, "context_id")
                return ctx is not None and may_read(scoped, str(ctx))

            async def readable_async(fid: str) -> bool:
                return await run_in_threadpool(readable, fid)
            allow = readable_async
            if flow_id is not None and not await allow(flow_id):
                return PlainTextResponse(f"{getattr(caller, 'name', caller)} may not read flow "
                                         f"{flow_id}", status_code=403)
        return StreamingResponse(stream(settings.store_url(), flow_id, allow),
                                 media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache",
                                          "X-Accel-Buffering": "no"})

    async def metrics(request: Request) -> Response:
        try:
            gate.check_origin(request)
            caller_of(request)
        except Forbidden as exc:
            return PlainTextResponse(exc.message, status_code=exc.status)
        except Unauthorized as exc:
            return PlainTextResponse(str(exc), status_code=401)
        from .metrics import render
        try:
            text = await run_in_threadpool(render, backend, broker)
        except redis.RedisError as exc:
            return PlainTextResponse(f"the job store could not be reached: {exc}",
                                     status_code=503)
        return PlainTextResponse(text, media_type="text/plain; version=0.0.4")

    async def openrpc_json(request: Request) -> Response:
        return JSONResponse(discover)

    async def root(request: Request) -> Response:
        return RedirectResponse("/leaf/")

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    async def leaf_page(request: Request) -> Response:
        return gate.leaf_page(request, LEAF_DIR / "index.html")

    async def leaf_root(request: Request) -> Response:
        return RedirectResponse("/leaf/" + (f"?{request.url.query}" if request.url.query
                                            else ""))

    routes = [
        Route("/", root), Route("/health", health),
        Route("/rpc", rpc, methods=["POST"]),
        Route("/openrpc.json", openrpc_json),
        Route("/events", events), Route("/events/{flow_id}", events),
        Route("/metrics", metrics),
        Route("/leaf", leaf_root), Route("/leaf/", leaf_page),
        Route("/leaf/index.html", leaf_page),
        Mount("/leaf", StaticFiles(directory=str(LEAF_DIR)), name="leaf"),
    ]
    middleware = [Middleware(CORSMiddleware, allow_origins=list(settings.api_cors_origins),
                             allow_methods=["GET", "POST", "OPTIONS"],
                             allow_headers=["Authorization", "Content-Type"], max_age=600)]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        backend.close()
        broker.close()
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.backend = backend
    return app


def local_admin_key(data_dir: Path) -> str | None:
    """The installation's local admin key (`<data_dir>/admin.key`), read when needed: `run`
    may create it after the API started."""
    from ..local import admin_key
    return admin_key(data_dir)


def refused(body: Any, exc: RpcError) -> Any:
    """The error reply to a request refused before dispatch, naming the request's id (one
    error per request of a batch, none for notifications). Pure."""
    def one(request: Any) -> dict[str, Any]:
        rid = request.get("id") if isinstance(request, dict) else None
        return {"jsonrpc": "2.0", "id": rid, "error": exc.to_json()}
    if isinstance(body, list):
        replies = [one(q) for q in body if not (isinstance(q, dict) and "id" not in q)]
        return replies or one(None)
    return one(body)


def _is_discover(body: Any) -> bool:
    return isinstance(body, dict) and body.get("method") == "rpc.discover" and \
        body.get("jsonrpc") == "2.0"


def _rpc_error(code: int, message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"jsonrpc": "2.0", "id": None,
                         "error": RpcError(code, message).to_json()}, status_code=status)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: a free one), so the real port is known before serving."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(f"the API cannot listen on {host}:{port}: {exc.strerror} (another "
                          "process uses it? choose another port: --port P, or "
                          "HEROCELERY_API_PORT)") from None
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Serve until SIGINT/SIGTERM. Prints `herocelery api listening on http://HOST:PORT`."""
    import uvicorn
    host = host or settings.api_host
    port = settings.api_port if port is None else port
    require_safe_bind(host, settings.api_key)
    settings.require_broker()
    sock = bind(host, port)
    actual = sock.getsockname()[1]
    app = create_app(settings)
    config = uvicorn.Config(app, log_level=settings.log_level.lower(), access_log=False,
                            lifespan="on", timeout_graceful_shutdown=3)
    server = uvicorn.Server(config)
    print(f"herocelery api listening on http://{host}:{actual}", flush=True)
    sys.stdout.flush()
    server.run(sockets=[sock])
