"""Admission's verdict is a `Refusal` record (issue 17.8), not a message with a prefix that
is split back out: its kind decides what happens to the job, its message is recorded."""
from __future__ import annotations

import pytest

from herocelery.models import Job
from herocelery.supervisor.admit import (
    CANCELLED,
    DENIED,
    NO_LIVE_RUNNER,
    Refusal,
    refusal,
    waits,
)

JOB = Job(id="4-ab", flow_id="4-cd", name="a", node="n1", runner="python", script="x",
          timeout_s=10.0, created_at=0.0)


@pytest.mark.parametrize("live, flow_status, denied, kind, message", [
    ({"python"}, "cancelled", "nope", CANCELLED, "cancelled"),
    ({"python"}, "started", "caller 'bob' may not execute in context 'x'", DENIED,
     "caller 'bob' may not execute in context 'x'"),
    (set(), "started", None, NO_LIVE_RUNNER, ("no live 'python' runner on node 'n1' (start "
                                              "one with `herocelery runner start python "
                                              "--node n1`)")),
])
def test_each_refusal_says_its_kind_and_message(live, flow_status, denied, kind, message):
    r = refusal(JOB, live, flow_status, denied)
    assert r == Refusal(kind, message) and str(r) == message


def test_a_job_with_its_runner_live_is_not_refused():
    assert refusal(JOB, {"python"}, "started") is None


def test_only_a_missing_runner_is_waited_out():
    missing = refusal(JOB, set(), "started")
    assert missing is not None
    assert waits(missing, None, 100.0, 30.0) and waits(missing, 80.0, 100.0, 30.0)
    assert not waits(missing, 60.0, 100.0, 30.0)
    denied = Refusal(DENIED, "no live runner is a fine thing to say when denied")
    assert not waits(denied, None, 100.0, 30.0)   # the kind decides, not the text
