"""The store dies mid-flow (kill -9) and comes back on the same data directory (issue 13.4):
HeroDB with `appendfsync always` and `everysec`, redis-server with its append-only file — every
flow submitted before finishes; redis-server without persistence loses everything, and
`flow status` then says in one line that the flow is gone, instead of it running forever.
Each store kind gets its own rig."""
from __future__ import annotations

import subprocess
import sys
import time

import pytest
from rig import Rig
from support import env_without_herocelery

pytestmark = pytest.mark.faults


def under_way(flows):
    return lambda seen: all((fid, "long2") in seen for fid in flows)


@pytest.mark.parametrize("kind", ["herodb-always", "herodb-everysec", "redis-aof"])
def test_kill9_of_the_store_and_a_restart_on_its_data(kind, tmp_path, report):
    rig = Rig(kind, tmp_path).start()
    try:
        before = rig.finished_count()
        flows = rig.submit(3)
        rig.wait_running(flows, under_way(flows))
        runner = rig.runner_pid()
        rig.store.kill9()
        rig.store.start()                       # same port, same data directory
        t0 = time.monotonic()
        outcome = report(rig.outcome(f"kill -9 {kind}, restart", flows, t0, before))
        assert outcome.lost == 0 and outcome.stuck == 0, outcome.line()
        assert outcome.settled_once, outcome.line()
        assert outcome.recovery_s < 60, outcome.line()
        # the runner rode it out (it died of kombu's AttributeError on the lost connection
        # before, and its supervisor had to start another)
        assert rig.runner_pid() == runner
        assert "Unrecoverable error" not in rig.runner_log().read_text()
    finally:
        rig.stop()


def test_a_store_that_lost_its_data_reports_the_flows_lost(tmp_path, report):
    rig = Rig("redis", tmp_path).start()
    try:
        before = rig.finished_count()
        flows = rig.submit(2)
        rig.wait_running(flows, under_way(flows))
        rig.store.kill9()
        rig.store.start()                       # no persistence: an empty store
        t0 = time.monotonic()
        outcome = report(rig.outcome("kill -9 redis (no persistence)", flows, t0, before,
                                     timeout=30, lost_ok=True))
        assert outcome.note.startswith("2 flow(s) reported lost"), outcome.line()
        env = {**env_without_herocelery(), **rig.settings.to_env()}
        proc = subprocess.run([sys.executable, "-m", "herocelery", "flow", "status", flows[0]],
                              env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "lost" in lines[0] and "Traceback" not in proc.stderr
        # the installation itself carries on: a new flow runs
        fresh = rig.submit(1, short=3, long_s=())
        outcome = rig.outcome("after the loss", fresh, time.monotonic(),
                              rig.finished_count())
        assert outcome.lost == 0 and outcome.stuck == 0, outcome.line()
    finally:
        rig.stop()


def test_herodb_paused_10s_then_resumed(tmp_path, report):
    """The store `up` ships stops answering for 10 s (SIGSTOP) with flows in flight: every
    tier waits it out (retries, no job error), and every flow finishes once it answers."""
    rig = Rig("herodb-everysec", tmp_path).start()
    try:
        before = rig.finished_count()
        flows = rig.submit(3)
        rig.wait_running(flows, under_way(flows))
        rig.store.pause()
        time.sleep(10)                          # the fault itself lasts 10 s
        t0 = time.monotonic()
        rig.store.resume()
        outcome = report(rig.outcome("SIGSTOP herodb 10 s, SIGCONT", flows, t0, before))
        assert outcome.lost == 0 and outcome.stuck == 0, outcome.line()
        assert outcome.settled_once, outcome.line()
        assert outcome.recovery_s < 30, outcome.line()
    finally:
        rig.stop()
