"""`herocelery health ...`: is one service ready? Exit 0 and one line when it is, one red line
and exit 1 when not. Made for container healthchecks (compose.yaml's `depends_on` waits on
them), usable by hand.

    herocelery health herodb [URL]          PING answers PONG (no secret needed: HeroDB
                                            answers PING before AUTH; a URL's password
                                            is sent with AUTH first)
    herocelery health http URL              GET answers 2xx (the API's /health, Flower's
                                            /healthcheck)
    herocelery health node NODE --runners   the node's supervisor and each runner type are
                                            registered with a fresh heartbeat (the broker
                                            of the settings)
"""
from __future__ import annotations

import socket
import urllib.error
import urllib.request
from urllib.parse import unquote, urlsplit, urlunsplit

import click

from .cli import settings_from
from .errors import HeroCeleryError

TIMEOUT_S = 5.0


class Unhealthy(HeroCeleryError):
    """The service is not ready (yet)."""

    exit_code = 1


@click.group("health")
def health_group() -> None:
    """Check that one service is ready (for container healthchecks)."""


@health_group.command("herodb")
@click.argument("url", default="redis://127.0.0.1:6379")
def herodb_cmd(url: str) -> None:
    """HeroDB (or Redis) at URL answers PING with PONG."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise Unhealthy(f"{_where(url)}: not a redis://HOST:PORT URL")
    # a bare RESP exchange: a client library would first send commands (CLIENT SETINFO) that
    # a HeroDB with an admin secret refuses before AUTH, while PING is always answered
    request = b""
    if parts.password:
        user = unquote(parts.username or "default")
        request += _resp("AUTH", user, unquote(parts.password))
    request += _resp("PING")
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379),
                                      timeout=TIMEOUT_S) as sock:
            sock.sendall(request)
            reply = b""
            while reply.count(b"\r\n") < (2 if parts.password else 1):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
    except OSError as exc:
        raise Unhealthy(f"{_where(url)}: {exc.strerror or exc}") from None
    last = reply.split(b"\r\n")[-2] if reply.endswith(b"\r\n") else reply
    if last != b"+PONG":
        raise Unhealthy(f"{_where(url)}: PING answered {last[:200].decode(errors='replace')!r}")
    click.echo(f"{_where(url)}: ready")


def _resp(*args: str) -> bytes:
    """One RESP request. Pure."""
    out = [f"*{len(args)}\r\n".encode()]
    for a in args:
        data = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


@health_group.command("http")
@click.argument("url")
def http_cmd(url: str) -> None:
    """GET URL answers with a 2xx status."""
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp:
            status = resp.status
    except urllib.error.HTTPError as exc:
        raise Unhealthy(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Unhealthy(f"{url}: {getattr(exc, 'reason', exc)}") from None
    if not 200 <= status < 300:
        raise Unhealthy(f"{url}: HTTP {status}")
    click.echo(f"{url}: ready")


@health_group.command("node")
@click.argument("node")
@click.option("--runners", required=True, metavar="TYPE,TYPE",
              help="Runner types that must be alive on NODE.")
@click.pass_context
def node_cmd(ctx: click.Context, node: str, runners: str) -> None:
    """NODE's supervisor and runners are registered with fresh heartbeats."""
    from .store import Store
    settings = settings_from(ctx)
    store = Store.from_url(settings.store_url())
    try:
        alive = store.live_workers([node], settings.heartbeat_s).get(node, set())
    except Exception as exc:  # noqa: BLE001 - redis errors: the store is not reachable yet
        raise Unhealthy(f"{node}: the store cannot be read: {exc}") from None
    finally:
        store.close()
    wanted = ["supervisor", *[r.strip() for r in runners.split(",") if r.strip()]]
    missing = [w for w in wanted if w not in alive]
    if missing:
        raise Unhealthy(f"{node}: not alive yet: {', '.join(missing)}")
    click.echo(f"{node}: ready ({', '.join(wanted)})")


def _where(url: str) -> str:
    """A URL without its password (health lines end up in container logs). Pure."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
