"""What the reconcilers did, for `herocelery status` and `/metrics`. Pure functions of the
records the reconcilers keep in the store (`Keys.reconcilers`, `Keys.reconciler_counts`)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# counter -> what /metrics calls it
ACTIONS = {"stale": "stale jobs found", "redispatched": "stale jobs re-dispatched",
           "failed": "stale jobs ended error (their worker was lost every time)",
           "restored": "messages of dead workers put back in their queues",
           "flows_finished": "flows finished that their last settler left unfinished"}


def alive(state: Mapping[str, Any], now: float) -> bool:
    """A reconciler is alive while its passes keep coming (three intervals' slack). Pure."""
    interval = float(state.get("interval_s", 2.0))
    return now - float(state.get("last_pass", 0)) < 3 * interval + 5


def activity(st: Mapping[str, Any], now: float) -> str:
    """One reconciler's state and what it did, in words. Pure."""
    age = now - float(st.get("last_pass", 0))
    state = (f"running - last pass {age:.0f}s ago" if alive(st, now)
             else f"stopped - last pass {age:.0f}s ago")
    return state + (f": {st.get('stale', 0)} stale found, {st.get('redispatched', 0)} "
                    f"re-dispatched, {st.get('failed', 0)} failed, {st.get('restored', 0)} "
                    f"messages restored")


def status_rows(rows: list[dict[str, Any]], states: Mapping[str, Mapping[str, Any]],
                now: float) -> list[dict[str, Any]]:
    """The status table's rows with what each reconciler did: on the row of the process
    that runs it (the same pid), or on a row of its own (one running elsewhere, or one
    that has stopped). Pure."""
    out = [dict(r) for r in rows]
    by_pid = {r.get("pid"): r for r in out if r.get("process") == "reconciler"}
    for name, st in sorted(states.items()):
        row = by_pid.get(st.get("pid"))
        if row is not None and str(row.get("state", "")).startswith("running"):
            row["state"] = activity(st, now)
        elif alive(st, now):
            out.append({"process": "reconciler", "node": "-", "address": name,
                        "pid": st.get("pid"), "state": activity(st, now), "log": ""})
    return out


def metrics_lines(counts: Mapping[str, int], states: Mapping[str, Mapping[str, Any]],
                  now: float) -> list[str]:
    """Prometheus lines: what the reconcilers did, and which are up. Pure."""
    lines = ["# HELP herocelery_reconciler_total What the reconcilers did "
             "(" + "; ".join(f"{k}: {v}" for k, v in ACTIONS.items()) + ").",
             "# TYPE herocelery_reconciler_total counter"]
    for action in ACTIONS:
        lines.append(f'herocelery_reconciler_total{{action="{action}"}} '
                     f"{int(counts.get(action, 0))}")
    lines += ["# HELP herocelery_reconciler_up 1 while a reconciler's passes keep coming.",
              "# TYPE herocelery_reconciler_up gauge"]
    for name, st in sorted(states.items()):
        safe = name.replace("\\", "\\\\").replace('"', '\\"')
        lines.append(f'herocelery_reconciler_up{{name="{safe}"}} {1 if alive(st, now) else 0}')
    return lines
