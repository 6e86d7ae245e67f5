"""leaf in a real headless chromium: submit a flow, watch its DAG turn finished through the
event stream, open a job's logs, embed leaf in a page served from another port, and drive the
JavaScript client against the real server."""
from __future__ import annotations

import http.server
import threading
from functools import partial

import pytest
from apiproc import start_api

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


class Site:
    """A static site on its own port (another origin than the API), pages written per test."""

    def __init__(self, root) -> None:
        self.root = root
        handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def page(self, name: str, body: str) -> str:
        (self.root / name).write_text(f"<!doctype html><html><body>{body}</body></html>")
        return f"{self.url}/{name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def other_site(tmp_path_factory):
    site = Site(tmp_path_factory.mktemp("other-site"))
    yield site
    site.stop()


@pytest.fixture(scope="module")
def embed_api(cluster, hero_settings, other_site, tmp_path_factory):
    """An API that lets the other site's pages in (api_cors_origins), with a key."""
    proc = start_api(hero_settings.with_(api_key="embed-key",
                                         api_cors_origins=(other_site.url,)),
                     tmp_path_factory.mktemp("embed-api") / "api.log")
    yield proc
    proc.stop()


def test_leaf_embeds_in_a_page_of_a_configured_origin_with_a_key(page, embed_api, other_site):
    assert other_site.url.split(":")[-1] != embed_api.url.split(":")[-1]
    page.goto(other_site.page("embed.html", f"""<h1>another app</h1>
<script type="module" src="{embed_api.url}/leaf/leaf.js"></script>
<hero-leaf api="{embed_api.url}" api-key="embed-key"></hero-leaf>"""))
    page.fill("#flow-text", "name: embedded\njobs:\n  one: {script: 'result = 7'}\n")
    page.click("#submit")
    page.wait_for_selector("g.job[data-name=one][data-status=finished]", timeout=60_000)
    page.wait_for_selector("tr.flow[data-status=finished]")


def test_the_javascript_client_against_the_server(page, embed_api, other_site):
    page.goto(other_site.page("client.html", "<h1>a client</h1>"))
    out = page.evaluate("""async (api) => {
        const { HeroClient, ApiError } = await import(api + "/leaf/client.js");
        const hc = new HeroClient(api, { apiKey: "embed-key" });
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
    }""", embed_api.url)
    assert out["status"] == "finished" and out["result"] == 21
    assert "from js" in out["logs"] and out["listed"] and out["methods"] >= 11
    assert out["bad"] == {"isApiError": True, "code": -32602,
                          "message": "flow.status: param 'flow_id': missing"}
    assert out["events"].count("finished") == 3   # two jobs and the flow


@pytest.fixture
def keyed_api(cluster, hero_settings, tmp_path):
    proc = start_api(hero_settings.with_(api_key="leaf-key"), tmp_path / "api.log")
    yield proc
    proc.stop()


def test_leaf_with_an_api_key_sends_it(page, keyed_api):
    page.goto(keyed_api.url + "/leaf/?key=leaf-key")
    page.fill("#flow-text", "name: keyed\njobs:\n  k: {script: 'result = 1'}\n")
    page.click("#submit")
    page.wait_for_selector("g.job[data-name=k][data-status=finished]", timeout=60_000)
    page.goto(keyed_api.url + "/leaf/?key=wrong")   # a wrong key: refused, said in the form
    page.fill("#flow-text", "name: wrongkey\njobs:\n  k: {script: 'result = 1'}\n")
    page.click("#submit")
    page.wait_for_selector("#submit-message.error:has-text('API key is not valid')")
    page.goto(keyed_api.url + "/leaf/")     # no key, on loopback as the API's user: its session
    page.fill("#flow-text", "name: nokey\njobs:\n  k: {script: 'result = 1'}\n")
    page.click("#submit")
    page.wait_for_selector("g.job[data-name=k][data-status=finished]", timeout=60_000)


# ---- issue 12.11: cancel and retry, job detail, legend, labels, readable statuses ------------
def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    def lum(hex_: str) -> float:
        rgb = [int(hex_[i:i + 2], 16) / 255 for i in (1, 3, 5)]
        lin = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]
    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def submit(page, api, text: str, name: str) -> None:
    page.goto(api.url + "/leaf/")
    page.fill("#flow-text", text)
    page.click("#submit")
    page.wait_for_selector(f"#submit-message:has-text('submitted {name}')")


