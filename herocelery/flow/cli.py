"""`herocelery flow ...`: submit and manage flows on the local (or configured) installation.

Every command finds its installation through `herocelery.local` (no broker URL, no key to
type on the same machine); every command taking a flow id accepts a unique prefix of it,
as git does (`4-1a2b3c4d`, or the hex part alone, `1a2b3c4d`).
"""
from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..cli import settings_from
from ..errors import NotFound
from ..settings import Settings

if TYPE_CHECKING:
    from rich.console import Console

    from ..models import FlowStatus
    from ..runtime import Runtime
    from .api import FlowHandle

SHORT_HEX = 8                           # hex digits of a short id (git shows 7)
MIN_PREFIX_HEX = 4
FULL_ID = re.compile(r"\d+-[0-9a-f]{32}")
PREFIX = re.compile(r"(\d+-)?[0-9a-f]*")
COLOURS = {"finished": "green", "error": "red", "timeout": "red", "skipped": "yellow",
           "cancelled": "magenta"}


# ---- shared with `herocelery run` ------------------------------------------------------------
@contextmanager
def installation(ctx: click.Context, *, start: bool = True, **overrides: Any
                 ) -> Iterator[Settings]:
    """Settings of the installation this command uses (`herocelery.local.connect`): the
    configured broker, the running `up`, a HeroDB serving the data directory, or (with
    `start`) an embedded HeroDB for the duration of the command."""
    from ..local import connect
    with connect(settings_from(ctx, **overrides), start=start) as found:
        yield found.settings


def console(stderr: bool = False) -> Console:
    from rich.console import Console
    return Console(stderr=stderr, highlight=False, soft_wrap=False)


def wait(handle: FlowHandle, timeout: float | None, quiet: bool) -> FlowStatus:
    """Wait for a flow to end, with a progress bar on stderr unless `quiet`."""
    if quiet:
        return handle.wait(timeout)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), console=console(True),
                  transient=True) as progress:
        task = progress.add_task("jobs", total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)
        return handle.wait(timeout, on_progress=update)


def print_outcome(flow_id: str, status: str, jobs: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps({"flow_id": flow_id, "status": status, "jobs": {
            name: {"status": j.status.value, "result": j.result, "error": j.error}
            for name, j in jobs.items()}}))
        return
    from rich.table import Table

    from .render import short
    table = Table(title=f"flow {flow_id}: [{COLOURS.get(status, 'cyan')}]{status}[/]")
    for col in ("job", "runner", "status", "attempts", "seconds"):
        table.add_column(col, no_wrap=True)
    table.add_column("result / error", overflow="ellipsis")
    for name, j in jobs.items():
        secs = f"{j.finished_at - j.started_at:.2f}" if j.started_at and j.finished_at else ""
        detail = short(j.error.get("message")) if j.error and j.status.value != "finished" \
            else short(j.result)
        table.add_row(name, j.runner, f"[{COLOURS.get(j.status.value, 'cyan')}]"
                      f"{j.status.value}[/]", str(j.attempts), secs, detail)
    console().print(table)


# ---- flow ids: unique prefixes ----------------------------------------------------------------
def resolve(settings: Settings, text: str) -> str:
    """The flow id `text` names: a full id, or a unique prefix of one. NotFound naming the
    candidates when it is ambiguous, or when nothing matches."""
    text = text.strip()
    if FULL_ID.fullmatch(text) or not PREFIX.fullmatch(text):
        return text                    # looked up as is: the store says what is wrong
    digits = text.partition("-")[2] if "-" in text else text
    if len(digits) < MIN_PREFIX_HEX:
        raise NotFound(f"flow id prefix {text!r} is too short: give at least "
                       f"{MIN_PREFIX_HEX} hex digits")
    from ..store import Store
    store = Store.from_url(settings.store_url())
    try:
        found = store.flow_ids_starting(text, limit=6)
    finally:
        store.close()
    if not found:
        raise NotFound(f"no flow with id {text!r}")
    if len(found) > 1:
        shown = ", ".join(found[:5]) + (", ..." if len(found) > 5 else "")
        raise NotFound(f"flow id prefix {text!r} is ambiguous: {shown} (give more digits)")
    return found[0]


