"""The README followed in order on a fresh machine (issue 12, "done when"): a fresh HOME,
nothing configured, every command a subprocess as a user types it — no key handling and no
broker URL typed by hand — and nothing corrupted by `run`, `up` and the commands sharing one
data directory."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from support import env_without_herocelery, wait_for

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# the first run of `slow` takes a minute (it is cancelled); the retried one is quick
LONG_FLOW = """name: long
jobs:
  slow: {{runner: shell,
          script: "if [ -e {mark} ]; then echo slept; else touch {mark}; sleep 60; fi"}}
  after: {{after: [slow], script: "result = inputs['slow']['stdout'].strip()"}}
"""


class User:
    """A user's shell: a fresh HOME, the repository as the current directory."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.data = home / ".herocelery"
        self.env = {**env_without_herocelery(), "HOME": str(home), "COLUMNS": "120"}
        self.env.pop("HERODB_ENCRYPTION_KEY", None)

    def run(self, *args: str, ok: bool = True, timeout: float = 180,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "herocelery", *args],
                              env={**self.env, **(env or {})}, cwd=ROOT, capture_output=True,
                              text=True, timeout=timeout)
        assert "Traceback" not in proc.stderr, proc.stderr
        if ok:
            assert proc.returncode == 0, f"herocelery {' '.join(args)}: {proc.stderr}"
        return proc

    def status(self, flow_id: str) -> dict:
        return json.loads(self.run("flow", "status", flow_id, "--json").stdout)

    def up(self) -> subprocess.Popen[bytes]:
        before = self.ready_lines() if (self.home / "up.out").exists() else 0
        out = open(self.home / "up.out", "ab")  # appended: an earlier up's lines stay above
        proc = subprocess.Popen([sys.executable, "-m", "herocelery", "up", "--nodes", "2",
                                 "--api-port", "0", "--no-live", "--runner-concurrency", "1"],
                                env=self.env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
        out.close()
        wait_for(lambda: self.ready_lines() > before or proc.poll() is not None, 150, interval=0.2,
                 what="herocelery up to be ready")
        assert proc.poll() is None, (self.home / "up.out").read_text()
        return proc

    def ready_lines(self) -> int:
        return (self.home / "up.out").read_text(errors="replace").count("ready in")

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        """Ctrl-C."""
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        assert proc.returncode == 0, (self.home / "up.out").read_text()[-3000:]


def test_the_readme_in_order_on_a_fresh_machine(tmp_path):
    user = User(tmp_path / "home")
    user.home.mkdir()
    # the first set-up command (after `pip install .`)
    first = user.run("run", "examples/etl.yaml")
    assert "double" in first.stdout and "[2, 4, 6]" in first.stdout
    submitted: list[str] = []

    up = user.up()                                    # herocelery up --nodes 2
    restarted = False
    try:
        state = json.loads((user.data / "up.json").read_text())
        table = user.run("status")
        assert "runner heroscript" in table.stdout and "herodb-2" in table.stdout

        # Writing flows: flows as code, `etl.submit()` with nothing configured
        code = ("from herocelery import Flow\n"
                "etl = Flow('etl')\n"
                "etl.job('extract', runner='python', script='result = [1, 2, 3]')\n"
                "etl.job('double', after=['extract'], retries=2,\n"
                "        script='result = [x * 2 for x in inputs[\"extract\"]]')\n"
                "handle = etl.submit()\n"
                "handle.wait(timeout=60)\n"
                "print(handle.id, handle.status().value, handle.results['double'])\n")
        py = subprocess.run([sys.executable, "-c", code], env=user.env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
        assert py.returncode == 0, py.stderr
        fid, status, result = py.stdout.split(" ", 2)
        assert status == "finished" and result.strip() == "[2, 4, 6]"
        submitted.append(fid)

        # Commands: the HeroScript example runs under up (placement puts rhai on node2)
        hs = user.run("flow", "submit", "examples/etl.heroscript", "--wait")
        fid = hs.stdout.splitlines()[0]
        submitted.append(fid)
        assert f"flow {fid}: finished" in hs.stdout
        assert user.status(fid[:10])["jobs"]["report"]["result"] == "doubled [2, 4, 6]"
        assert fid[:10] in user.run("flow", "list").stdout
        assert "report [finished]" in user.run("flow", "graph", fid[:10]).stdout

        # flow cancel, then flow retry, on a long flow: it finishes
        long = tmp_path / "long.yaml"
        long.write_text(LONG_FLOW.format(mark=tmp_path / "slow-ran-once"))
        fid = user.run("flow", "submit", str(long)).stdout.strip()
        submitted.append(fid)
        def slow_started() -> bool:
            now = user.status(fid)["jobs"]["slow"]["status"]
            assert now not in ("finished", "error"), f"the slow job ended ({now}) uncancelled"
            return now == "started"
        wait_for(slow_started, 60, interval=0.2, what="the slow job to start")
        assert "cancelled" in user.run("flow", "cancel", fid).stdout
        wait_for(lambda: user.status(fid)["status"] == "cancelled", 30, what="cancelled")
        assert "retrying" in user.run("flow", "retry", fid).stdout
        wait_for(lambda: user.status(fid)["status"] == "finished", 60, interval=0.2,
                 what="the retried flow to finish")
        assert user.status(fid)["jobs"]["after"]["result"] == "slept"

        # HeroClient() finds the API and the key
        code = ("from herocelery.client import HeroClient\n"
                "hc = HeroClient()\n"
                "flow_id = hc.submit(open('examples/etl.yaml').read())['flow_id']\n"
                "print(flow_id, hc.wait(flow_id), hc.flow_status(flow_id)['jobs']['double']"
                "['status'])\n")
        py = subprocess.run([sys.executable, "-c", code], env=user.env, cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
        assert py.returncode == 0, py.stderr
        fid, ended, double = py.stdout.split()
        assert (ended, double) == ("finished", "finished")
        submitted.append(fid)

        # Contexts, API keys, signed jobs: no key typed
        alice = user.run("key", "create", "alice", "--scope", "user").stdout.strip()
        assert alice.startswith("hc_")
        keys = user.run("key", "list").stdout
        assert "alice" in keys and "local-admin" in keys and "created" in keys
        user.run("context", "create", "team", "--executor", "alice", "--reader", "bob")
        user.run("context", "grant", "team", "carol", "executor")
        public = user.run("key", "gen-signing", str(tmp_path / "alice.pem")).stdout.strip()
        user.run("context", "create", "signed", "--require-signatures", "--signer", public)
        signed = tmp_path / "signed.yaml"
        signed.write_text((ROOT / "examples" / "etl.yaml").read_text()
                          .replace("context: default", "context: signed"))
        out = user.run("flow", "submit", str(signed), "--sign", str(tmp_path / "alice.pem"),
                       "--wait", "--json")
        assert json.loads(out.stdout)["status"] == "finished"
        submitted.append(json.loads(out.stdout)["flow_id"])
        team = tmp_path / "team.yaml"
        team.write_text((ROOT / "examples" / "etl.yaml").read_text()
                        .replace("context: default", "context: team"))
        as_alice = user.run("flow", "submit", str(team), "--wait", "--json",
                            env={"HEROCELERY_API_KEY": alice})
        assert json.loads(as_alice.stdout)["status"] == "finished"
        submitted.append(json.loads(as_alice.stdout)["flow_id"])

        # leaf in chromium, with no key
        _leaf_submits_without_a_key(state["api_url"])

        # `run` and a second HeroDB while up runs: nothing is corrupted
        runs = [subprocess.Popen([sys.executable, "-m", "herocelery", "run", "examples/etl.yaml",
                                  "--json"], env=user.env, cwd=ROOT, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(2)]
        second = user.run("herodb", "serve", "--port", "0", "--dir", str(user.data / "herodb"),
                          ok=False, timeout=60)
        assert second.returncode != 0 and "in use by another HeroDB" in second.stderr
        assert str(state["services"][0]["pid"]) in second.stderr
        for proc in runs:
            out, err = proc.communicate(timeout=180)
            assert proc.returncode == 0, err
            ran = json.loads(out)
            assert ran["jobs"]["double"]["result"] == [2, 4, 6]
            submitted.append(ran["flow_id"])

        user.stop(up)
        restarted = True
        up = user.up()                                # up restarts cleanly on the same log
        listed = json.loads(user.run("flow", "list", "--json", "--limit", "100").stdout)
        assert set(submitted) <= {f["id"] for f in listed}
        assert all(f["status"] == "finished" for f in listed if f["id"] in submitted)
        log = (user.data / "logs" / "herodb.log").read_text(errors="replace")
        assert "torn" not in log and "corrupt" not in log
    finally:
        if up.poll() is None:
            user.stop(up)
    assert restarted
    assert not (user.data / "up.json").exists()


LEAF = """
import sys
from playwright.sync_api import sync_playwright
args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]
with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path=sys.argv[1], args=args, headless=True)
    page = browser.new_page()
    page.set_default_timeout(30_000)
    page.goto(sys.argv[2] + "/leaf/")
    page.fill("#flow-text", "name: walk\\njobs:\\n  k: {script: 'result = 1'}\\n")
    page.click("#submit")
    page.wait_for_selector("#submit-message:has-text('submitted walk')")
    browser.close()
print("submitted walk")
"""


def _leaf_submits_without_a_key(api_url: str) -> None:
    """leaf in Debian's chromium (its own process: the session's leaf tests may hold a
    Playwright loop in this one)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail("Debian's chromium is not installed (scripts/test.sh installs it)")
    out = subprocess.run([sys.executable, "-c", LEAF, CHROMIUM, api_url], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and "submitted walk" in out.stdout, out.stderr[-3000:]
