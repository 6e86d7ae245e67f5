"""`herocelery reconciler start`: the reconciler alone, for deployments (`up` and `run` run
one on their coordinator side)."""
from __future__ import annotations

import signal
from typing import Any

import click

from ..cli import settings_from


@click.group("reconciler")
def group() -> None:
    """The reconciler: moves on jobs and flows that nobody moves any more."""


@group.command("start")
@click.option("--interval", "interval_s", type=float, default=None,
              help="Seconds between passes (default: reconcile_interval_s, 2).")
@click.option("--name", default=None, help="Name shown in `status` (default: host:pid).")
@click.pass_context
def start(ctx: click.Context, interval_s: float | None, name: str | None) -> None:
    """Run a reconciler in the foreground until stopped (Ctrl-C or SIGTERM). Several may run
    against one installation: each stale job is taken by exactly one."""
    from ..local import connect
    from .loop import Reconciler
    with connect(settings_from(ctx, reconcile_interval_s=interval_s), start=False) as found:
        reconciler = Reconciler(found.settings, name=name)

        def stop(signum: int, frame: Any) -> None:
            reconciler._stop.set()
        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        click.echo(f"{reconciler.name}: reconciling every "
                   f"{found.settings.reconcile_interval_s:g}s", err=True)
        try:
            reconciler.run()
        finally:
            reconciler.stop()
