"""Contexts and API keys through the API (the contexts room): keys with scopes, context ACLs
deciding who reads, submits, cancels; revoked keys refused. Own redis-server, so the keys
created here do not lock the session's other tests out."""
from __future__ import annotations

import pytest
from support import start_redis_server

from herocelery.client import ApiError, HeroClient
from herocelery.settings import Settings

pytest.importorskip("herocelery.contexts")

from apiproc import start_api  # noqa: E402

FORBIDDEN, UNAUTHORIZED = -32004, -32003


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    redis_server = start_redis_server()
    settings = Settings.load(env={}, broker_url=redis_server.url + "/1",
                             data_dir=tmp_path_factory.mktemp("access"), heartbeat_s=0.5,
                             concurrency=1)
    # submit refuses a flow no live worker would run (issue 12.5): a supervisor and a python
    # runner, started while the installation has no keys yet (single-user)
    from herocelery.launcher import Cluster
    cluster = Cluster(settings, {"node1": ["python"]},
                      tmp_path_factory.mktemp("access-workers")).start(120)
    proc = start_api(settings, tmp_path_factory.mktemp("access-api") / "api.log")
    yield proc.url, settings.store_url()
    proc.stop()
    cluster.stop()
    redis_server.stop()


def test_keys_contexts_and_permissions(server):
    server, store_url = server
    local = HeroClient(server)
    root_key = local.call("key.create", {"name": "root", "scope": "admin"})["api_key"]
    with pytest.raises(ApiError) as e:          # keys exist now: no key, no entry
        local.flows()
    assert e.value.code == UNAUTHORIZED
    root = HeroClient(server, api_key=root_key)
    team = root.call("context.create", {"name": "team", "executors": ["alice"]})
    assert team["executors"] == ["alice"] and "access_key" not in team
    alice = HeroClient(server, api_key=root.call("key.create", {"name": "alice"})["api_key"])
    bob = HeroClient(server, api_key=root.call("key.create", {"name": "bob"})["api_key"])

    fid = alice.submit({"name": "teamwork", "context": "team",
                        "jobs": {"a": {"script": "result = 1"}}})["flow_id"]
    assert alice.flow_status(fid)["context_id"] == "team"
    assert fid in [f["id"] for f in alice.flows()]
    assert fid not in [f["id"] for f in bob.flows()]
    for call in (lambda: bob.flow_status(fid), lambda: bob.graph(fid),
                 lambda: bob.cancel(fid)):
        with pytest.raises(ApiError) as e:
            call()
        assert e.value.code == FORBIDDEN and "bob" in str(e.value)
    job_id = alice.flow_status(fid)["jobs"]["a"]["id"]
    with pytest.raises(ApiError) as e:
        bob.job_logs(job_id)
    assert e.value.code == FORBIDDEN
    with pytest.raises(ApiError) as e:
        bob.submit({"name": "intrude", "context": "team", "jobs": {"a": {"script": "x"}}})
    assert e.value.code == FORBIDDEN
    _events_are_filtered_by_context(store_url, root, alice, bob, fid)
    assert alice.cancel(fid) == ["a"]

    with pytest.raises(ApiError) as e:
        alice.call("key.create", {"name": "mallory"})
    assert e.value.code == FORBIDDEN
    assert [c["name"] for c in alice.call("context.list")["contexts"]] == ["team"]
    root.call("context.grant", {"name": "team", "caller": "bob", "role": "reader"})
    assert bob.flow_status(fid)["status"] == "cancelled"
    names = [k["name"] for k in root.call("key.list")["keys"]]
    assert names == ["alice", "bob", "root"]
    root.call("key.revoke", {"name": "bob"})
    with pytest.raises(ApiError) as e:
        bob.flows()
    assert e.value.code == UNAUTHORIZED
    with pytest.raises(ApiError) as e:
        root.call("context.grant", {"name": "team", "caller": "x", "role": "owner"})
    assert e.value.code == -32602 and "'role'" in str(e.value)


def _events_are_filtered_by_context(store_url, root, alice, bob, fid) -> None:
    """bob may not open the flow's stream; alice's stream of every flow skips the flow of a
    context she may not read."""
    import json
    import threading

    import redis

    from herocelery.keys import Keys
    with pytest.raises(ApiError):
        next(bob.events(fid, timeout_s=5))           # 403: bob may not read the flow
    root.call("context.create", {"name": "secret"})
    hidden = root.submit({"name": "hidden", "context": "secret",
                          "jobs": {"h": {"script": "result = 0"}}})["flow_id"]
    seen: list[dict] = []
    opened = threading.Event()

    def listen() -> None:
        for ev in alice.events(None, timeout_s=10, on_open=opened.set):
            seen.append(ev)
            if ev.get("marker") == "last":
                return
    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert opened.wait(10)
    r = redis.Redis.from_url(store_url)
    try:
        r.publish(Keys.events(hidden), json.dumps({"type": "flow", "flow_id": hidden}))
        r.publish(Keys.events(fid), json.dumps({"type": "flow", "flow_id": fid,
                                                "marker": "last"}))
    finally:
        r.close()
    t.join(10)
    assert [e["flow_id"] for e in seen] == [fid]
