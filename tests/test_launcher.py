"""Readiness of a supervisor's runners (launcher.runners_missing): ready is what the
supervisor itself reports, so `up`'s "ready" and what `runners()`/`status` show agree."""
from __future__ import annotations

import os
import subprocess
import time
from types import SimpleNamespace

import pytest

from herocelery.errors import ConfigError
from herocelery.launcher import runners_missing


class Store:
    """The two reads runners_missing makes: worker heartbeats and the supervisor's states."""

    def __init__(self, entries: list[dict], states: dict[str, dict]) -> None:
        self.entries, self.states = entries, states

    def runners(self, node: str) -> list[dict]:
        return self.entries

    def runner_states(self, node: str) -> dict[str, dict]:
        return self.states


@pytest.fixture
def child():
    """A process whose parent is this test process, which plays the supervisor."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc.pid
    proc.kill()
    proc.wait()


def check(child_pid: int, state: dict | None, *, failed_ok: bool = False,
          started_at: float | None = None) -> list[str]:
    now = time.time()
    sup = SimpleNamespace(pid=os.getpid(), started_at=now - 5 if started_at is None
                          else started_at)
    entries = [{"runner": "supervisor", "pid": os.getpid(), "heartbeat": now},
               # the runner itself: registered and consuming its queue since a moment ago
               {"runner": "python", "pid": child_pid, "heartbeat": now, "consuming": True,
                "loop_at": now}]
    states = {"python": state} if state is not None else {}
    return runners_missing(Store(entries, states), {"node1": sup}, {"node1": ["python"]},
                           heartbeat_s=1.0, failed_ok=failed_ok)


def test_a_runner_its_supervisor_has_not_seen_running_is_not_ready(child):
    """The runner heartbeats and consumes, but its supervisor's last health pass still says
    `starting` (or has not published yet): not ready. Before, `up` said ready here and
    `runners()` then showed the runner `starting` (the flaky test_up readiness test)."""
    assert check(child, None) == ["python@node1"]
    assert check(child, {"state": "starting", "pid": child,
                         "updated": time.time()}) == ["python@node1"]


def test_a_runner_its_supervisor_reports_running_is_ready(child):
    assert check(child, {"state": "running", "pid": child, "updated": time.time()}) == []


def test_a_record_of_an_earlier_run_or_of_another_process_is_not_ready(child):
    earlier = {"state": "running", "pid": child, "updated": time.time() - 60}
    assert check(child, earlier) == ["python@node1"]
    stranger = {"state": "running", "pid": os.getppid(), "updated": time.time()}
    assert check(child, stranger) == ["python@node1"]


def test_a_failed_runner_is_an_error_unless_failures_are_shown(child):
    failed = {"state": "failed", "pid": None, "updated": time.time(), "reason": "exit 1"}
    with pytest.raises(ConfigError, match="runner python on node1 failed: exit 1"):
        check(child, failed)
    assert check(child, failed, failed_ok=True) == []
