"""Pure decisions about a flow's graph, as tables of cases; no servers."""
from __future__ import annotations

import pytest

from herocelery import graph
from herocelery.errors import FlowError
from herocelery.flow.load import spec_from_mapping
from herocelery.models import FlowStatus
from herocelery.models import JobStatus as S

TYPES = ("python", "shell")


def spec(jobs: dict[str, list[str]], **extra: object):
    return spec_from_mapping({"name": "t", "jobs": {
        n: {"runner": "python", "script": "x", "after": a, **extra} for n, a in jobs.items()}},
        "test")


def check(s, **kw):
    return graph.validate(s, runner_types=kw.get("types", TYPES), max_jobs=kw.get("max_jobs", 100),
                          max_script_bytes=kw.get("max_script", 100))


@pytest.mark.parametrize("jobs, message", [
    ({"a": ["a"]}, "cycle between jobs a -> a"),
    ({"a": ["b"], "b": ["a"]}, "cycle between jobs"),
    ({"a": [], "b": ["a", "d"], "c": ["b"], "d": ["c"]}, "cycle between jobs"),
    ({"a": ["zz"]}, "job 'a', field 'after': unknown prerequisite 'zz'"),
    ({"a": [], "b": ["a", "a"]}, "job 'b', field 'after': 'a' listed twice"),
    ({}, "has no jobs"),
])
def test_invalid_graphs_are_refused_with_a_message_naming_the_problem(jobs, message):
    with pytest.raises(FlowError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check(spec(jobs))


def test_a_cycle_message_lists_every_job_in_it():
    with pytest.raises(FlowError) as err:
        check(spec({"a": ["c"], "b": ["a"], "c": ["b"], "free": []}))
    text = str(err.value)
    assert all(name in text for name in ("a", "b", "c")) and "free" not in text


def test_unknown_runner_and_oversized_script_name_job_and_field():
    s = spec_from_mapping({"name": "t", "jobs": {"a": {"runner": "ruby", "script": "x"}}}, "t")
    with pytest.raises(FlowError, match="job 'a', field 'runner': unknown runner type 'ruby'"):
        check(s)
    s = spec_from_mapping({"name": "t", "jobs": {"a": {"script": "x" * 101}}}, "t")
    with pytest.raises(FlowError, match="job 'a', field 'script': 101 bytes, over the limit"):
        check(s)
    with pytest.raises(FlowError, match="3 jobs, over the limit of 2"):
        check(spec({"a": [], "b": [], "c": []}), max_jobs=2)


@pytest.mark.parametrize("shape, jobs", [
    ("linear", {"a": [], "b": ["a"], "c": ["b"]}),
    ("fan-out", {"a": [], "b": ["a"], "c": ["a"], "d": ["a"]}),
    ("fan-in", {"a": [], "b": [], "c": [], "d": ["a", "b", "c"]}),
    ("diamond", {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"]}),
    ("N", {"a": [], "b": [], "c": ["a", "b"], "d": ["b"]}),
])
def test_valid_shapes_give_the_graph_of_their_edges(shape, jobs):
    g = check(spec(jobs))
    assert sorted(g.edges) == sorted((p, n) for n, a in jobs.items() for p in a)


AFTER_N = {"a": [], "b": [], "c": ["a", "b"], "d": ["b"]}


@pytest.mark.parametrize("statuses, expected", [
    ({"a": S.waiting_for_prerequisites, "b": S.waiting_for_prerequisites,
      "c": S.waiting_for_prerequisites, "d": S.waiting_for_prerequisites}, ["a", "b"]),
    ({"a": S.started, "b": S.finished, "c": S.waiting_for_prerequisites,
      "d": S.waiting_for_prerequisites}, ["d"]),
    ({"a": S.finished, "b": S.finished, "c": S.waiting_for_prerequisites,
      "d": S.started}, ["c"]),
    ({"a": S.error, "b": S.finished, "c": S.waiting_for_prerequisites,
      "d": S.finished}, []),
])
def test_ready_means_waiting_with_every_prerequisite_finished(statuses, expected):
    assert graph.ready(AFTER_N, statuses) == expected


def test_an_allowed_failure_releases_its_dependents():
    statuses = {"a": S.error, "b": S.finished, "c": S.waiting_for_prerequisites, "d": S.finished}
    assert graph.ready(AFTER_N, statuses, allowed_failures=["a"]) == ["c"]


def test_descendants_walks_the_whole_downstream_once():
    children = {"a": ["b", "c"], "b": ["d"], "c": ["d"], "d": ["e"], "e": []}
    assert graph.descendants(children, "a") == ["b", "c", "d", "e"]
    assert graph.descendants(children, "e") == []


@pytest.mark.parametrize("statuses, allowed, outcome", [
    ({"a": S.finished, "b": S.finished}, [], FlowStatus.finished),
    ({"a": S.error, "b": S.skipped}, [], FlowStatus.error),
    ({"a": S.error, "b": S.finished}, ["a"], FlowStatus.finished),
    ({"a": S.timeout, "b": S.finished}, [], FlowStatus.error),
    ({"a": S.cancelled, "b": S.finished}, [], FlowStatus.cancelled),
])
def test_flow_outcome(statuses, allowed, outcome):
    assert graph.flow_outcome(statuses, allowed) is outcome


def test_rerun_set_takes_failed_skipped_cancelled_and_their_downstream_only():
    children = {"a": ["c"], "b": ["c", "d"], "c": [], "d": [], "e": []}
    statuses = {"a": S.finished, "b": S.error, "c": S.skipped, "d": S.skipped, "e": S.finished}
    assert graph.rerun_set(children, statuses) == ["b", "c", "d"]
    statuses = {n: S.finished for n in children}
    assert graph.rerun_set(children, statuses) == []


def test_a_runner_is_usable_with_a_fresh_heartbeat_unless_its_manager_saw_it_dead():
    from herocelery.supervisor.registry import usable_types
    now = 1000.0
    beats = [{"runner": "python", "heartbeat": now - 1}, {"runner": "shell", "heartbeat": now - 1},
             {"runner": "rhai", "heartbeat": now - 60}, {"runner": "osis", "heartbeat": now - 1}]
    states = {"shell": {"state": "dead", "updated": now - 2},
              "osis": {"state": "dead", "updated": now - 300},     # stale verdict: ignored
              "python": {"state": "running", "updated": now - 1}}
    assert usable_types(beats, states, heartbeat_s=2.0, at=now) == ["osis", "python"]


@pytest.mark.parametrize("jobs, processes, size", [
    (1, 2, 1), (8, 2, 1), (9, 2, 1), (16, 2, 2), (64, 2, 8), (1000, 2, 8), (64, 16, 1),
    (64, 0, 1), (100, 3, 8),
])
def test_jobs_share_a_runner_message_only_when_they_outnumber_the_processes(jobs, processes,
                                                                          size):
    from herocelery.supervisor.registry import chunk_size
    assert chunk_size(jobs, processes) == size
