"""Placement (issue 12.5/12.6): where each job runs, and which flows are refused at submit
time. The decision is a pure function, tested with a table; then the real submit path."""
from __future__ import annotations

import pytest
import redis

from herocelery.coordinator.placement import Want, live_kinds, node_order, other_databases, place
from herocelery.errors import FlowError, NotRunning
from herocelery.flow import Flow

NODES = ["node1", "node2"]
SEED = {"node1": {"supervisor", "python", "shell"},
        "node2": {"supervisor", "rhai", "heroscript", "osis"}}


@pytest.mark.parametrize("wants,live,expected", [
    # no node: the first node (in order) with the runner type
    ([Want("a", "python"), Want("b", "rhai"), Want("c", "heroscript")], SEED,
     {"a": "node1", "b": "node2", "c": "node2"}),
    # a type both nodes have goes to the first
    ([Want("a", "python")], {"node1": {"supervisor", "python"},
                             "node2": {"supervisor", "python"}}, {"a": "node1"}),
    # the first node has the type but no supervisor: the next one
    ([Want("a", "python")], {"node1": {"python"}, "node2": {"supervisor", "python"}},
     {"a": "node2"}),
    # an explicit node is kept when it serves the type
    ([Want("a", "python", "node1"), Want("b", "osis", "node2")], SEED,
     {"a": "node1", "b": "node2"}),
])
def test_jobs_go_to_a_node_that_has_their_runner(wants, live, expected):
    assert place(wants, NODES, live) == expected


@pytest.mark.parametrize("wants,live,error,words", [
    # the etl.heroscript case under `up --nodes 1`: nobody runs rhai
    ([Want("double", "rhai")], {"node1": SEED["node1"]}, NotRunning,
     ["job 'double'", "no node runs a live 'rhai' runner", "node1",
      "herocelery runner start rhai --node node1"]),
    # an explicit node that lacks the type
    ([Want("x", "rhai", "node1")], SEED, NotRunning,
     ["job 'x'", "node 'node1' has no live 'rhai' runner",
      "herocelery runner start rhai --node node1"]),
    # an explicit node without a supervisor
    ([Want("x", "python", "node2")], {"node1": SEED["node1"], "node2": {"python"}},
     NotRunning, ["node 'node2' has no live supervisor",
                  "herocelery supervisor start --node node2 --manage --runners python"]),
    # nothing runs at all (e.g. a broker URL pointing at the wrong database)
    ([Want("a", "python")], {}, NotRunning,
     ["no supervisor is running on any node", "herocelery up"]),
    # a node nobody knows
    ([Want("a", "python", "nowhere")], SEED, FlowError,
     ["unknown node 'nowhere'", "node1, node2"]),
])
def test_a_flow_nothing_would_run_is_refused_with_the_fix(wants, live, error, words):
    with pytest.raises(error) as exc:
        place(wants, NODES, live, flow="etl")
    text = str(exc.value)
    assert text.startswith("flow 'etl', job") and "\n" not in text
    for w in words:
        assert w in text


def test_node_order_and_which_workers_count():
    assert node_order(["node1", "node2"], ["node3", "node1", "a"]) == \
        ["node1", "node2", "a", "node3"]
    entries = {"node1": [{"runner": "supervisor", "broker_db": 1},
                         {"runner": "python", "broker_db": 7}, {"runner": "shell"}]}
    assert live_kinds(entries, 1) == {"node1": {"supervisor", "shell"}}
    assert other_databases(entries, 1) == [7]


# ---- the real submit path ----------------------------------------------------------------
def _sizes(hero_settings) -> dict[str, int]:
    """Records of the default context and the supervisor's queue."""
    base = hero_settings.broker_url.rsplit("/", 1)[0]
    return {"records": redis.Redis.from_url(f"{base}/4").dbsize(),
            "queue": redis.Redis.from_url(hero_settings.broker_url).llen("supervisor.node1")}


def test_a_runner_type_nobody_runs_is_refused_at_submit_and_nothing_is_stored(
        cluster, hero_settings):
    before = _sizes(hero_settings)
    f = Flow("norunner")
    f.job("r", runner="rhai", script="40 + 2")
    f.job("next", after="r", script="result = 1")
    with pytest.raises(NotRunning, match="no node runs a live 'rhai' runner") as exc:
        f.submit(hero_settings)
    assert "herocelery runner start rhai --node node1" in str(exc.value)
    assert _sizes(hero_settings) == before


def test_a_broker_url_with_the_wrong_database_is_refused_and_says_so(cluster, hero_settings):
    """Issue 12.5: the broker URL without /1 reaches the same store (and its heartbeats),
    but not the queues the workers consume."""
    wrong = hero_settings.with_(broker_url=hero_settings.broker_url.rsplit("/", 1)[0])
    before = _sizes(hero_settings)
    queued = redis.Redis.from_url(wrong.broker_url)
    f = Flow("wrongdb")
    f.job("a", script="result = 1")
    with pytest.raises(NotRunning) as exc:
        f.submit(wrong)
    text = str(exc.value)
    assert "no supervisor" in text and "consume broker database 1, not 0" in text
    assert _sizes(hero_settings) == before                    # nothing stored
    assert queued.llen("supervisor.node1") == 0               # nothing queued where it went
    queued.close()
