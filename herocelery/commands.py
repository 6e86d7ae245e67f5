"""CLI commands of the flow pipeline: run, flow ..., supervisor start, runner start."""
from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import click

from .cli import settings_from
from .settings import Settings


def _console(stderr: bool = False) -> Any:
    from rich.console import Console
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


# ---- run -------------------------------------------------------------------------------------
@click.command("run")
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--timeout", type=float, default=None, help="Give up waiting after N seconds.")
@click.option("--concurrency", type=int, default=None, help="Processes per runner worker.")
@click.pass_context
def run_cmd(ctx: click.Context, target: str, as_json: bool, timeout: float | None,
            concurrency: int | None) -> None:
    """Run a flow FILE or module:attr on a local installation started for it, then stop it.

    With no broker configured, an embedded HeroDB is started too. Exits 0 only when the flow
    finished."""
    from . import graph
    from .flow import load, submit_spec
    from .launcher import Cluster, start_herodb
    settings = settings_from(ctx, concurrency=concurrency)
    spec = load(target)
    graph.validate(spec, runner_types=settings.runner_types,
                   max_jobs=settings.max_jobs_per_flow,
                   max_script_bytes=settings.max_script_bytes)
    topology: dict[str, list[str]] = {}
    for job in spec.jobs.values():
        runners = topology.setdefault(job.node or settings.node, [])
        if job.runner not in runners:
            runners.append(job.runner)
    with ExitStack() as stack:
        if settings.broker_url is None:
            herodb = start_herodb(settings)
            stack.callback(herodb.stop)
            settings = settings.with_(broker_url=herodb.url + "/1")
            settings = _embedded_key(settings)
        log_dir = settings.data_dir / "logs" / time.strftime("run-%Y%m%d-%H%M%S")
        cluster = Cluster(settings, topology, log_dir)
        stack.callback(cluster.stop)
        with _spinner("starting workers", as_json):
            cluster.start()
        handle = submit_spec(spec, settings)
        stack.callback(handle.close)
        status = _wait(handle, timeout, quiet=as_json)
        jobs = handle.jobs()
    _print_outcome(handle.id, status.value, jobs, as_json)
    sys.exit(0 if status.value == "finished" else 1)


def _embedded_key(settings: Settings) -> Settings:
    """Single-user mode: create (first run) and use the installation's own admin key."""
    if settings.api_key:
        return settings
    from .contexts.registry import Registry, embedded_admin_key
    from .store import Store
    store = Store.from_url(settings.store_url())
    try:
        key = embedded_admin_key(Registry(store.r, settings), settings.data_dir / "admin.key")
    finally:
        store.close()
    return settings.with_(api_key=key) if key else settings


class _spinner:
    def __init__(self, text: str, quiet: bool) -> None:
        self.text, self.quiet, self.status = text, quiet, None

    def __enter__(self) -> None:
        if not self.quiet:
            self.status = _console(True).status(self.text)
            self.status.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.status is not None:
            self.status.__exit__(*exc)


def _wait(handle: Any, timeout: float | None, quiet: bool) -> Any:
    if quiet:
        return handle.wait(timeout)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=_console(True),
                  transient=True) as progress:
        task = progress.add_task("jobs", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
        return handle.wait(timeout, on_progress=update)


def _print_outcome(flow_id: str, status: str, jobs: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"flow_id": flow_id, "status": status, "jobs": {
            name: {"status": j.status.value, "result": j.result, "error": j.error}
            for name, j in jobs.items()}}))
        return
    _jobs_table(flow_id, status, jobs)


