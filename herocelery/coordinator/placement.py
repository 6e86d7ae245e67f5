"""Where each job of a flow runs, decided before anything is stored (issue 12.5/12.6).

A job with a `node` runs there; a job without one runs on the first node (in node order)
that has its runner type. A flow is refused — one error naming the node, the runner type and
the command that starts it, nothing stored — when a node its jobs need has no live
supervisor or lacks the job's runner type. So a broker URL pointing at the wrong database
(no workers there) or a runner type no node runs is said at submit time, instead of a flow
that stays `started` forever.

"Live" is what the workers themselves say: a fresh registry heartbeat (`Store.live_entries`),
which does not depend on how busy a worker's queue is.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..errors import FlowError, NotRunning

SUPERVISOR = "supervisor"


@dataclass(frozen=True)
class Want:
    """What one job needs: its runner type and, if it names one, its node."""

    job: str
    runner: str
    node: str | None = None


def place(wants: Sequence[Want], nodes: Sequence[str], live: Mapping[str, set[str]],
          flow: str = "") -> dict[str, str]:
    """Job name -> node. `nodes` is the node order, `live` node -> the worker kinds with a
    fresh heartbeat there (runner types, and `supervisor`). Pure.

    FlowError for a node nobody knows; NotRunning when a needed node has no live supervisor
    or no live runner of the job's type (naming the command that starts it)."""
    where = f"flow {flow!r}, " if flow else ""
    out: dict[str, str] = {}
    for w in wants:
        if w.node is not None:
            if w.node not in nodes:
                raise FlowError(f"{where}job {w.job!r}, field 'node': unknown node {w.node!r} "
                                f"(known: {', '.join(sorted(nodes)) or 'none'})")
            _require(where, w, w.node, live.get(w.node, set()))
            out[w.job] = w.node
            continue
        served = [n for n in nodes if {SUPERVISOR, w.runner} <= live.get(n, set())]
        if served:
            out[w.job] = served[0]
            continue
        supervised = [n for n in nodes if SUPERVISOR in live.get(n, set())]
        if not supervised:
            raise NotRunning(f"{where}job {w.job!r}: no supervisor is running on any node "
                             f"({', '.join(nodes) or 'none known'}); start the installation "
                             "with `herocelery up`")
        node = supervised[0]
        raise NotRunning(f"{where}job {w.job!r}: no node runs a live {w.runner!r} runner "
                         f"(nodes with a supervisor: {', '.join(supervised)}); start one "
                         f"with `{start_runner(node, w.runner)}`, or give the job a node "
                         "that has one")
    return out


def _require(where: str, w: Want, node: str, kinds: set[str]) -> None:
    if SUPERVISOR not in kinds:
        raise NotRunning(f"{where}job {w.job!r}: node {node!r} has no live supervisor; start "
                         f"it with `herocelery supervisor start --node {node} --manage "
                         f"--runners {w.runner}`")
    if w.runner not in kinds:
        raise NotRunning(f"{where}job {w.job!r}: node {node!r} has no live {w.runner!r} "
                         f"runner; start one with `{start_runner(node, w.runner)}`")


def start_runner(node: str, runner: str) -> str:
    """The command that starts a `runner` worker on `node`. Pure."""
    return f"herocelery runner start {runner} --node {node}"


def live_kinds(entries: Mapping[str, Sequence[Mapping[str, object]]], broker_db: int
               ) -> dict[str, set[str]]:
    """node -> worker kinds whose (fresh) registry entries consume `broker_db`'s queues; an
    entry that does not say which database it consumes counts. Pure."""
    return {node: {str(e.get("runner")) for e in rows
                   if e.get("broker_db", broker_db) == broker_db}
            for node, rows in entries.items()}


def other_databases(entries: Mapping[str, Sequence[Mapping[str, object]]], broker_db: int
                    ) -> list[int]:
    """The broker databases live workers consume, other than `broker_db`. Pure."""
    found = {e.get("broker_db") for rows in entries.values() for e in rows}
    return sorted(db for db in found if isinstance(db, int) and db != broker_db)


def node_order(configured: Sequence[str], registered: Sequence[str]) -> list[str]:
    """The configured nodes in their order, then any other registered node by name. Pure."""
    return list(dict.fromkeys([*configured, *sorted(registered)]))