def short_ids(ids: list[str]) -> dict[str, str]:
    """Each id cut to `<db>-` + SHORT_HEX hex digits, longer where that is not unique among
    `ids`. Pure."""
    out: dict[str, str] = {}
    for n in range(SHORT_HEX, 33):
        cut = {i: _cut(i, n) for i in ids if i not in out}
        counts: dict[str, int] = {}
        for c in cut.values():
            counts[c] = counts.get(c, 0) + 1
        out.update({i: c for i, c in cut.items() if counts[c] == 1})
        if len(out) == len(ids):
            break
    return {i: out.get(i, i) for i in ids}


def _cut(flow_id: str, hex_digits: int) -> str:
    head, dash, tail = flow_id.partition("-")
    return f"{head}-{tail[:hex_digits]}" if dash else flow_id[:hex_digits]


def _authorize(settings: Settings, flow_id: str, action: str) -> None:
    """PermissionDenied unless the caller (`api_key` setting) may `action` (read, execute)
    in the flow's context."""
    from ..contexts import Action, Registry
    from ..contexts.admission import check_access
    from ..store import Store
    store = Store.from_url(settings.store_url())
    try:
        registry = Registry(store.r, settings)
        caller = registry.authenticate(settings.api_key)
        flow = store.flow(flow_id)
        check_access(registry, caller, flow.context_id, Action(action), f"flow {flow_id}")
    finally:
        store.close()


class _Runtime:
    """A short-lived client: the Celery app and store, closed quietly on exit."""

    def __init__(self, settings: Settings) -> None:
        from ..celeryapp import make_app
        self.app = make_app(settings)
        self.rt = self.app.runtime

    def __enter__(self) -> Runtime:
        return self.rt

    def __exit__(self, *exc: object) -> None:
        self.rt.close()
        self.app.close()


# ---- the commands ------------------------------------------------------------------------------
@click.group("flow")
def flow_group() -> None:
    """Submit and manage flows (on `herocelery up`, or the configured broker)."""


@flow_group.command("submit")
@click.argument("target")
@click.option("--wait", "wait_", is_flag=True, help="Wait for the flow to end, with progress.")
@click.option("--timeout", type=float, default=None)
@click.option("--json", "as_json", is_flag=True)
@click.option("--sign", "sign_key", type=click.Path(dir_okay=False), default=None,
              metavar="KEYFILE", help="Sign every job with this ed25519 key file.")
@click.pass_context
def flow_submit(ctx: click.Context, target: str, wait_: bool, timeout: float | None,
                as_json: bool, sign_key: str | None) -> None:
    """Validate and submit a flow FILE or module:attr; prints its id (first, with --wait)."""
    from .. import graph
    from ..coordinator import submit
    from ..local import connect
    from . import FlowHandle, load
    wanted = settings_from(ctx)
    valid = graph.checked(load(target), wanted)   # before finding anything; submit takes it
    if sign_key:
        from ..contexts.signing import sign_spec
        valid = valid.signed(sign_spec(valid.spec, sign_key))
    with connect(wanted, start=False) as found:
        settings = found.settings
        with _Runtime(settings) as rt:
            flow_id = submit(rt, valid)
        if not wait_:
            click.echo(json.dumps({"flow_id": flow_id}) if as_json else flow_id)
            return
        if not as_json:
            click.echo(flow_id)          # first, so an interrupted wait still says which
            sys.stdout.flush()
        handle = FlowHandle(flow_id, settings)
        try:
            status = wait(handle, timeout, quiet=as_json)
            print_outcome(flow_id, status.value, handle.jobs(), as_json)
        finally:
            handle.close()
    sys.exit(0 if status.value == "finished" else 1)