def _jobs_table(flow_id: str, status: str, jobs: dict[str, Any]) -> None:
    from rich.table import Table
    from .flow.render import short
    colours = {"finished": "green", "error": "red", "timeout": "red", "skipped": "yellow",
               "cancelled": "magenta"}
    table = Table(title=f"flow {flow_id}: [{colours.get(status, 'cyan')}]{status}[/]")
    for col in ("job", "runner", "status", "attempts", "seconds", "result / error"):
        table.add_column(col)
    for name, j in jobs.items():
        secs = f"{j.finished_at - j.started_at:.2f}" if j.started_at and j.finished_at else ""
        detail = short(j.error.get("message")) if j.error and j.status.value != "finished" \
            else short(j.result)
        table.add_row(name, j.runner, f"[{colours.get(j.status.value, 'cyan')}]"
                      f"{j.status.value}[/]", str(j.attempts), secs, detail)
    _console().print(table)


# ---- flow ... ----------------------------------------------------------------------------------
@click.group("flow")
def flow_group() -> None:
    """Submit and manage flows on a running installation."""


class _Runtime:
    """A short-lived client: the Celery app and store, closed quietly on exit."""

    def __init__(self, settings: Settings) -> None:
        from .celeryapp import make_app
        self.app = make_app(settings)
        self.rt = self.app.runtime

    def __enter__(self) -> Any:
        return self.rt

    def __exit__(self, *exc: object) -> None:
        self.rt.close()
        self.app.close()


def _authorize(settings: Settings, flow_id: str, action: str) -> None:
    """PermissionDenied unless the caller (`api_key` setting) may `action` (read, execute)
    in the flow's context."""
    from .contexts import Action, Registry
    from .contexts.admission import check_access
    from .store import Store
    store = Store.from_url(settings.store_url())
    try:
        registry = Registry(store.r, settings)
        caller = registry.authenticate(settings.api_key)
        flow = store.flow(flow_id)
        check_access(registry, caller, flow.context_id, Action(action), f"flow {flow_id}")
    finally:
        store.close()


def _client_settings(ctx: click.Context) -> Settings:
    settings = settings_from(ctx)
    settings.require_broker()
    return settings


@flow_group.command("submit")
@click.argument("target")
@click.option("--wait", "wait", is_flag=True, help="Wait for the flow to end, with progress.")
@click.option("--timeout", type=float, default=None)
@click.option("--json", "as_json", is_flag=True)
@click.option("--sign", "sign_key", type=click.Path(dir_okay=False), default=None,
              metavar="KEYFILE", help="Sign every job with this ed25519 key file.")
@click.pass_context
def flow_submit(ctx: click.Context, target: str, wait: bool, timeout: float | None,
                as_json: bool, sign_key: str | None) -> None:
    """Validate and submit a flow FILE or module:attr; prints its id."""
    from .flow import FlowHandle, load
    from .coordinator import submit
    spec = load(target)
    if sign_key:
        from .contexts.signing import sign_spec
        spec = sign_spec(spec, sign_key)
    settings = _client_settings(ctx)
    with _Runtime(settings) as rt:
        flow_id = submit(rt, spec)
    if not wait:
        click.echo(json.dumps({"flow_id": flow_id}) if as_json else flow_id)
        return
    handle = FlowHandle(flow_id, settings)
    try:
        status = _wait(handle, timeout, quiet=as_json)
        _print_outcome(flow_id, status.value, handle.jobs(), as_json)
    finally:
        handle.close()
    sys.exit(0 if status.value == "finished" else 1)


