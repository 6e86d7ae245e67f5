"""The clients on their own (issue 12.8): `HeroClient()` with no arguments finds this
machine's installation (its API and its admin key, HEROCELERY_API_KEY first), and the
JavaScript client, events included, runs in the machine's Node.js against a real server."""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from apiproc import start_api
from support import start_redis_server

from herocelery.client import ApiError, HeroClient

ROOT = Path(__file__).resolve().parents[2]
CLIENT_JS = ROOT / "herocelery" / "leaf" / "client.js"


@pytest.fixture(scope="module")
def installation(tmp_path_factory):
    """An installation with API keys and its local admin key in the data directory (what
    `herocelery run` leaves), its API on loopback; own redis-server (keys lock others out)."""
    from herocelery.contexts.registry import Registry, embedded_admin_key
    from herocelery.settings import Settings
    from herocelery.store import Store
    server = start_redis_server()
    data = tmp_path_factory.mktemp("client-data")
    settings = Settings.load(env={}, broker_url=server.url + "/1", data_dir=data)
    store = Store.from_url(settings.store_url())
    key = embedded_admin_key(Registry(store.r, settings), data / "admin.key")
    store.close()
    # submit refuses a flow no live worker would run (issue 12.5): a supervisor and a runner
    from herocelery.launcher import Cluster
    workers = Cluster(settings.with_(api_key=key, heartbeat_s=0.5, concurrency=1),
                      {"node1": ["python"]}, tmp_path_factory.mktemp("client-workers")).start(120)
    api = start_api(settings, tmp_path_factory.mktemp("client-api") / "api.log")
    yield data, api, key, settings
    api.stop()
    workers.stop()
    server.stop()


def client_in_subprocess(env: dict[str, str], cwd: Path) -> dict:
    """`HeroClient()` in a fresh process with only `env` set: where it went, who it was."""
    code = """
import json
from herocelery.client import HeroClient, ApiError
hc = HeroClient()
try:
    fid = hc.submit({"name": "found", "jobs": {"a": {"script": "result = 1"}}})["flow_id"]
    print(json.dumps({"url": hc.url, "caller": hc.flow_status(fid)["caller_id"]}))
except ApiError as exc:
    print(json.dumps({"url": hc.url, "error": str(exc)}))
"""
    base = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, **env}, cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_heroclient_without_arguments_finds_the_running_api_and_the_local_key(
        installation, tmp_path):
    data, api, key, settings = installation
    (data / "up.json").write_text(json.dumps({"api_url": api.url, "pid": os.getpid(),
                                              "broker_url": settings.broker_url,
                                              "store_url": settings.store_url()}))
    lock = open(data / "up.lock", "a+")          # held as a running `up` holds it
    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        env = {"HEROCELERY_DATA_DIR": str(data), "HEROCELERY_API_PORT": "1"}
        assert client_in_subprocess(env, tmp_path) == {"url": api.url, "caller": "local-admin"}
        wrong = client_in_subprocess({**env, "HEROCELERY_API_KEY": "hc_wrong"}, tmp_path)
        assert wrong["url"] == api.url and "not valid" in wrong["error"]   # the variable first
        from herocelery.contexts import Registry, Scope
        from herocelery.store import Store
        store = Store.from_url(settings.store_url())
        other = Registry(store.r, settings).create_key("another-admin", Scope.admin)
        store.close()
        assert client_in_subprocess({**env, "HEROCELERY_API_KEY": other}, tmp_path) == {
            "url": api.url, "caller": "another-admin"}             # acts as that key's owner
    finally:
        lock.close()
        (data / "up.json").unlink()
    # no `up` running: the configured address
    port = api.url.rsplit(":", 1)[1]
    found = client_in_subprocess({"HEROCELERY_DATA_DIR": str(data),
                                  "HEROCELERY_API_PORT": port}, tmp_path)
    assert found == {"url": f"http://127.0.0.1:{port}", "caller": "local-admin"}


def test_a_client_given_a_url_sends_only_the_key_it_is_given(installation):
    data, api, key, settings = installation
    with pytest.raises(ApiError, match="has API keys: send Authorization: Bearer <key>"):
        HeroClient(api.url).flows()           # over HTTP, what to send (not the CLI's flags)
    assert isinstance(HeroClient(api.url, api_key=key).flows(), list)
    assert isinstance(HeroClient(settings=settings.with_(
        api_port=int(api.url.rsplit(":", 1)[1]))).flows(), list)


NODE_SCRIPT = """
import {{ HeroClient, ApiError, parseSse }} from {client!r};
const hc = new HeroClient({api!r}, {{ apiKey: {key} }});
const seen = [];
let opened;
const ready = new Promise((resolve) => {{ opened = resolve; }});
const stop = hc.events(null, (ev) => seen.push(ev), {{ onOpen: () => opened() }});
await ready;
const {{ flow_id }} = await hc.submit({{ name: "node", jobs: {{
  a: {{ script: "print('from node'); result = 20" }},
  b: {{ after: ["a"], script: "result = inputs['a'] + 1" }} }} }});
const status = await hc.wait(flow_id, {{ timeoutMs: 60000 }});
const deadline = Date.now() + 15000;
while (!seen.some((e) => e.type === "flow" && e.flow_id === flow_id && e.status === "finished")
       && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
stop();
const flow = await hc.flowStatus(flow_id);
let refused = null;
await new Promise((resolve) => {{
  new HeroClient({api!r}, {{ apiKey: "hc_wrong" }}).events(null, () => {{}},
    {{ onError: (e) => {{ refused = {{ isApiError: e instanceof ApiError,
                                      code: e.code }}; resolve(); }} }});
}});
const [parsed, rest] = parseSse(": hi\\ndata: {{\\"a\\":\\ndata: 1}}\\n\\ndata: partial");
console.log(JSON.stringify({{
  node: process.versions.node, hasEventSource: typeof globalThis.EventSource !== "undefined",
  status, result: (await hc.jobResult(flow.jobs.b.id)).result,
  logs: await hc.jobLogs(flow.jobs.a.id), refused, parsed, rest,
  events: seen.filter((e) => e.flow_id === flow_id).map((e) => [e.type, e.status]) }}));
"""


def run_node(tmp_path: Path, api_url: str, key: str | None) -> dict:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed (scripts/test.sh installs Debian's nodejs)")
    script = tmp_path / "client-test.mjs"
    script.write_text(NODE_SCRIPT.format(client=CLIENT_JS.as_uri(), api=api_url,
                                         key=json.dumps(key)))
    out = subprocess.run([node, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_javascript_client_in_node(api, tmp_path):
    out = run_node(tmp_path, api.url, None)
    assert int(out["node"].split(".")[0]) >= 18
    assert out["status"] == "finished" and out["result"] == 21 and "from node" in out["logs"]
    events = out["events"]
    assert ["flow", "finished"] in events and events.count(["job", "finished"]) == 2
    assert events.index(["job", "started"]) < events.index(["flow", "finished"])
    assert out["refused"] == {"isApiError": True, "code": 401}     # a refused stream says so
    assert out["parsed"] == [{"data": '{"a":\n1}', "comments": ["hi"]}]
    assert out["rest"] == "data: partial"

