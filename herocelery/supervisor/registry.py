"""The runner registry of a node: who is registered, who is alive.

A runner is alive when its worker heartbeats; when a supervisor manages the node's runners,
its verdict counts too: a runner that heartbeats but whose loop does not report consuming its
queue is not handed jobs (see manage.py).
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any

from ..store import Store

NOT_SERVING = frozenset({"dead", "failed", "stopped"})


def is_alive(entry: Mapping[str, Any], heartbeat_s: float, at: float | None = None) -> bool:
    """A runner is alive when its last heartbeat is younger than three intervals. Pure."""
    at = time.time() if at is None else at
    return at - float(entry.get("heartbeat", 0)) < 3 * heartbeat_s


def usable_types(entries: Iterable[Mapping[str, Any]], states: Mapping[str, Mapping[str, Any]],
                 heartbeat_s: float, at: float, state_fresh_s: float = 30.0) -> list[str]:
    """Runner types that may be handed jobs: a fresh heartbeat, and no fresh managed state
    saying the runner is dead, failed or stopped. Pure."""
    out = set()
    for e in entries:
        if not is_alive(e, heartbeat_s, at):
            continue
        state = states.get(str(e.get("runner")))
        if state and state.get("state") in NOT_SERVING and \
                at - float(state.get("updated", 0)) < state_fresh_s:
            continue
        out.add(str(e["runner"]))
    return sorted(out)


def live_runner_types(store: Store, node: str, heartbeat_s: float) -> list[str]:
    return sorted(live_capacity(store, node, heartbeat_s))


def live_capacity(store: Store, node: str, heartbeat_s: float) -> dict[str, int]:
    """Usable runner types of a node -> how many job processes their live workers have."""
    entries = store.runners(node)
    usable = set(usable_types(entries, store.runner_states(node), heartbeat_s, time.time()))
    out: dict[str, int] = {}
    for e in entries:
        kind = str(e.get("runner"))
        if kind in usable and is_alive(e, heartbeat_s):
            out[kind] = out.get(kind, 0) + max(1, int(e.get("processes", 1)))
    return out


def chunk_size(jobs: int, processes: int, cap: int = 8) -> int:
    """How many jobs of one runner type travel in one runner message. Pure.

    One job per message while the jobs do not outnumber the runner's processes several times
    over (no job ever waits behind another while a process is idle); past that, the backlog
    queues anyway, and carrying up to `cap` jobs per message divides Celery's per-message cost
    (publish, sent event, delivery, ack, worker events) among them."""
    if processes <= 0 or jobs <= 4 * processes:
        return 1
    return max(1, min(cap, jobs // (4 * processes)))
