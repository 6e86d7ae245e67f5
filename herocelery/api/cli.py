"""`herocelery api serve`: the API server in the foreground; `herocelery api init-keys`: the
key files of a deployment whose services start on their own (compose.yaml)."""
from __future__ import annotations

from pathlib import Path

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


@group.command("init-keys")
@click.option("--dir", "directory", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Where the key files go (a volume the services share).")
@click.pass_context
def init_keys_cmd(ctx: click.Context, directory: Path) -> None:
    """Make, once, the API's admin key and the nodes' registrar key, each as a settings
    file in DIR (admin.yaml, registrar.yaml; mode 0600) that a service loads with
    HEROCELERY_CONFIG. Running it again keeps valid files."""
    from .bootstrap import init_keys
    for file, what in init_keys(settings_from(ctx), directory).items():
        click.echo(f"{directory / file}: {what}")