@flow_group.command("status")
@click.argument("flow_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def flow_status(ctx: click.Context, flow_id: str, as_json: bool) -> None:
    """Show a flow's status and its jobs (FLOW_ID may be a unique prefix)."""
    from . import FlowHandle
    with installation(ctx) as settings:
        flow_id = resolve(settings, flow_id)
        _authorize(settings, flow_id, "read")
        handle = FlowHandle(flow_id, settings)
        try:
            print_outcome(flow_id, handle.status().value, handle.jobs(), as_json)
        finally:
            handle.close()


@flow_group.command("list")
@click.option("--limit", type=int, default=20, show_default=True)
@click.option("--full", is_flag=True, help="Show whole ids instead of unique short ones.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def flow_list(ctx: click.Context, limit: int, full: bool, as_json: bool) -> None:
    """The most recent flows you may read: id (a unique prefix), name, status, jobs, created."""
    from ..contexts import Registry
    from ..contexts.admission import readable
    from ..store import Store
    with installation(ctx) as settings:
        store = Store.from_url(settings.store_url())
        try:
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
    ids = {f.id: f.id for f in flows} if full else short_ids([f.id for f in flows])
    out = console()
    # ids, statuses and times never wrap or shrink: the name gives way (ellipsis)
    id_w = max([len(i) for i in ids.values()] or [2])
    jobs_w = max([len(str(len(f.jobs))) for f in flows] + [4])
    fixed = id_w + 9 + jobs_w + 19 + 3 * 5 + 1          # columns, padding and rules
    table = Table(title="flows")
    table.add_column("id", no_wrap=True, min_width=id_w)
    table.add_column("name", overflow="ellipsis", no_wrap=True,
                     max_width=max(8, out.width - fixed))
    table.add_column("status", no_wrap=True, min_width=9)
    table.add_column("jobs", no_wrap=True, justify="right", min_width=jobs_w)
    table.add_column("created", no_wrap=True, min_width=19)
    for f in flows:
        table.add_row(ids[f.id], f.name, f"[{COLOURS.get(f.status.value, 'cyan')}]"
                      f"{f.status.value}[/]", str(len(f.jobs)),
                      time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(f.created_at)))
    out.print(table)


@flow_group.command("cancel")
@click.argument("flow_id")
@click.pass_context
def flow_cancel(ctx: click.Context, flow_id: str) -> None:
    """Cancel a flow: queued jobs are dropped, running ones stopped."""
    from ..coordinator import cancel
    with installation(ctx) as settings:
        flow_id = resolve(settings, flow_id)
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
    from ..coordinator import retry
    with installation(ctx) as settings:
        flow_id = resolve(settings, flow_id)
        _authorize(settings, flow_id, "execute")
        with _Runtime(settings) as rt:
            names = retry(rt, flow_id)
    click.echo(f"retrying {len(names)} job(s) of {flow_id}: {', '.join(names[:20])}")


@flow_group.command("graph")
@click.argument("target")
@click.option("--format", "fmt", type=click.Choice(["text", "dot", "mermaid"]), default="text")
@click.pass_context
def flow_graph(ctx: click.Context, target: str, fmt: str) -> None:
    """Draw a flow: a stored flow's id or unique prefix (with statuses), or a flow FILE or
    module:attr."""
    from . import load
    from .render import dot, mermaid, text_tree
    statuses: dict[str, str] | None = None
    if Path(target).exists() or ":" in target or target.endswith(
            (".yaml", ".yml", ".json", ".hero", ".heroscript", ".md")):   # ids have no ':'
        spec = load(target)
        name = spec.name
        after = {n: list(j.after) for n, j in spec.jobs.items()}
    else:
        from . import FlowHandle
        with installation(ctx) as settings:
            flow_id = resolve(settings, target)
            _authorize(settings, flow_id, "read")
            handle = FlowHandle(flow_id, settings)
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
