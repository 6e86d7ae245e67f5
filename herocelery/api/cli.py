"""`herocelery api serve`: the API server in the foreground."""
from __future__ import annotations

import click

from ..cli import settings_from


@click.group("api")
def group() -> None:
    """The HTTP JSON-RPC API, events, metrics and leaf."""


@group.command("serve")
@click.option("--host", default=None, help="Address to bind (default: api_host, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: api_port; 0 = free).")
@click.option("--api-key", default=None, envvar="HEROCELERY_API_KEY",
              help="Require this Bearer key (required beyond loopback).")
@click.pass_context
def serve_cmd(ctx: click.Context, host: str | None, port: int | None,
              api_key: str | None) -> None:
    """Serve /rpc, /events, /metrics and /leaf/ until interrupted."""
    from .server import serve
    settings = settings_from(ctx, api_key=api_key)
    serve(settings, host=host, port=port)
