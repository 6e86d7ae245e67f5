"""The API's pure decisions, by tables: auth rules, param errors, DAG layers, metrics text."""
from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from herocelery.api.auth import Unauthorized, bearer, check_key, is_loopback, require_safe_bind
from herocelery.api.methods import METHODS, layers, spec_from_param
from herocelery.api.metrics import queue_keys, render_jobs
from herocelery.api.openrpc import document
from herocelery.api.rpc import Method, call_one, dispatch
from herocelery.errors import ConfigError, FlowError, NotFound


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.5.0.1", True), ("::1", True),
                                       ("localhost", True), ("0.0.0.0", False),
                                       ("10.0.0.2", False), ("example.com", False)])
def test_loopback(host, loop):
    assert is_loopback(host) is loop


def test_binding_beyond_loopback_needs_a_key():
    require_safe_bind("127.0.0.1", None)
    require_safe_bind("0.0.0.0", "k")
    with pytest.raises(ConfigError, match="API key is required"):
        require_safe_bind("0.0.0.0", None)


@pytest.mark.parametrize("header,token", [("Bearer abc", "abc"), ("bearer  abc ", "abc"),
                                          ("Basic abc", None), ("Bearer", None), (None, None),
                                          ("", None)])
def test_bearer(header, token):
    assert bearer(header) == token


def test_check_key():
    assert check_key(None, None) == "local"
    assert check_key("k", "k") == "api"
    with pytest.raises(Unauthorized, match="missing"):
        check_key("k", None)
    with pytest.raises(Unauthorized, match="refused"):
        check_key("k", "x")


@pytest.mark.parametrize("after,expected", [
    ({"a": []}, {"a": 0}),
    ({"a": [], "b": ["a"], "c": ["b"]}, {"a": 0, "b": 1, "c": 2}),
    ({"a": [], "b": [], "c": ["a", "b"], "d": ["b"]}, {"a": 0, "b": 0, "c": 1, "d": 1}),
    ({"a": [], "b": ["a"], "c": ["a", "b"]}, {"a": 0, "b": 1, "c": 2}),
])
def test_layers(after, expected):
    assert layers(after) == expected


class P(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow_id: str
    limit: int = 3


def echo(backend, p):
    if p.flow_id == "missing":
        raise NotFound("no flow with id 'missing'")
    if p.flow_id == "bug":
        raise RuntimeError("secret internals")
    if p.flow_id == "down":
        import redis
        raise redis.ConnectionError("Connection refused")
    return {"flow_id": p.flow_id, "limit": p.limit}


TABLE = {"t.echo": Method("t.echo", P, echo, "echo")}


@pytest.mark.parametrize("request_,expected", [
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": {"flow_id": "x"}},
     {"result": {"flow_id": "x", "limit": 3}}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": ["x", 5]},
     {"result": {"flow_id": "x", "limit": 5}}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": ["x", 5, 6]},
     {"code": -32602, "message": "t.echo: takes at most 2 positional params"}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": {}},
     {"code": -32602, "message": "t.echo: param 'flow_id': missing"}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": {"flow_id": "x", "lim": 1}},
     {"code": -32602, "message": "t.echo: param 'lim': unknown param"}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": "x"},
     {"code": -32602, "message": "t.echo: params must be an object or an array"}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": {"flow_id": "missing"}},
     {"code": -32001, "message": "no flow with id 'missing'"}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": {"flow_id": "bug"}},
     {"code": -32603, "message": "t.echo: internal error (see the API server's log)"}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.echo", "params": {"flow_id": "down"}},
     {"code": -32000, "message": "t.echo: the job store could not be reached"}),
    ({"jsonrpc": "1.0", "id": 1, "method": "t.echo"}, {"code": -32600}),
    ({"jsonrpc": "2.0", "id": 1, "method": "t.nope"}, {"code": -32601}),
])
def test_call_one(request_, expected):
    reply = call_one(TABLE, None, request_)
    assert reply["jsonrpc"] == "2.0" and reply["id"] == 1
    if "result" in expected:
        assert reply["result"] == expected["result"]
        return
    assert reply["error"]["code"] == expected["code"]
    assert reply["error"]["message"].startswith(expected.get("message", ""))
    assert "secret internals" not in reply["error"]["message"]


def test_notifications_and_batches():
    note = {"jsonrpc": "2.0", "method": "t.echo", "params": {"flow_id": "x"}}
    assert call_one(TABLE, None, note) is None
    assert dispatch(TABLE, None, [note]) is None
    assert dispatch(TABLE, None, [])["error"]["code"] == -32600
    out = dispatch(TABLE, None, [note, {"jsonrpc": "2.0", "id": 7, "method": "t.echo",
                                        "params": {"flow_id": "y"}}, 5])
    assert [r.get("id") for r in out] == [7, None] and out[1]["error"]["code"] == -32600


@pytest.mark.parametrize("text,fmt,name", [
    ("name: a\njobs:\n  j: {script: x}\n", "auto", "a"),
    ('{"name": "b", "jobs": {"j": {"script": "x"}}}', "auto", "b"),
    ("name: c\njobs:\n  j: {script: x}\n", "yaml", "c"),
])
def test_flow_param_formats(text, fmt, name):
    assert spec_from_param(text, fmt).name == name


