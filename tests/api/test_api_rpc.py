"""The JSON-RPC API and the Python client against a real server, store and workers."""
from __future__ import annotations

import json
import threading
import urllib.request

import pytest
from support import wait_for

from herocelery.client import ApiError, HeroClient

ETL = """
name: etl
jobs:
  extract: {runner: python, script: "print('extracting'); result = [1, 2, 3]"}
  double:
    after: [extract]
    script: |
      result = [x * 2 for x in inputs["extract"]]
"""


def raw_post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url + "/rpc", data=body, method="POST",
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_submit_yaml_runs_the_flow_and_results_are_readable(api):
    hc = HeroClient(api.url)
    out = hc.submit(ETL)
    assert out["name"] == "etl" and out["jobs"] == 2
    assert hc.wait(out["flow_id"], timeout=60) == "finished"
    status = hc.flow_status(out["flow_id"])
    jobs = status["jobs"]
    assert {n: j["status"] for n, j in jobs.items()} == {"extract": "finished",
                                                         "double": "finished"}
    assert hc.job_result(jobs["double"]["id"])["result"] == [2, 4, 6]
    assert "extracting" in hc.job_logs(jobs["extract"]["id"])
    assert out["flow_id"] in [f["id"] for f in hc.flows()]


def test_submit_a_mapping_and_read_its_graph(api):
    hc = HeroClient(api.url)
    flow = {"name": "diamond", "jobs": {
        "a": {"script": "result = 1"},
        "b": {"script": "result = 2", "after": ["a"]},
        "c": {"script": "result = 3", "after": ["a"]},
        "d": {"script": "result = 4", "after": ["b", "c"]}}}
    fid = hc.submit(flow)["flow_id"]
    g = hc.graph(fid)
    assert {n["name"]: n["layer"] for n in g["nodes"]} == {"a": 0, "b": 1, "c": 1, "d": 2}
    assert sorted(map(tuple, g["edges"])) == [("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")]
    assert hc.wait(fid, 60) == "finished"


def test_bad_params_name_the_field(api):
    hc = HeroClient(api.url)
    with pytest.raises(ApiError) as e:
        hc.call("flow.status", {})
    assert e.value.code == -32602 and "flow_id" in str(e.value)
    with pytest.raises(ApiError) as e:
        hc.call("flow.list", {"limit": "many"})
    assert e.value.code == -32602 and "'limit'" in str(e.value)
    with pytest.raises(ApiError) as e:
        hc.call("flow.list", {"limt": 3})
    assert "unknown param" in str(e.value) and "limt" in str(e.value)


def test_bad_flows_are_refused_with_a_clear_message(api):
    hc = HeroClient(api.url)
    with pytest.raises(ApiError) as e:
        hc.submit("name: bad\njobs:\n  a: {script: 'x', after: [zzz]}\n")
    assert e.value.code == -32002 and "zzz" in str(e.value)
    with pytest.raises(ApiError) as e:
        hc.submit("name: [unclosed\n")
    assert e.value.code == -32002 and "line" in str(e.value)
    with pytest.raises(ApiError) as e:
        hc.submit({"name": "c", "jobs": {"a": {"script": "x", "after": ["b"]},
                                         "b": {"script": "y", "after": ["a"]}}})
    assert "cycle" in str(e.value)


def test_unknown_ids_and_methods(api):
    hc = HeroClient(api.url)
    with pytest.raises(ApiError) as e:
        hc.flow_status("nope")
    assert e.value.code == -32001 and "nope" in str(e.value)
    for ghost in ("77-" + "0" * 32, "4-" + "0" * 32):  # no context's database / no record
        with pytest.raises(ApiError) as e:
            hc.flow_status(ghost)
        assert e.value.code == -32001 and ghost in str(e.value)
    with pytest.raises(ApiError) as e:
        hc.call("job.logs", {"job_id": "77-x"})
    assert e.value.code == -32001 and "77-x" in str(e.value)
    with pytest.raises(ApiError) as e:
        hc.call("flow.explode")
    assert e.value.code == -32601 and "flow.explode" in str(e.value)


def test_protocol_errors(api):
    code, body = raw_post(api.url, b"{not json")
    assert code == 400 and body["error"]["code"] == -32700
    code, body = raw_post(api.url, b'{"id": 1, "method": "flow.list"}')
    assert body["error"]["code"] == -32600
    code, body = raw_post(api.url, json.dumps([
        {"jsonrpc": "2.0", "id": 1, "method": "flow.list", "params": {"limit": 1}},
        {"jsonrpc": "2.0", "id": 2, "method": "nope"}]).encode())
    assert [r["id"] for r in body] == [1, 2]
    assert "result" in body[0] and body[1]["error"]["code"] == -32601
    req = urllib.request.Request(api.url + "/rpc", method="POST", data=json.dumps(
        {"jsonrpc": "2.0", "method": "flow.list"}).encode(),
        headers={"Content-Type": "application/json; charset=utf-8"})
    with urllib.request.urlopen(req, timeout=10) as resp:   # a notification: no reply body
        assert resp.status == 204
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        code, body = raw_post(api.url, b'{"jsonrpc": "2.0", "id": 1, "method": "flow.list"}',
                              {"Content-Type": content_type})
        assert code == 415 and body["error"]["code"] == -32600
        assert "Content-Type: application/json" in body["error"]["message"]
        assert content_type in body["error"]["message"]


