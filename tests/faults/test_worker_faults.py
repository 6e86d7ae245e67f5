"""Processes die (kill -9 of the whole process group) or the store stops answering while flows
run: every flow finishes, no job is lost or stuck, each job settles exactly once (issue 13.3,
19.6). One rig on redis-server for all the cases; each case leaves it whole again."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from rig import Rig
from support import env_without_herocelery, wait_for

pytestmark = pytest.mark.faults


@pytest.fixture(scope="module")
def rig(tmp_path_factory):
    r = Rig("redis", tmp_path_factory.mktemp("worker-faults")).start()
    yield r
    r.stop()


def long_jobs_running(flows):
    def check(seen):
        return all((fid, "long2") in seen for fid in flows)
    return check


def check(outcome, *, max_recovery_s: float = 60.0):
    assert outcome.lost == 0, outcome.line()
    assert outcome.stuck == 0, outcome.line()
    assert outcome.settled_once, outcome.line()
    assert outcome.recovery_s < max_recovery_s, outcome.line()


def test_kill9_of_a_runner_worker_reruns_its_jobs_within_seconds(rig, report):
    before = rig.finished_count()
    flows = rig.submit(3)
    rig.wait_running(flows, long_jobs_running(flows))
    pid = rig.runner_pid()
    t0 = time.monotonic()
    os.killpg(pid, signal.SIGKILL)                  # the worker, its pool, its zygote
    outcome = report(rig.outcome("kill -9 runner worker", flows, t0, before))
    check(outcome, max_recovery_s=45)
    assert outcome.duplicated >= 1                  # the killed in-flight jobs ran again
    rig.wait_ready()


def test_kill9_of_the_supervisor_worker(rig, report):
    before = rig.finished_count()
    flows = rig.submit(3)
    rig.wait_running(flows, lambda seen: sum(1 for k in seen if k[0] in flows) >= 60)
    t0 = time.monotonic()
    rig.kill9("supervisor")                          # its runners get SIGTERM and drain
    rig.start_supervisor()                           # what a process manager does
    outcome = report(rig.outcome("kill -9 supervisor worker", flows, t0, before))
    check(outcome, max_recovery_s=60)
    rig.wait_ready()


SUBMITTER = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path[:0] = [{tests!r}, {support!r}]
    from rig import submit_flows
    from herocelery.settings import Settings
    submit_flows(Settings.load(), Path({effects!r}), 50, short=20, long_s=(1,),
                 on_submit=lambda fid: print(fid, flush=True))
""")


def test_kill9_of_the_coordinator_side_mid_submit(rig, report):
    """The coordinator side (a process submitting flows, and the reconciler) dies: what it
    stored still runs; flows in flight go on; the restarted reconciler picks up the rest."""
    before = rig.finished_count()
    flows = rig.submit(2)
    rig.wait_running(flows, lambda seen: sum(1 for k in seen if k[0] in flows) >= 20)
    env = {**env_without_herocelery(), **rig.settings.to_env()}
    here = os.path.dirname(os.path.abspath(__file__))
    code = SUBMITTER.format(tests=here, support=os.path.dirname(here),
                            effects=str(rig.effects))
    started = time.time()
    submitter = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL, start_new_session=True, text=True)
    submitted = [submitter.stdout.readline().strip() for _ in range(3)]
    t0 = time.monotonic()
    os.killpg(submitter.pid, signal.SIGKILL)        # mid-way through its submissions
    rig.kill9("reconciler")
    out, _ = submitter.communicate()
    submitted += [line.strip() for line in out.splitlines() if line.strip()]
    with rig.client() as s:                          # a flow it stored but did not print
        stored = [f.id for f in s.flows(500) if f.created_at >= started and
                  f.id not in flows and f.id not in submitted]
    time.sleep(1.0)                                  # the coordinator side stays dead a while
    rig.start_reconciler()
    outcome = report(rig.outcome("kill -9 coordinator side", flows + submitted + stored, t0,
                                 before))
    check(outcome)
    rig.wait_ready()


def test_store_paused_10s_then_resumed(rig, report):
    before = rig.finished_count()
    flows = rig.submit(3)
    rig.wait_running(flows, long_jobs_running(flows))
    rig.store.pause()                                # SIGSTOP: everything hangs on it
    time.sleep(10)                                   # the fault itself lasts 10 s
    t0 = time.monotonic()
    rig.store.resume()
    outcome = report(rig.outcome("SIGSTOP store 10 s, SIGCONT", flows, t0, before))
    check(outcome, max_recovery_s=30)
    rig.wait_ready()


def test_a_burst_of_20_flows_of_101_jobs_while_a_runner_is_killed(rig, report):
    """issue 19.6: 20 flows x 101 jobs at once ended 19 flows `error` (busy runners declared
    dead while long jobs held them); now all finish, each flow with a long job among its
    101, even with the runner killed in the middle of the burst."""
    before = rig.finished_count()
    flows = rig.submit(20, short=98, long_s=(4,))     # root, 98 short, 1 long, sink
    wait_for(lambda: sum(1 for k in rig.effects_seen() if k[0] in flows) >= 300, 120,
             what="the burst to be under way")
    t0 = time.monotonic()
    os.killpg(rig.runner_pid(), signal.SIGKILL)
    outcome = report(rig.outcome("burst 20x101 + kill -9 runner", flows, t0, before,
                                 timeout=300))
    check(outcome, max_recovery_s=240)
    rig.wait_ready()
