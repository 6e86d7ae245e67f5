"""A hostile web page in the real Debian chromium (issue 19.1): a page of another site cannot
submit a flow to the loopback API by any means a page has (a no-cors fetch, a JSON fetch, a
text/plain form post), cannot read leaf's page for its session, and a DNS name rebound to
127.0.0.1 gets leaf without a session. And leaf of an installation that has keys works on
loopback without `?key=` (issue 12.3)."""
from __future__ import annotations

import json

import pytest
from apiproc import start_api
from test_leaf_browser import Site

from herocelery.client import HeroClient

ATTACK = """<h1>cat pictures</h1>
<iframe name="sink" style="display:none"></iframe>
<form id="csrf" method="POST" enctype="text/plain" target="sink" action="{api}/rpc">
  <input name='{prefix}' value='{suffix}'>
</form>
<script>
window.attack = async () => {{
  const api = {api!r};
  const body = {body!r};
  const out = {{}};
  try {{
    await fetch(api + "/rpc", {{method: "POST", mode: "no-cors", body,
                                headers: {{"Content-Type": "text/plain"}}}});
    out.noCors = "sent";
  }} catch (e) {{ out.noCors = "blocked: " + e.name; }}
  try {{
    const r = await fetch(api + "/rpc", {{method: "POST", body: body.replace("evil-nocors",
                                                                             "evil-json"),
                                          headers: {{"Content-Type": "application/json"}}}});
    out.json = "read " + r.status;
  }} catch (e) {{ out.json = "blocked: " + e.name; }}
  try {{
    const r = await fetch(api + "/leaf/");
    out.leaf = "read: " + (await r.text()).includes('<meta name="herocelery-session"');
  }} catch (e) {{ out.leaf = "blocked: " + e.name; }}
  document.getElementById("csrf").submit();
  out.form = "posted";
  return out;
}};
</script>"""


@pytest.fixture(scope="module")
def evil_site(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("evil-site"))
    site.url = f"http://evil.example:{site.port}"       # the browser maps it to 127.0.0.1
    yield site
    site.stop()


def flow_request(name: str, marker) -> str:
    return json.dumps({"jsonrpc": "2.0", "id": 1, "method": "flow.submit", "params": {
        "flow": {"name": name, "jobs": {"pwn": {"runner": "shell",
                                                "script": f"touch {marker}"}}}}})


def test_a_page_of_another_site_cannot_submit(page, leaf_api, evil_site, tmp_path):
    marker = tmp_path / "pwned"
    body = flow_request("evil-nocors", marker)
    # a text/plain form sends `name=value`: the name carries the JSON up to a string that
    # the value closes (the classic way to post JSON from a form): {..., "pad": "="}
    prefix, suffix = flow_request("evil-form", marker)[:-1] + ', "pad": "', '"}'
    url = evil_site.page("attack.html", ATTACK.format(api=leaf_api.url, body=body,
                                                       prefix=prefix, suffix=suffix))
    page.goto(url)
    out = page.evaluate("window.attack()")
    assert out["json"].startswith("blocked") and out["leaf"].startswith("blocked"), out
    page.wait_for_timeout(500)            # let the form post land before looking
    control = tmp_path / "control"
    hc = HeroClient(leaf_api.url)
    fid = hc.submit(json.loads(flow_request("control", control))["params"]["flow"])["flow_id"]
    assert hc.wait(fid, 60) == "finished" and control.exists()
    names = {f["name"] for f in hc.flows(1000)}
    assert not {"evil-nocors", "evil-json", "evil-form"} & names
    assert not marker.exists()


def test_a_rebound_dns_name_gets_leaf_without_a_session(page, leaf_api):
    port = leaf_api.url.rsplit(":", 1)[1]
    page.goto(f"http://evil.example:{port}/leaf/")      # served by the API itself
    assert page.locator('meta[name="herocelery-session"]').count() == 0
    page.fill("#flow-text", "name: rebound\njobs:\n  k: {script: 'result = 1'}\n")
    page.click("#submit")
    page.wait_for_selector("#submit-message.error:has-text('Host header')")
    assert "rebound" not in {f["name"] for f in HeroClient(leaf_api.url).flows(1000)}


@pytest.fixture
def keyed_installation(tmp_path):
    """An installation that has API keys and its local admin key in the data directory (what
    `herocelery run` leaves behind), with its API on loopback; own redis-server."""
    from support import start_redis_server

    from herocelery.contexts.registry import Registry, embedded_admin_key
    from herocelery.settings import Settings
    from herocelery.store import Store
    server = start_redis_server()
    settings = Settings.load(env={}, broker_url=server.url + "/1", data_dir=tmp_path / "data")
    store = Store.from_url(settings.store_url())
    key = embedded_admin_key(Registry(store.r, settings), settings.data_dir / "admin.key")
    store.close()
    assert key
    # submit refuses a flow no live worker would run (issue 12.5): a supervisor and a runner
    from herocelery.launcher import Cluster
    workers = Cluster(settings.with_(api_key=key, heartbeat_s=0.5, concurrency=1),
                      {"node1": ["python"]}, tmp_path / "workers").start(120)
    proc = start_api(settings, tmp_path / "api.log")
    yield proc, key
    proc.stop()
    workers.stop()
    server.stop()


def test_leaf_works_on_loopback_without_a_key_when_the_installation_has_keys(
        page, keyed_installation):
    api, key = keyed_installation
    with pytest.raises(Exception, match="has API keys"):
        HeroClient(api.url).flows()                 # a program still needs the key
    page.goto(api.url + "/leaf/")
    page.fill("#flow-text", "name: local\njobs:\n  k: {script: 'result = 1'}\n")
    page.click("#submit")
    page.wait_for_selector("#submit-message:has-text('submitted local')")
    flows = HeroClient(api.url, api_key=key).flows()
    assert [(f["name"], f["caller_id"]) for f in flows] == [("local", "local-admin")]
