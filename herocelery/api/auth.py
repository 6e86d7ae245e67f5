"""Who is calling: the API key check.

Rules: a request presents a key as `Authorization: Bearer <key>` (or `?key=` for EventSource,
which cannot send headers). With the `api_key` setting, a request must present a key: that
key, or a key known to the contexts registry (`herocelery.contexts`, named keys with scopes).
Without it, the registry decides: no key is the local admin while the installation has no API
keys at all. Without a configured key the server binds only to loopback
(`require_safe_bind`). Which requests may come without a key at all is `local.py`'s decision;
leaf's session acts as `local_caller()`: the `api_key`'s caller, else the installation's local
admin key (`<data_dir>/admin.key`), else the single-user local admin.
"""
from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConfigError, HeroCeleryError, PermissionDenied

if TYPE_CHECKING:
    import redis

    from ..contexts import Caller, Registry
    from ..settings import Settings

MISSING_KEY = "missing API key: send Authorization: Bearer <key>"
WRONG_KEY = "API key refused"
NEEDS_BEARER = ("this installation has API keys: send Authorization: Bearer <key> (on the "
                "API's machine, its admin key is admin.key in the data directory)")
NO_LOCAL_KEY = ("this installation has API keys but no valid local admin key in its data "
                "directory (admin.key): open leaf as /leaf/?key=<key>")
OPEN_BIND = ("refusing to bind the API to {host}: beyond loopback an API key is required "
             "(set api_key / HEROCELERY_API_KEY)")


class Unauthorized(HeroCeleryError):
    """The request carries no API key, or one that is refused."""


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost. Pure."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_safe_bind(host: str, api_key: str | None) -> None:
    if api_key is None and not is_loopback(host):
        raise ConfigError(OPEN_BIND.format(host=host))


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header. Pure."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def check_key(api_key: str | None, presented: str | None) -> str:
    """The caller's name for a presented key; Unauthorized when it is missing or wrong."""
    if api_key is None:
        return "local"
    if presented is None:
        raise Unauthorized(MISSING_KEY)
    if not hmac.compare_digest(presented.encode(), api_key.encode()):
        raise Unauthorized(WRONG_KEY)
    return "api"


class Authenticator:
    """Turns a presented key into a caller: a `contexts.Caller` when the contexts room is
    installed, else the name `local` / `api`."""

    def __init__(self, api_key: str | None, client: redis.Redis, settings: Settings,
                 local_key: Callable[[], str | None] = lambda: None) -> None:
        self.api_key = api_key
        self.local_key = local_key
        self.registry: Registry | None = None
        try:
            from ..contexts import Registry
            self.registry = Registry(client, settings)
        except ImportError:  # the contexts room is not part of this installation
            pass

    def caller(self, presented: str | None) -> Caller | str:
        if self.api_key is not None:
            if presented is None:
                raise Unauthorized(MISSING_KEY)
            if hmac.compare_digest(presented.encode(), self.api_key.encode()):
                return self._registered(presented) or self._local()
        if self.registry is None:
            return check_key(self.api_key, presented)
        try:
            return self.registry.authenticate(presented)
        except PermissionDenied as exc:
            # over HTTP, say what to send (the registry's words name the CLI's options)
            raise Unauthorized(NEEDS_BEARER if presented is None else str(exc)) from None

    def local_caller(self) -> Caller | str:
        """The caller of leaf's session (the local user's browser): the configured key's, else
        the installation's local admin key's, else the single-user local admin."""
        if self.api_key is not None:
            return self.caller(self.api_key)
        key = self.local_key()
        if key:
            try:
                return self.caller(key)
            except Unauthorized:
                pass                      # a stale admin.key: the rule below decides
        try:
            return self.caller(None)
        except Unauthorized:
            raise Unauthorized(NO_LOCAL_KEY) from None

    def _registered(self, key: str) -> Caller | None:
        if self.registry is None:
            return None
        try:
            return self.registry.authenticate(key)
        except PermissionDenied:
            return None

    def _local(self) -> Caller | str:
        if self.registry is None:
            return "api"
        from ..contexts import LOCAL
        return LOCAL