def test_cancel_a_running_flow_from_its_page(page, leaf_api):
    submit(page, leaf_api, "name: to-cancel\njobs:\n"
           "  nap: {script: 'import time; time.sleep(30)'}\n"
           "  then: {after: [nap], script: 'result = 1'}\n", "to-cancel")
    page.wait_for_selector("g.job[data-name=nap][data-status=started]", timeout=60_000)
    assert page.locator("#retry-flow").is_disabled()
    page.click("#cancel-flow")
    page.wait_for_selector("#flow-message:has-text('cancelled: ')")
    assert sorted(page.inner_text("#flow-message")[len("cancelled: "):].split(", ")) == \
        ["nap", "then"]
    page.wait_for_selector("#flow-title[data-status=cancelled]", timeout=30_000)
    page.wait_for_selector("g.job[data-name=nap][data-status=cancelled]")
    assert page.locator("#cancel-flow").is_disabled() and page.locator("#retry-flow").is_enabled()


def test_retry_a_failed_flow_from_its_page(page, leaf_api, tmp_path):
    flag = tmp_path / "second-try"
    submit(page, leaf_api, "name: flaky\njobs:\n  once:\n    script: |\n"
           "      import os\n"
           f"      if not os.path.exists({str(flag)!r}):\n"
           f"          open({str(flag)!r}, 'w').close()\n"
           "          raise RuntimeError('first try fails')\n"
           "      result = 'second try'\n"
           "  after: {after: [once], script: 'result = 2'}\n", "flaky")
    page.wait_for_selector("#flow-title[data-status=error]", timeout=60_000)
    page.wait_for_selector("g.job[data-name=after][data-status=skipped]")
    page.click("#retry-flow")
    page.wait_for_selector("#flow-message:has-text('retrying: ')")
    page.wait_for_selector("#flow-title[data-status=finished]", timeout=60_000)
    page.wait_for_selector("g.job[data-name=after][data-status=finished]")
    page.click("g.job[data-name=once]")
    page.wait_for_selector("#job-result:has-text('second try')")


def test_job_detail_has_timings_attempts_and_the_traceback(page, leaf_api):
    submit(page, leaf_api, "name: deep\njobs:\n  boom:\n    script: |\n"
           "      def inner():\n          raise ValueError('deep down')\n"
           "      def outer():\n          inner()\n      outer()\n", "deep")
    page.wait_for_selector("g.job[data-name=boom][data-status=error]", timeout=60_000)
    page.click("g.job[data-name=boom]")
    page.wait_for_selector("#job-traceback")
    traceback = page.inner_text("#job-traceback")
    assert "Traceback" in traceback and "inner" in traceback and "outer" in traceback
    assert "ValueError: deep down" in page.inner_text("#job-error")
    values = {f: page.get_attribute(f"#job-timings tr[data-field={f}]", "data-value")
              for f in ("created", "queued", "started", "finished", "attempts")}
    times = [float(values[f]) for f in ("created", "queued", "started", "finished")]
    assert times == sorted(times) and times[-1] - times[0] < 60, values
    assert int(values["attempts"]) >= 1
    ran = page.inner_text("#job-timings tr[data-field=ran] td:last-child")
    assert ran.endswith(" s") and float(ran[:-2]) >= 0


def test_labels_fit_skipped_jobs_read_and_the_legend_names_every_status(page, leaf_api):
    long_name = "extract_every_customer_record_from_the_old_billing_system"
    submit(page, leaf_api,
           f"name: labels\njobs:\n  {long_name}: {{script: 'raise SystemExit(1)'}}\n"
           f"  short: {{after: [{long_name}], runner: shell, script: 'echo hi'}}\n"
           f"  last: {{after: [short], script: 'result = 1'}}\n", "labels")
    page.wait_for_selector("g.job[data-name=last][data-status=skipped]", timeout=60_000)
    boxes = page.evaluate("""() => [...document.querySelector('hero-leaf').shadowRoot
        .querySelectorAll('g.job')].map((g) => {
          const rect = g.querySelector('rect'), text = g.querySelector('text');
          return {name: g.dataset.name, status: g.dataset.status, label: text.textContent,
                  right: Number(text.getAttribute('x')) + text.getComputedTextLength(),
                  width: Number(rect.getAttribute('width')),
                  fill: rect.getAttribute('fill'), ink: text.getAttribute('fill')};
        })""")
    assert {b["status"] for b in boxes} == {"error", "skipped"}
    for b in boxes:
        assert b["label"].startswith(b["name"] + " · "), b        # the whole name, not cut
        assert b["right"] <= b["width"] - 4, b                     # and inside its box
        assert contrast(b["fill"], b["ink"]) >= 4.5, b             # readable on its colour
    legend = page.locator("#legend .legend-item")
    statuses = [legend.nth(i).get_attribute("data-status") for i in range(legend.count())]
    assert statuses == ["created", "waiting_for_prerequisites", "dispatched", "started",
                        "finished", "error", "timeout", "cancelled", "skipped"]
    assert "a job before it failed" in page.get_attribute(
        "#legend .legend-item[data-status=skipped]", "title")
