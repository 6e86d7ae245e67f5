"""CLI commands that start work: run, supervisor start, runner start (`flow ...` lives in
herocelery/flow/cli.py)."""
from __future__ import annotations

import sys
import time
from contextlib import ExitStack
from typing import Any

import click

from .cli import settings_from
from .settings import Settings


# ---- run -------------------------------------------------------------------------------------
@click.command("run")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--timeout", type=float, default=None, help="Give up waiting after N seconds.")
@click.option("--concurrency", type=int, default=None, help="Processes per runner worker.")
@click.pass_context
def run_cmd(ctx: click.Context, target: str, as_json: bool, timeout: float | None,
            concurrency: int | None) -> None:
    """Run a flow FILE or module:attr and print its jobs; exits 0 only when it finished.

    On a running `herocelery up` (same data directory, no broker configured) the flow runs
    there. Otherwise the workers it needs are started for it and stopped afterwards, on the
    configured broker or on an embedded HeroDB in the data directory."""
    from . import graph
    from .flow import load, submit_spec
    from .flow.cli import print_outcome, wait
    from .launcher import Cluster
    from .local import connect
    settings = settings_from(ctx, concurrency=concurrency)
    valid = graph.checked(load(target), settings)     # once: submit takes it as it is
    topology: dict[str, list[str]] = {}
    for job in valid.spec.jobs.values():
        runners = topology.setdefault(job.node or settings.node, [])
        if job.runner not in runners:
            runners.append(job.runner)
    with ExitStack() as stack:
        found = stack.enter_context(connect(settings))
        settings = found.settings
        if found.via != "up":     # a running `up` has the workers; else start them
            log_dir = settings.data_dir / "logs" / time.strftime("run-%Y%m%d-%H%M%S")
            cluster = Cluster(found.for_children, topology, log_dir)
            stack.callback(cluster.stop)
            with _spinner("starting workers", as_json):
                cluster.start()
            from .reconciler import Reconciler  # the coordinator side: this process
            stack.callback(Reconciler(settings).start_thread().stop)
        handle = submit_spec(valid, settings)
        stack.callback(handle.close)
        status = wait(handle, timeout, quiet=as_json)
        jobs = handle.jobs()
    print_outcome(handle.id, status.value, jobs, as_json)
    sys.exit(0 if status.value == "finished" else 1)


class _spinner:
    def __init__(self, text: str, quiet: bool) -> None:
        self.text, self.quiet = text, quiet
        self.status: Any = None

    def __enter__(self) -> None:
        if not self.quiet:
            from .flow.cli import console
            self.status = console(True).status(self.text)
            self.status.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)


def authorize_registration(settings: Settings) -> None:
    """Starting a supervisor or runner registers it: the caller's key needs the `registrar`
    (or `admin`) scope once the installation has API keys; without keys (single user) the
    local admin may. PermissionDenied otherwise, before anything starts."""
    from .contexts import Action, Registry, may
    from .errors import PermissionDenied
    from .store import Store
    store = Store.from_url(settings.store_url())
    try:
        caller = Registry(store.r, settings).authenticate(settings.api_key)
    finally:
        store.close()
    decision = may(caller, Action.register)
    if not decision:
        raise PermissionDenied(decision.reason)


# ---- workers -------------------------------------------------------------------------------------
@click.group("supervisor")
def supervisor_group() -> None:
    """The supervisor of a node."""


@supervisor_group.command("start")
@click.option("--node", default=None, help="Node name (default: the `node` setting).")
@click.option("--concurrency", type=int, default=4)
@click.option("--manage", is_flag=True,
              help="Also start, restart, ping and stop the node's runner workers.")
@click.option("--runners", default=None, metavar="TYPE,TYPE",
              help="Runner types to manage (default: the node's types in the seed topology).")
@click.option("--runner-concurrency", type=int, default=0,
              help="Processes per managed runner (default: CPUs).")
@click.pass_context
def supervisor_start(ctx: click.Context, node: str | None, concurrency: int, manage: bool,
                     runners: str | None, runner_concurrency: int) -> None:
    """Run the supervisor worker of NODE in the foreground."""
    from .local import connect
    with connect(settings_from(ctx)) as found:
        settings = found.settings
        authorize_registration(settings)
        node = node or settings.node
        manager = None
        if manage:
            from .supervisor.manage import RunnerManager, available, node_runner_types
            if runners:
                managed = [r.strip() for r in runners.split(",") if r.strip()]
            else:
                index = list(settings.nodes).index(node) if node in settings.nodes else 0
                managed = available(node_runner_types(index))
            # the runners start while this process imports Celery and starts its worker
            manager = RunnerManager(found.for_children, node, managed,
                                    concurrency=runner_concurrency)
            manager.start()
        from .worker import start_supervisor
        start_supervisor(settings, node, concurrency=concurrency, manager=manager)


@click.group("runner")
def runner_group() -> None:
    """Runner workers."""


@runner_group.command("start")
@click.argument("runner_type")
@click.option("--node", default=None)
@click.option("--concurrency", type=int, default=0, help="Processes (default: CPUs).")
@click.pass_context
def runner_start(ctx: click.Context, runner_type: str, node: str | None,
                 concurrency: int) -> None:
    """Run a worker for RUNNER_TYPE on NODE in the foreground."""
    from .local import connect
    from .worker import start_runner
    with connect(settings_from(ctx)) as found:
        settings = found.settings
        authorize_registration(settings)
        start_runner(settings, runner_type, node or settings.node, concurrency=concurrency)
