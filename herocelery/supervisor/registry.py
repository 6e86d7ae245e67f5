"""The runner registry of a node: who is registered, who is alive (fresh heartbeat)."""
from __future__ import annotations

import time
from typing import Any

from ..store import Store


def is_alive(entry: dict[str, Any], heartbeat_s: float, at: float | None = None) -> bool:
    """A runner is alive when its last heartbeat is younger than three intervals. Pure."""
    at = time.time() if at is None else at
    return at - float(entry.get("heartbeat", 0)) < 3 * heartbeat_s


def live_runner_types(store: Store, node: str, heartbeat_s: float) -> list[str]:
    now = time.time()
    return sorted({e["runner"] for e in store.runners(node) if is_alive(e, heartbeat_s, now)})
