"""leaf in a real headless chromium: submit a flow, watch its DAG turn finished through the
event stream, open a job's logs, embed leaf in a page served from another port, and drive the
JavaScript client against the real server."""
from __future__ import annotations

import http.server
import threading
from functools import partial

import pytest

FLOW = """name: browser
jobs:
  fetch: {script: "print('fetched 3 rows'); result = [1, 2, 3]"}
  left: {after: [fetch], script: "result = sum(inputs['fetch'])"}
  right: {after: [fetch], runner: shell, script: "echo right"}
  join: {after: [left, right], script: "import time; time.sleep(1.0); result = inputs['left']"}
"""


def test_submit_watch_the_dag_finish_and_open_logs(page, leaf_api):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(leaf_api.url + "/leaf/")
    page.fill("#flow-text", FLOW)
    page.click("#submit")
    page.wait_for_selector("#submit-message:has-text('submitted browser')")
    jobs = page.locator("g.job")
    page.wait_for_function("() => document.querySelector('hero-leaf').shadowRoot"
                           ".querySelectorAll('g.job').length === 4")
    # the join job sleeps, so the DAG is seen live before it turns finished
    assert page.locator("g.job[data-name=join]").get_attribute("data-status") != "finished"
    page.wait_for_selector("g.job[data-name=join][data-status=finished]", timeout=60_000)
    assert [jobs.nth(i).get_attribute("data-status") for i in range(4)] == ["finished"] * 4
    fill = page.locator("g.job[data-name=join] rect").get_attribute("fill")
    assert fill == "#43a047"
    page.wait_for_selector("#flow-title[data-status=finished]")
    page.wait_for_selector("tr.flow[data-status=finished]")
    page.click("g.job[data-name=fetch]")
    page.wait_for_selector("#job-logs:has-text('fetched 3 rows')")
    assert "[\n  1,\n  2,\n  3\n]" in page.inner_text("#job-result")
    page.wait_for_selector("#runners tr[data-runner=python]")
    assert errors == []


def test_a_bad_flow_shows_the_error_in_the_form(page, leaf_api):
    page.goto(leaf_api.url + "/leaf/")
    page.fill("#flow-text", "name: bad\njobs:\n  a: {script: x, after: [ghost]}\n")
    page.click("#submit")
    page.wait_for_selector("#submit-message.error:has-text('ghost')")


def test_a_failed_job_shows_its_error(page, leaf_api):
    page.goto(leaf_api.url + "/leaf/")
    page.fill("#flow-text", "name: failing\njobs:\n  boom: {script: \"raise ValueError('no')\"}\n")
    page.click("#submit")
    page.wait_for_selector("g.job[data-name=boom][data-status=error]", timeout=60_000)
    page.click("g.job[data-name=boom]")
    page.wait_for_selector("#job-error:has-text('ValueError')")


@pytest.fixture
def other_site(tmp_path, leaf_api):
    """A page on another port that embeds leaf with one script tag and the element."""
    (tmp_path / "index.html").write_text(
        f"""<!doctype html><html><body><h1>another app</h1>
<script type="module" src="{leaf_api.url}/leaf/leaf.js"></script>
<hero-leaf api="{leaf_api.url}"></hero-leaf></body></html>""")
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_leaf_embeds_in_a_page_on_another_port(page, leaf_api, other_site):
    assert other_site.split(":")[-1] != leaf_api.url.split(":")[-1]
    page.goto(other_site + "/index.html")
    page.fill("#flow-text", "name: embedded\njobs:\n  one: {script: 'result = 7'}\n")
    page.click("#submit")
    page.wait_for_selector("g.job[data-name=one][data-status=finished]", timeout=60_000)
    page.wait_for_selector("tr.flow[data-status=finished]")


def test_the_javascript_client_against_the_server(page, leaf_api, other_site):
    page.goto(other_site + "/index.html")
    out = page.evaluate("""async (api) => {
        const { HeroClient, ApiError } = await import(api + "/leaf/client.js");
        const hc = new HeroClient(api);
        const seen = [];
        const opened = new Promise((resolve) => {
          const stop = hc.events(null, (ev) => seen.push(ev), { onOpen: resolve });
          window._stop = stop;
        });
        await opened;
        const sub = await hc.submit({name: "js", jobs: {
            a: {script: "print('from js'); result = 20"},
            b: {after: ["a"], script: "result = inputs['a'] + 1"}}});
        const status = await hc.wait(sub.flow_id, {timeoutMs: 60000});
        const flow = await hc.flowStatus(sub.flow_id);
        const logs = await hc.jobLogs(flow.jobs.a.id);
        const result = await hc.jobResult(flow.jobs.b.id);
        let bad = null;
        try { await hc.call("flow.status", {}); } catch (e) {
            bad = {isApiError: e instanceof ApiError, code: e.code, message: e.message}; }
        const flows = await hc.flows(5);
        const doc = await hc.discover();
        const deadline = Date.now() + 10000;
        while (!seen.some((e) => e.type === "flow" && e.flow_id === sub.flow_id)
               && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        window._stop();
        return {status, logs, result: result.result, bad,
                listed: flows.some((f) => f.id === sub.flow_id),
                methods: doc.methods.length,
                events: seen.filter((e) => e.flow_id === sub.flow_id).map((e) => e.status)};
    }""", leaf_api.url)
    assert out["status"] == "finished" and out["result"] == 21
    assert "from js" in out["logs"] and out["listed"] and out["methods"] >= 11
    assert out["bad"] == {"isApiError": True, "code": -32602,
                          "message": "flow.status: param 'flow_id': missing"}
    assert out["events"].count("finished") == 3   # two jobs and the flow


@pytest.fixture
def keyed_api(cluster, hero_settings, tmp_path):
    from apiproc import start_api
    proc = start_api(hero_settings.with_(api_key="leaf-key"), tmp_path / "api.log")
    yield proc
    proc.stop()


def test_leaf_with_an_api_key_sends_it(page, keyed_api):
    page.goto(keyed_api.url + "/leaf/?key=leaf-key")
    page.fill("#flow-text", "name: keyed\njobs:\n  k: {script: 'result = 1'}\n")
    page.click("#submit")
    page.wait_for_selector("g.job[data-name=k][data-status=finished]", timeout=60_000)
    page.goto(keyed_api.url + "/leaf/")             # no key: refused, said in the form
    page.fill("#flow-text", "name: nokey\njobs:\n  k: {script: 'result = 1'}\n")
    page.click("#submit")
    page.wait_for_selector("#submit-message.error:has-text('API key')")
