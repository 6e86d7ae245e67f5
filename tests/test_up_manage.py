"""A supervisor managing its runners (`supervisor start --manage`): real worker processes,
restarts with backoff, `failed` past the limit, health from the worker loop's own reports (a
busy runner is not a dead one), clean stop."""
from __future__ import annotations

import os
import signal
import time

import pytest
from support import wait_for

from herocelery import launcher
from herocelery.flow import Flow
from herocelery.models import FlowStatus
from herocelery.store import Store
from herocelery.supervisor.manage import backoff_s, health, last_seen, node_runner_types

NODE = "mnode"


@pytest.mark.parametrize("restarts,expected", [(0, 0.5), (1, 1.0), (3, 4.0), (20, 30.0)])
def test_backoff_doubles_and_is_capped(restarts, expected):
    assert backoff_s(restarts, 0.5) == expected


@pytest.mark.parametrize("alive,started,pong,now,expected", [
    (False, 0, None, 1, "dead"),
    (True, 0, None, 5, "starting"),          # within the start-up grace
    (True, 0, None, 100, "dead"),            # never answered
    (True, 0, 99, 100, "running"),
    (True, 0, 90, 100, "dead"),              # stopped answering
])
def test_health_from_ping_history(alive, started, pong, now, expected):
    assert health(alive, started, pong, now, timeout_s=3, grace_s=30) == expected


@pytest.mark.parametrize("entry,before,expected", [
    (None, None, None),
    (None, 5.0, 5.0),                                          # no report: keep the last
    ({"consuming": True, "loop_at": 7.0}, 5.0, 7.0),
    ({"consuming": False, "loop_at": 7.0}, 5.0, 5.0),         # not consuming: not seen
    ({"consuming": True}, None, None),                         # registered, loop not yet up
])
def test_a_runner_is_seen_when_its_loop_reports_consuming(entry, before, expected):
    assert last_seen(entry, before) == expected


def test_the_seed_topology():
    assert node_runner_types(0) == ("python", "shell")
    assert node_runner_types(1) == ("rhai", "heroscript", "osis")


@pytest.fixture(scope="module")
def managed(hero_settings, tmp_path_factory):
    settings = hero_settings.with_(runner_restart_limit=2, runner_backoff_s=0.2,
                                   health_timeout_s=2.0, health_interval_s=0.3,
                                   nodes=(*hero_settings.nodes, NODE),
                                   data_dir=tmp_path_factory.mktemp("managed"))
    # started as `up` and `run` start a node's supervisor (the one orchestrator, launcher.py)
    sup = launcher.spawn("supervisor", NODE, launcher.supervisor_args(
        NODE, ["python", "nosuchtype"], runner_concurrency=1), settings,
        settings.data_dir / "supervisor.log", kind="supervisor")
    store = Store.from_url(settings.store_url())
    yield settings, sup, store
    sup.stop()
    store.close()


def state(store: Store, runner: str) -> dict:
    return store.runner_states(NODE).get(runner, {})


def test_runners_start_and_a_runner_that_keeps_dying_ends_failed(managed):
    settings, sup, store = managed
    wait_for(lambda: state(store, "python").get("state") == "running", 60,
             what="the python runner to report running")
    wait_for(lambda: state(store, "nosuchtype").get("state") == "failed", 60,
             what="the broken runner to be marked failed")
    broken = state(store, "nosuchtype")
    assert broken["restarts"] == 2 and "exited with code" in broken["reason"]
    assert broken["log"].endswith("runner-nosuchtype.log")


def test_a_killed_runner_is_restarted_and_jobs_still_run(managed):
    settings, sup, store = managed
    wait_for(lambda: state(store, "python").get("state") == "running", 60, what="running")
    before = state(store, "python")
    os.killpg(before["pid"], signal.SIGKILL)
    wait_for(lambda: state(store, "python").get("restarts") == before["restarts"] + 1, 30,
             what="a restart")
    wait_for(lambda: state(store, "python").get("state") == "running", 60,
             what="the restarted runner to report running")
    assert state(store, "python")["pid"] != before["pid"]
    f = Flow("on-managed")
    f.job("a", script="result = 41", node=NODE)
    f.job("b", after="a", script="result = inputs['a'] + 1", node=NODE)
    h = f.submit(settings)
    assert h.wait(60) is FlowStatus.finished and h.results["b"] == 42
    h.close()


def test_a_registered_runner_that_does_not_consume_shows_dead(managed):
    from herocelery.celeryapp import make_app
    from herocelery.keys import runner_queue
    settings, sup, store = managed
    wait_for(lambda: state(store, "python").get("state") == "running", 60, what="running")
    pid = state(store, "python")["pid"]   # a killed predecessor may still be registered
    worker = next(e["worker"] for e in store.runners(NODE)
                  if e["runner"] == "python" and e["pid"] == pid)
    app = make_app(settings)
    try:
        reply = app.control.cancel_consumer(runner_queue(NODE, "python"),
                                            destination=[worker], reply=True, timeout=5)
        assert reply and "no longer consuming" in str(reply)
        wait_for(lambda: state(store, "python").get("state") == "dead", 15,
                 what="the idle runner to show dead")
        assert "not consuming its queue" in state(store, "python")["reason"]
        # it still heartbeats: registered, alive by heartbeat, but dead: not consuming
        assert any(e["worker"] == worker for e in store.runners(NODE))
        app.control.add_consumer(runner_queue(NODE, "python"), destination=[worker],
                                 reply=True, timeout=5)
        wait_for(lambda: state(store, "python").get("state") == "running", 15,
                 what="the runner to answer again")
    finally:
        app.close()


def test_a_busy_runner_is_not_dead_and_later_jobs_wait_for_it(managed):
    """issue 19.6: the health ping queued behind long jobs, so a runner whose processes were
    all busy was declared dead and admission failed later jobs with AdmissionError."""
    settings, sup, store = managed
    wait_for(lambda: state(store, "python").get("state") == "running", 60, what="running")
    busy_s = 4 * settings.health_timeout_s
    busy = Flow("busy")            # the managed runner has one process (--runner-concurrency 1)
    busy.job("long", script=f"import time\ntime.sleep({busy_s})\nresult = 'slept'", node=NODE)
    hb = busy.submit(settings)
    wait_for(lambda: hb.jobs()["long"].status.value == "started", 30, what="the long job")
    seen, hl = set(), None
    started = time.monotonic()
    while time.monotonic() - started < busy_s - 1:     # sample the state while it is busy
        seen.add(state(store, "python").get("state"))
        if hl is None and time.monotonic() - started > 1.5 * settings.health_timeout_s:
            later = Flow("later")  # admitted while the only process is busy: it must wait
            later.job("quick", script="result = 'after the long one'", node=NODE)
            hl = later.submit(settings)
        time.sleep(0.1)
    assert seen == {"running"}
    assert hb.wait(30) is FlowStatus.finished
    assert hl is not None and hl.wait(30) is FlowStatus.finished
    assert hl.results["quick"] == "after the long one"
    log = (settings.data_dir / "logs" / NODE / "runner-python.log").read_text()
    assert "hero.run" in log and "hero.ping" not in log   # no health check travels as a task
    hb.close()
    hl.close()


def test_stopping_the_supervisor_stops_its_runners(managed):
    settings, sup, store = managed
    pid = state(store, "python")["pid"]
    os.kill(sup.pid, signal.SIGTERM)
    sup.popen.wait(30)
    wait_for(lambda: not _exists(pid), 15, what="the runner process to end")
    assert state(store, "python")["state"] == "stopped"


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie of an exited child still "exists"; its state in /proc says so
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False
