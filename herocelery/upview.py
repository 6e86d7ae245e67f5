"""The status table of `herocelery up` / `herocelery status`: rows from the state file, the
processes and the store's runner states."""
from __future__ import annotations

import os
from typing import Any

import redis

COLOURS = {"running": "green", "starting": "cyan", "dead": "red", "failed": "red",
           "exited": "red", "stopped": "yellow"}


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return True


def status_rows(state: dict[str, Any], store: Any) -> list[dict[str, Any]]:
    """One row per process: services from the state file, then each node's runners."""
    rows = []
    for s in state.get("services", []):
        rows.append({"process": s["name"], "node": s["node"], "address": s["address"],
                     "pid": s["pid"], "state": "running" if pid_alive(s["pid"]) else "exited",
                     "log": s["log"]})
    try:                                   # what the reconcilers did (issue 13.1)
        import time

        from .reconciler.report import status_rows as with_reconcilers
        rows = with_reconcilers(rows, store.reconcilers(), time.time())
    except redis.RedisError:
        pass
    for node in state.get("nodes", []):
        try:
            states = store.runner_states(node)
        except redis.RedisError as exc:   # HeroDB 1 is down: say so, show the rest
            rows.append({"process": "runners", "node": node, "address": "-", "pid": None,
                         "state": f"unknown (store unreachable: {exc})", "log": ""})
            continue
        for runner, st in sorted(states.items()):
            restarts = st.get("restarts", 0)
            rows.append({"process": f"runner {runner}", "node": node,
                         "address": f"pid {st.get('pid')}" if st.get("pid") else "-",
                         "pid": st.get("pid"),
                         "state": st.get("state", "?") + (f" ({restarts} restarts)"
                                                          if restarts else ""),
                         "log": st.get("log", "")})
    return rows


def status_table(rows: list[dict[str, Any]]) -> Any:
    from rich.table import Table
    table = Table(title="herocelery up")
    for col in ("process", "node", "address", "state", "log"):
        table.add_column(col, overflow="fold")
    for r in rows:
        colour = COLOURS.get(str(r["state"]).split(" ")[0], "white")
        table.add_row(r["process"], r["node"], r["address"], f"[{colour}]{r['state']}[/]",
                      r["log"])
    return table
