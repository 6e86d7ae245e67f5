"""`herocelery up`: the whole installation on one machine, and `herocelery status`.

`up --nodes N` starts, all on loopback, with data and logs under the data directory:

    herodb-1     HeroDB 1: Celery broker + results, the job store, and node1's data layer
    herodb-K     HeroDB K (K >= 2): the data layer of nodeK's runners (`node_db_url`)
    supervisor   one per node, managing that node's runner workers (`--manage`)
    api          JSON-RPC, events, metrics and leaf at http://127.0.0.1:<api-port>/leaf/
    flower       with --flower, from flower.conf

Topology (the seed's picture): node1 runs python and shell runners, node2 rhai, heroscript
and osis (those installed); jobs route by their `node`. One coordinator: whoever submits
(API, CLI) settles flows through HeroDB 1, so every node's supervisor and runners share it as
broker and store, while each node's runners keep their context data in their own Hero DB.

One `up` per data directory: `up.lock` is held while it runs and `up.json` describes it, so a
second `up` says what runs instead of clashing, and `herocelery status` shows the same table
from another terminal.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import time
from types import FrameType
from typing import TYPE_CHECKING, Any

import click

from . import procs
from .cli import settings_from
from .errors import ConfigError, HeroCeleryError
from .installation import Installation, flower_conf
from .local import read_up_state
from .upview import status_rows, status_table

if TYPE_CHECKING:
    from rich.console import Console


@click.command("up")
@click.option("--nodes", type=click.IntRange(1, 16), default=1, show_default=True,
              help="Nodes to start (2 = the seed topology).")
@click.option("--flower", is_flag=True, help="Also start Flower (flower.conf).")
@click.option("--flower-port", type=int, default=5555, show_default=True)
@click.option("--api-port", type=int, default=None, help="API port (default: api_port, 8780).")
@click.option("--runner-concurrency", type=int, default=2, show_default=True,
              help="Processes per runner worker.")
@click.option("--timeout", "timeout_s", type=float, default=90.0, show_default=True,
              help="Give up if not ready after this many seconds.")
@click.option("--no-live", is_flag=True, help="Print the table once instead of keeping it "
              "current (for logs and scripts).")
@click.pass_context
def up_cmd(ctx: click.Context, nodes: int, flower: bool, flower_port: int,
           api_port: int | None, runner_concurrency: int, timeout_s: float,
           no_live: bool) -> None:
    """Start HeroDB, the supervisors and runners of each node, the API (and Flower); keep a
    status table current; Ctrl-C stops everything."""
    settings = settings_from(ctx)
    inst = Installation(settings, nodes=nodes, flower=flower, api_port=api_port,
                        flower_port=flower_port, runner_concurrency=runner_concurrency)

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)        # the terminal closed: stop cleanly too
    from rich.console import Console
    console = Console(stderr=False, highlight=False)
    try:
        inst.acquire()           # a second `up` stops here, touching nothing
    except KeyboardInterrupt:    # Ctrl-C before anything started: nothing to stop
        return
    try:
        inst.start()
        seconds = inst.wait_ready(timeout_s)
        console.print(f"[green]ready[/] in {seconds:.1f}s - leaf: {inst.api_url}/leaf/  "
                      f"(data: {inst.data_dir}; Ctrl-C stops everything)")
        _show(inst, console, live=not no_live)
    except KeyboardInterrupt:
        pass
    finally:
        _say(console, "stopping ...")
        inst.stop()
        _say(console, "stopped")


def _say(console: Console, text: str) -> None:
    """Print unless the terminal is gone (SIGHUP): stopping must not depend on it."""
    try:
        console.print(text)
    except (OSError, ValueError):
        pass


def _show(inst: Installation, console: Console, live: bool) -> None:
    from .store import Store
    store = Store.from_url(inst.settings.store_url())
    state = read_up_state(inst.data_dir) or {}
    try:
        if not live:
            console.print(status_table(status_rows(state, store)))
            while True:
                time.sleep(3600)
        from rich.live import Live
        with Live(status_table(status_rows(state, store)), console=console,
                  refresh_per_second=2) as view:
            while True:
                time.sleep(1.0)
                try:
                    view.update(status_table(status_rows(state, store)))
                except Exception:  # noqa: BLE001 - the store blinked; keep the last table
                    pass
    finally:
        store.close()


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the rows as JSON.")
@click.pass_context
def status_cmd(ctx: click.Context, as_json: bool) -> None:
    """Show what runs: the processes of `herocelery up` (from another terminal), or the
    nodes and runners registered on the configured broker."""
    from .local import find
    from .store import Store
    settings = settings_from(ctx)
    found = find(settings)
    if found is None:
        raise HeroCeleryError(f"herocelery up is not running on {settings.data_dir}")
    state: dict[str, Any] = {}
    if found.via == "up":
        state = dict(read_up_state(settings.data_dir) or {})
    store = Store.from_url(found.settings.store_url())
    try:
        if found.via != "up":
            state = {"services": [], "nodes": store.nodes()}
        rows = status_rows(state, store)
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps({"api_url": state.get("api_url", ""), "rows": rows}))
        return
    from rich.console import Console
    Console(highlight=False).print(status_table(rows))


@click.command("flower", context_settings={"ignore_unknown_options": True})
@click.option("--port", type=int, default=5555, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True,
              help="Beyond loopback, FLOWER_BASIC_AUTH=user:password is required.")
@click.argument("flower_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_context
def flower_cmd(ctx: click.Context, port: int, address: str, flower_args: tuple[str, ...]
               ) -> None:
    """Run Flower with flower.conf on the installation's broker (`herocelery up`'s, the
    configured one, or the data directory's HeroDB); extra args go to Flower."""
    from .api.auth import is_loopback
    from .local import connect
    if not is_loopback(address) and not os.environ.get("FLOWER_BASIC_AUTH"):
        raise ConfigError(f"Flower on {address} needs FLOWER_BASIC_AUTH=user:password")
    with connect(settings_from(ctx)) as found:
        # the app is built from the settings in Flower's environment: the broker's password
        # is read from broker_secret_file there, never put on a command line
        args = [sys.executable, "-m", "celery", "-A", "herocelery.flowerapp",
                "flower", f"--port={port}", f"--address={address}"]
        conf = flower_conf()
        if conf is not None:
            args.append(f"--conf={conf}")
        args += list(flower_args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
        env.update(found.for_children.to_env())
        if found.via != "embedded":
            os.execve(sys.executable, args, env)
        code = _flower_child(args, env)   # the HeroDB started for us must outlive Flower
    sys.exit(code)


def _flower_child(args: list[str], env: dict[str, str]) -> int:
    """Run Flower as a child until it exits or this command is stopped (Ctrl-C, SIGTERM,
    the terminal closing): then stop Flower first, so none is left behind on a HeroDB
    that stops with this command."""
    import subprocess

    from .launcher import die_with_parent

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    proc = subprocess.Popen(args, env=env, preexec_fn=die_with_parent)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        procs.stop([proc], 15.0, group=False)
        return 130
