"""The API's door: every data route asks the gate who is calling (or why not), and leaf's
page is served by it, with leaf's session only for the local user (rules in `local.py`)."""
from __future__ import annotations

import html
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from .auth import Authenticator, Unauthorized, bearer
from .local import (
    NOT_ALLOWED_ORIGIN,
    NOT_JSON,
    SESSION_HEADER,
    SESSION_META,
    Session,
    foreign_origin,
    host_of,
    is_browser,
    is_local_user,
    is_loopback_name,
    json_content_type,
    keyless,
    same_origin_page,
)

# leaf's page may be framed only by itself: a page of another origin must not overlay it
LEAF_PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN",
                     "Content-Security-Policy": "frame-ancestors 'self'",
                     "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"}


class Forbidden(Exception):
    """A request refused before authentication (foreign origin, wrong content type)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message, self.status = message, status


class Gate:
    """Who is calling, for one API server: keys through the Authenticator; without a key,
    leaf's session or a local program (see `local.py`)."""

    def __init__(self, auth: Authenticator, allowed_origins: tuple[str, ...],
                 is_local: Callable[[Any, Any], bool] = is_local_user) -> None:
        self.auth = auth
        self.allowed = allowed_origins
        self.session = Session()
        self._is_local = is_local

    def check_origin(self, request: Request) -> None:
        """Forbidden (403) for a page of an origin that is neither ours nor configured."""
        origin = request.headers.get("origin")
        if foreign_origin(origin, request.url.scheme, request.headers.get("host"),
                          self.allowed):
            raise Forbidden(NOT_ALLOWED_ORIGIN.format(origin=origin), 403)

    def check_rpc_post(self, request: Request) -> None:
        """Forbidden (415) unless the body is declared JSON (a cross-origin page cannot send
        that without a preflight only configured origins pass)."""
        self.check_origin(request)
        content_type = request.headers.get("content-type")
        if not json_content_type(content_type):
            raise Forbidden(NOT_JSON.format(got=content_type or "none"), 415)

    def caller(self, request: Request) -> Any:
        """The caller of a request; Unauthorized names what is missing."""
        presented = bearer(request.headers.get("authorization")) or \
            request.query_params.get("key")
        if presented:
            return self.auth.caller(presented)
        host = host_of(request.headers.get("host"))
        host_ok = is_loopback_name(host)
        session = request.headers.get(SESSION_HEADER)
        verdict = keyless(
            host_ok=host_ok, user_ok=host_ok and self._local(request), uid=os.getuid(),
            session=session, session_ok=self.session.matches(session),
            browser=is_browser(request.headers.get("origin"),
                               request.headers.get("sec-fetch-site")), host=host)
        if verdict.kind == "session":
            return self.auth.local_caller()
        if verdict.kind == "program":
            return self.auth.caller(None)
        raise Unauthorized(verdict.reason)

    def leaf_page(self, request: Request, index: Path) -> HTMLResponse:
        """leaf's index.html; with the session token only for the local user's own
        navigation (never for another origin's script, never across a rebound DNS name)."""
        text = index.read_text()
        host = request.headers.get("host")
        if is_loopback_name(host_of(host)) and same_origin_page(
                request.headers.get("origin"), request.headers.get("sec-fetch-site"),
                request.url.scheme, host) and self._local(request):
            meta = (f'<meta name="{SESSION_META}" '
                    f'content="{html.escape(self.session.token)}">')
            text = text.replace("<head>", "<head>\n  " + meta, 1)
        return HTMLResponse(text, headers=LEAF_PAGE_HEADERS)

    def _local(self, request: Request) -> bool:
        return self._is_local(request.client, request.scope.get("server"))