def test_flow_param_errors_name_the_param():
    with pytest.raises(FlowError, match="param 'flow'"):
        spec_from_param("{not json", "auto")
    with pytest.raises(FlowError, match="param 'flow'.*job 'j'"):
        spec_from_param({"name": "x", "jobs": {"j": {"scrip": "x"}}}, "auto")


def test_openrpc_document_describes_every_method():
    doc = document(METHODS, version="1")
    names = [m["name"] for m in doc["methods"]]
    assert set(METHODS) | {"rpc.discover"} == set(names)
    submit = next(m for m in doc["methods"] if m["name"] == "flow.submit")
    assert [p["name"] for p in submit["params"]] == ["flow", "format"]
    assert submit["params"][0]["required"] and not submit["params"][1]["required"]


def test_kombu_priority_queues_are_counted():
    assert queue_keys("runner.n.python") == ["runner.n.python", "runner.n.python\x06\x163",
                                             "runner.n.python\x06\x166",
                                             "runner.n.python\x06\x169"]


def test_histogram_is_cumulative_and_counts_match():
    counters = {"jobs|python|finished": 3, "jobs|shell|error": 1, "dur|python|0.01": 1,
                "dur|python|1.0": 1, "dur|python|+Inf": 1, "dursum_us|python": 1_500_000}
    text = "\n".join(render_jobs(counters))
    assert 'herocelery_jobs_total{runner="python",status="finished"} 3' in text
    assert 'herocelery_jobs_total{runner="shell",status="error"} 1' in text
    assert 'herocelery_job_duration_seconds_bucket{runner="python",le="0.01"} 1' in text
    assert 'herocelery_job_duration_seconds_bucket{runner="python",le="0.5"} 1' in text
    assert 'herocelery_job_duration_seconds_bucket{runner="python",le="1.0"} 2' in text
    assert 'herocelery_job_duration_seconds_bucket{runner="python",le="+Inf"} 3' in text
    assert 'herocelery_job_duration_seconds_count{runner="python"} 3' in text
    assert 'herocelery_job_duration_seconds_sum{runner="python"} 1.500000' in text


# ---- who may come without a key (api/local.py) ------------------------------------------------
@pytest.mark.parametrize("header,host", [("127.0.0.1:8780", "127.0.0.1"), ("[::1]:8780", "::1"),
                                         ("localhost", "localhost"), ("evil.example:80",
                                                                      "evil.example"),
                                         ("::1", "::1"), (None, "")])
def test_host_of(header, host):
    from herocelery.api.local import host_of
    assert host_of(header) == host


@pytest.mark.parametrize("host,loop", [("127.0.0.1", True), ("127.9.9.9", True), ("::1", True),
                                       ("::ffff:127.0.0.1", True), ("LOCALHOST.", True),
                                       ("evil.example", False), ("10.0.0.1", False),
                                       ("", False), ("localhost.evil.example", False)])
def test_loopback_names(host, loop):
    from herocelery.api.local import is_loopback_name
    assert is_loopback_name(host) is loop


def test_foreign_origins_and_content_types():
    from herocelery.api.local import foreign_origin, json_content_type
    own = ("http", "127.0.0.1:8780")
    assert not foreign_origin(None, *own, ())
    assert not foreign_origin("http://127.0.0.1:8780", *own, ())
    assert foreign_origin("http://127.0.0.1:9999", *own, ())          # another port
    assert foreign_origin("http://evil.example", *own, ())
    assert foreign_origin("null", *own, ())                          # a sandboxed frame
    assert not foreign_origin("https://app.example/", *own, ("https://app.example",))
    assert json_content_type("application/json; charset=utf-8")
    assert not json_content_type("text/plain") and not json_content_type(None)


def test_keyless_verdicts():
    from herocelery.api.local import keyless
    ok = dict(host_ok=True, user_ok=True, uid=1000, session=None, session_ok=False,
              browser=False, host="127.0.0.1")
    assert keyless(**ok).kind == "program"
    assert keyless(**{**ok, "browser": True}).kind == "refused"
    assert keyless(**{**ok, "session": "t", "session_ok": True, "browser": True}).kind == \
        "session"
    assert "reload" in keyless(**{**ok, "session": "t"}).reason
    assert "Host header" in keyless(**{**ok, "host_ok": False, "host": "evil"}).reason
    assert "uid 1000" in keyless(**{**ok, "user_ok": False}).reason


def test_peer_uid_of_a_real_loopback_connection():
    import os
    import socket

    from herocelery.api.local import is_local_user, peer_uid
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    try:
        assert peer_uid(client.getsockname(), server.getsockname()) == os.getuid()
        assert is_local_user(client.getsockname(), server.getsockname())
        assert peer_uid(("127.0.0.1", 1), server.getsockname()) is None   # no such socket
        assert not is_local_user(("10.0.0.1", 5), server.getsockname())
    finally:
        client.close()
        server.close()


def test_the_proc_fallback_finds_the_same_uid():
    """Where netlink is refused, /proc/net/tcp answers the same."""
    import os
    import socket

    from herocelery.api.local import _diag_uid, _proc_uid
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    client = socket.create_connection(server.getsockname())
    try:
        ends = (client.getsockname(), server.getsockname())
        assert _diag_uid(*ends) == _proc_uid(*ends, "/proc/net") == os.getuid()
        assert _proc_uid(("127.0.0.1", 1), server.getsockname(), "/proc/net") is None
    finally:
        client.close()
        server.close()