def test_discover_lists_every_method_with_params(api):
    doc = HeroClient(api.url).discover()
    assert doc["openrpc"].startswith("1.")
    names = {m["name"] for m in doc["methods"]}
    assert {"flow.submit", "flow.status", "flow.list", "flow.cancel", "flow.retry",
            "flow.graph", "job.status", "job.result", "job.logs", "runner.list",
            "rpc.discover"} <= names
    status = next(m for m in doc["methods"] if m["name"] == "flow.status")
    assert status["params"][0]["name"] == "flow_id" and status["params"][0]["required"]


def test_cancel_and_retry(api):
    hc = HeroClient(api.url)
    fid = hc.submit({"name": "slow", "jobs": {
        "sleep": {"script": "import time; time.sleep(30); result = 1"},
        "after": {"script": "result = 2", "after": ["sleep"]}}})["flow_id"]
    wait_for(lambda: hc.flow_status(fid)["jobs"]["sleep"]["status"] == "started", 20,
             what="the slow job to start")
    assert sorted(hc.cancel(fid)) == ["after", "sleep"]
    assert hc.wait(fid, 20) == "cancelled"
    with pytest.raises(ApiError) as e:
        hc.cancel(fid)
    assert "already ended" in str(e.value)
    fid2 = hc.submit({"name": "flaky", "jobs": {
        "a": {"script": "raise SystemExit(3)"}, "b": {"script": "result = 1"}}})["flow_id"]
    assert hc.wait(fid2, 60) == "error"
    assert hc.retry(fid2) == ["a"]


def test_runner_list_shows_the_workers(api):
    nodes = HeroClient(api.url).runners()
    types = {e["runner"] for e in nodes["node1"]["registered"] if e["alive"]}
    assert {"supervisor", "python", "shell"} <= types


def test_events_stream_the_status_changes_of_a_flow(api):
    hc = HeroClient(api.url)
    seen: list[dict] = []
    subscribed = threading.Event()

    def listen() -> None:
        for ev in HeroClient(api.url).events(None, timeout_s=30, on_open=subscribed.set):
            seen.append(ev)
            if ev.get("type") == "flow" and ev.get("flow_id") in flow_ids:
                return
    flow_ids: list[str] = []
    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert subscribed.wait(10), "the event stream did not open"
    fid = hc.submit(ETL)["flow_id"]
    flow_ids.append(fid)
    t.join(30)
    mine = [e for e in seen if e.get("flow_id") == fid]
    names = {j["id"]: n for n, j in hc.flow_status(fid)["jobs"].items()}
    job_events = [(names[e["job_id"]], e["status"]) for e in mine if e["type"] == "job"]
    assert ("extract", "started") in job_events and ("double", "finished") in job_events
    assert job_events.index(("extract", "finished")) < job_events.index(("double", "started"))
    assert mine[-1] == {**mine[-1], "type": "flow", "status": "finished"}


def test_metrics_count_jobs_queues_and_runners(api):
    hc = HeroClient(api.url)
    fid = hc.submit(ETL)["flow_id"]
    assert hc.wait(fid, 60) == "finished"
    text = hc.metrics()
    lines = text.splitlines()
    finished = [line for line in lines
                if line.startswith('herocelery_jobs_total{runner="python",status="finished"}')]
    assert finished and int(finished[0].split()[-1]) >= 2
    assert any(line.startswith('herocelery_job_duration_seconds_bucket{runner="python",le="+Inf"}')
               for line in lines)
    assert 'herocelery_queue_depth{node="node1",queue="runner.node1.python"}' in text
    assert 'herocelery_runner_up{node="node1",runner="python"} 1' in text


def test_a_keyed_server_refuses_missing_and_wrong_keys(keyed_api):
    with pytest.raises(ApiError) as e:
        HeroClient(keyed_api.url).flows()
    assert e.value.code == -32003 and "missing API key" in str(e.value)
    with pytest.raises(ApiError) as e:
        HeroClient(keyed_api.url, api_key="wrong").flows()
    assert e.value.code == -32003
    assert isinstance(HeroClient(keyed_api.url, api_key="s3cret").flows(), list)
    code, body = raw_post(keyed_api.url, json.dumps(
        {"jsonrpc": "2.0", "id": "req-7", "method": "flow.list"}).encode())
    assert code == 401 and body["id"] == "req-7"          # the error names the request
    assert body["error"]["code"] == -32003 and "missing API key" in body["error"]["message"]
    code, body = raw_post(keyed_api.url, json.dumps(
        [{"jsonrpc": "2.0", "id": 1, "method": "flow.list"},
         {"jsonrpc": "2.0", "method": "flow.list"},                  # a notification
         {"jsonrpc": "2.0", "id": 3, "method": "flow.status"}]).encode(),
        {"Authorization": "Bearer wrong"})
    assert code == 401 and [r["id"] for r in body] == [1, 3]
    assert {r["error"]["code"] for r in body} == {-32003}
    req = urllib.request.Request(keyed_api.url + "/metrics")
    with pytest.raises(urllib.error.HTTPError) as he:
        urllib.request.urlopen(req, timeout=5)
    assert he.value.code == 401


def test_binding_beyond_loopback_without_a_key_is_refused(hero_settings, tmp_path):
    import subprocess
    import sys
    env = {**hero_settings.to_env(), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-m", "herocelery", "api", "serve", "--host",
                          "0.0.0.0", "--port", "0"], env=env, capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 2
    assert "API key is required" in out.stderr and "Traceback" not in out.stderr
