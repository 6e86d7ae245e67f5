"""JSON-RPC 2.0 machinery: a table of methods with typed params, and one dispatcher.

Guarantees: every reply is a JSON-RPC response object; a bad request, unknown method or bad
params becomes a JSON-RPC error whose message names the method and the field; a
HeroCeleryError becomes an error with its one-line text; anything else is logged as a bug and
answered with a generic internal error (never a Python traceback on the wire).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis
from pydantic import BaseModel, ValidationError

from ..errors import (
    AdmissionError,
    FlowError,
    HeroCeleryError,
    NotFound,
    PermissionDenied,
    StoreError,
)

log = logging.getLogger("herocelery.api")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
SERVER_ERROR = -32000        # the store could not be reached, or another HeroCeleryError
NOT_FOUND = -32001
INVALID_FLOW = -32002
UNAUTHORIZED = -32003
FORBIDDEN = -32004

# error class -> JSON-RPC code (first match wins; most specific first)
ERROR_CODES: tuple[tuple[type[HeroCeleryError], int], ...] = (
    (NotFound, NOT_FOUND), (FlowError, INVALID_FLOW), (PermissionDenied, FORBIDDEN),
    (AdmissionError, FORBIDDEN), (StoreError, SERVER_ERROR), (HeroCeleryError, SERVER_ERROR))


class RpcError(Exception):
    """An error answered to the caller as a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            out["data"] = self.data
        return out


@dataclass(frozen=True)
class Method:
    """One RPC method: its params model, the handler and what it documents."""

    name: str
    params: type[BaseModel]
    handler: Callable[[Any, Any], Any]          # (backend, params) -> JSON-able result
    summary: str
    result: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    scope: str = "read"                          # "read" or "write" (issue 6 maps keys to scopes)


def describe_params(method: str, exc: ValidationError) -> str:
    """`flow.status: param 'flow_id': Field required; ...` Pure."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "params"
        msg = "unknown param" if err["type"] == "extra_forbidden" else (
            "missing" if err["type"] == "missing" else err["msg"])
        parts.append(f"param {loc!r}: {msg}")
    return f"{method}: " + "; ".join(parts)


def parse_params(method: Method, raw: Any) -> BaseModel:
    if raw is None:
        raw = {}
    if isinstance(raw, list):
        names = list(method.params.model_fields)
        if len(raw) > len(names):
            raise RpcError(INVALID_PARAMS, f"{method.name}: takes at most {len(names)} "
                           f"positional params ({', '.join(names)}), got {len(raw)}")
        raw = dict(zip(names, raw, strict=False))
    if not isinstance(raw, dict):
        raise RpcError(INVALID_PARAMS, f"{method.name}: params must be an object or an array")
    try:
        return method.params.model_validate(raw)
    except ValidationError as exc:
        raise RpcError(INVALID_PARAMS, describe_params(method.name, exc)) from None


def call_one(methods: Mapping[str, Method], backend: Any, request: Any,
             allowed: Callable[[Method], bool] = lambda m: True) -> dict[str, Any] | None:
    """Answer one request object; None for a notification (no id)."""
    if not isinstance(request, dict) or request.get("jsonrpc") != "2.0" or \
            not isinstance(request.get("method"), str):
        return _error(request.get("id") if isinstance(request, dict) else None,
                      RpcError(INVALID_REQUEST, "invalid request: expected an object with "
                               "jsonrpc '2.0', a method name and optional params and id"))
    rid = request.get("id")
    is_notification = "id" not in request
    name = request["method"]
    try:
        method = methods.get(name)
        if method is None:
            raise RpcError(METHOD_NOT_FOUND, f"unknown method {name!r}; rpc.discover lists "
                           "the methods")
        if not allowed(method):
            raise RpcError(FORBIDDEN, f"{name}: this API key may not call {method.scope} "
                           "methods")
        params = parse_params(method, request.get("params"))
        result = method.handler(backend, params)
    except RpcError as exc:
        return None if is_notification else _error(rid, exc)
    except HeroCeleryError as exc:
        code = next(c for cls, c in ERROR_CODES if isinstance(exc, cls))
        return None if is_notification else _error(rid, RpcError(code, str(exc),
                                                                 {"type": type(exc).__name__}))
    except redis.RedisError as exc:  # the store or broker is down or refused the command
        return None if is_notification else _error(rid, RpcError(
            SERVER_ERROR, f"{name}: the job store could not be reached ({exc})",
            {"type": "StoreError"}))
    except Exception:  # a bug in herocelery: logged, answered without internals
        log.exception("rpc method %s failed", name)
        return None if is_notification else _error(rid, RpcError(
            INTERNAL_ERROR, f"{name}: internal error (see the API server's log)"))
    return None if is_notification else {"jsonrpc": "2.0", "id": rid, "result": result}


def dispatch(methods: Mapping[str, Method], backend: Any, body: Any,
             allowed: Callable[[Method], bool] = lambda m: True) -> Any:
    """Answer a parsed request body: one request or a batch (list). None: nothing to send."""
    if isinstance(body, list):
        if not body:
            return _error(None, RpcError(INVALID_REQUEST, "invalid request: empty batch"))
        replies = [r for r in (call_one(methods, backend, q, allowed) for q in body) if r]
        return replies or None
    return call_one(methods, backend, body, allowed)


def _error(rid: Any, exc: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": rid, "error": exc.to_json()}