@flow_group.command("status")
@click.argument("flow_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def flow_status(ctx: click.Context, flow_id: str, as_json: bool) -> None:
    """Show a flow's status and its jobs."""
    from .flow import FlowHandle
    settings = _client_settings(ctx)
    _authorize(settings, flow_id, "read")
    handle = FlowHandle(flow_id, settings)
    try:
        _print_outcome(flow_id, handle.status().value, handle.jobs(), as_json)
    finally:
        handle.close()


@flow_group.command("list")
@click.option("--limit", type=int, default=20)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def flow_list(ctx: click.Context, limit: int, as_json: bool) -> None:
    """The most recent flows."""
    from .store import Store
    settings = _client_settings(ctx)
    store = Store.from_url(settings.store_url())
    try:
        from .contexts import Registry
        from .contexts.admission import readable
        registry = Registry(store.r, settings)
        caller = registry.authenticate(settings.api_key)
        flows = store.flows(limit)
        seen = readable(registry, caller, {f.context_id for f in flows})
        flows = [f for f in flows if f.context_id in seen]
    finally:
        store.close()
    if as_json:
        click.echo(json.dumps([f.model_dump(mode="json", exclude={"jobs"}) | {
            "jobs": len(f.jobs)} for f in flows]))
        return
    from rich.table import Table
    table = Table(title="flows")
    for col in ("id", "name", "status", "jobs", "created"):
        table.add_column(col)
    for f in flows:
        table.add_row(f.id, f.name, f.status.value, str(len(f.jobs)),
                      time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(f.created_at)))
    _console().print(table)


@flow_group.command("cancel")
@click.argument("flow_id")
@click.pass_context
def flow_cancel(ctx: click.Context, flow_id: str) -> None:
    """Cancel a flow: queued jobs are dropped, running ones stopped."""
    from .coordinator import cancel
    settings = _client_settings(ctx)
    _authorize(settings, flow_id, "execute")
    with _Runtime(settings) as rt:
        names = cancel(rt, flow_id)
    click.echo(f"cancelled {flow_id}: {len(names)} job(s) stopped"
               + (f" ({', '.join(names[:20])})" if names else ""))


@flow_group.command("retry")
@click.argument("flow_id")
@click.pass_context
def flow_retry(ctx: click.Context, flow_id: str) -> None:
    """Run failed, skipped and cancelled jobs of a flow again (and what depends on them)."""
    from .coordinator import retry
    settings = _client_settings(ctx)
    _authorize(settings, flow_id, "execute")
    with _Runtime(settings) as rt:
        names = retry(rt, flow_id)
    click.echo(f"retrying {len(names)} job(s) of {flow_id}: {', '.join(names[:20])}")


@flow_group.command("graph")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "mermaid"]), default="text")
@click.pass_context
def flow_graph(ctx: click.Context, target: str, fmt: str) -> None:
    """Draw a flow: a stored flow's id (with statuses), or a flow FILE."""
    from .flow import load
    from .flow.render import dot, mermaid, text_tree
    statuses: dict[str, str] | None = None
    if Path(target).exists() or target.endswith((".yaml", ".yml", ".json", ".hero",
                                                  ".heroscript", ".md")):
        spec = load(target)
        name = spec.name
        after = {n: list(j.after) for n, j in spec.jobs.items()}
    else:
        from .flow import FlowHandle
        settings = _client_settings(ctx)
        _authorize(settings, target, "read")
        handle = FlowHandle(target, settings)
        try:
            name = handle.record().name
            jobs = handle.jobs()
        finally:
            handle.close()
        after = {n: list(j.after) for n, j in jobs.items()}
        statuses = {n: j.status.value for n, j in jobs.items()}
    if fmt == "dot":
        click.echo(dot(name, after, statuses))
    elif fmt == "mermaid":
        click.echo(mermaid(after, statuses))
    else:
        click.echo(text_tree(after, statuses))


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
    from .worker import start_supervisor
    settings = _client_settings(ctx)
    authorize_registration(settings)
    node = node or settings.node
    managed: list[str] | None = None
    if manage:
        from .supervisor.manage import available, node_runner_types
        if runners:
            managed = [r.strip() for r in runners.split(",") if r.strip()]
        else:
            index = list(settings.nodes).index(node) if node in settings.nodes else 0
            managed = available(node_runner_types(index))
    start_supervisor(settings, node, concurrency=concurrency, manage=managed,
                     runner_concurrency=runner_concurrency)


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
    from .worker import start_runner
    settings = _client_settings(ctx)
    authorize_registration(settings)
    start_runner(settings, runner_type, node or settings.node, concurrency=concurrency)
