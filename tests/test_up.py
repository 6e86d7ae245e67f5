"""`herocelery up --nodes 2 --flower` as a user runs it: the seed topology on one machine,
a flow crossing both nodes, each node's runners on their own Hero DB, `status`, a second `up`
refused, Flower's API seeing the flow's tasks, and Ctrl-C stopping everything."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import redis
from support import descendants, env_without_herocelery, wait_for

from herocelery.client import HeroClient
from herocelery.supervisor.manage import available

ROOT = Path(__file__).resolve().parents[1]
HEROSCRIPT = """!!db.set key:'crossed' value:'{inputs.make}'
!!job.result value:'{inputs.make}-node2'
"""


def cli(env: dict[str, str], *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "herocelery", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def up(tmp_path_factory):
    data = tmp_path_factory.mktemp("up")
    env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(data),
           "HEROCELERY_HEARTBEAT_S": "0.5", "FLOWER_UNAUTHENTICATED_API": "true",
           "COLUMNS": "200"}
    out = open(data / "up.out", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "herocelery", "up", "--nodes", "2",
                             "--api-port", "0", "--flower", "--flower-port", "0", "--no-live",
                             "--runner-concurrency", "1", "--timeout", "120"],
                            env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        wait_for(lambda: b"ready in" in (data / "up.out").read_bytes() or proc.poll() is not None,
                 150, interval=0.2, what="herocelery up to be ready")
        assert proc.poll() is None, (data / "up.out").read_text()
        state = json.loads((data / "up.json").read_text())
        yield proc, env, state, data
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        out.close()


def local_client(state: dict, data: Path) -> HeroClient:
    """A client of up's API with the local admin key `up` made at its first start."""
    return HeroClient(state["api_url"], api_key=(data / "admin.key").read_text().strip())


def test_up_reports_ready_with_both_nodes_and_their_runners(up):
    proc, env, state, data = up
    text = (data / "up.out").read_text()
    assert re.search(r"ready in \d+\.\d+s", text) and "/leaf/" in text
    names = {(s["name"], s["node"]) for s in state["services"]}
    assert {("herodb-1", "node1"), ("herodb-2", "node2"), ("supervisor", "node1"),
            ("supervisor", "node2"), ("api", "-"), ("flower", "-")} <= names
    runners = local_client(state, data).runners()
    managed1 = {r: s["state"] for r, s in runners["node1"]["managed"].items()}
    managed2 = {r: s["state"] for r, s in runners["node2"]["managed"].items()}
    assert managed1 == {"python": "running", "shell": "running"}
    assert set(managed2) == set(available(["rhai", "heroscript", "osis"]))
    assert set(managed2.values()) == {"running"}


def test_status_from_another_terminal_shows_the_same(up):
    proc, env, state, data = up
    out = cli(env, "status", "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)["rows"]
    by = {(r["process"], r["node"]): r for r in rows}
    assert by[("runner python", "node1")]["state"] == "running"
    assert by[("runner heroscript", "node2")]["state"] == "running"
    assert by[("api", "-")]["address"] == state["api_url"]
    assert all(Path(r["log"]).exists() for r in rows if r["log"])
    table = cli(env, "status")
    assert "runner heroscript" in table.stdout and "herodb-2" in table.stdout


def test_up_runs_a_reconciler_shown_in_status_and_metrics(up):
    """issue 13.1: the coordinator side of `up` runs a reconciler; `status` and /metrics
    show what it did."""
    proc, env, state, data = up
    assert "reconciler" in {s["name"] for s in state["services"]}

    def row():
        out = cli(env, "status", "--json")
        rows = [r for r in json.loads(out.stdout)["rows"] if r["process"] == "reconciler"]
        return rows and "last pass" in rows[0]["state"] and rows[0]
    found = wait_for(row, 30, what="the reconciler's passes in status")
    assert found["state"].startswith("running") and "re-dispatched" in found["state"]
    text = local_client(state, data).metrics()
    assert 'herocelery_reconciler_total{action="redispatched"}' in text
    assert re.search(r"herocelery_reconciler_up\{name=\"[^\"]+\"\} 1", text)


def test_up_state_and_the_local_admin_key_are_private(up):
    proc, env, state, data = up
    for name in ("up.json", "admin.key"):
        assert (data / name).stat().st_mode & 0o777 == 0o600, name
    assert state["ready"] is True and state["broker_url"].startswith("redis://127.0.0.1:")
    # no process of `up` holds the key in its environment: each reads the file itself
    key = (data / "admin.key").read_text().strip().encode()
    rows = json.loads(cli(env, "status", "--json").stdout)["rows"]
    pids = {r["pid"] for r in rows if r["pid"]} | {s["pid"] for s in state["services"]}
    assert len(pids) >= 10
    for pid in pids:
        with open(f"/proc/{pid}/environ", "rb") as f:
            assert key not in f.read(), f"pid {pid} holds the admin key in its environment"


def test_herodb_requires_the_admin_secret_made_at_the_first_start(up):
    """issue 19.2: `up` ran HeroDB with no admin secret, so a job's own context key was not
    even needed to read the store database. Now every HeroDB of `up` requires the secret
    made at the first start (<data_dir>/herodb.secret, 0600)."""
    proc, env, state, data = up
    secret_file = data / "herodb.secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    secret = secret_file.read_text().strip()
    assert len(secret) == 64
    for name in ("herodb-1", "herodb-2"):
        address = next(s["address"] for s in state["services"] if s["name"] == name)
        bare = redis.Redis.from_url(address + "/3")
        with pytest.raises(redis.AuthenticationError):
            bare.dbsize()
        bare.close()
        admin = redis.Redis.from_url(address.replace("redis://", f"redis://:{secret}@") + "/3")
        assert admin.dbsize() >= 0
        admin.close()
    assert secret not in json.dumps(state)      # up.json names the broker, not its secret


def test_no_process_of_up_holds_a_secret_on_its_command_line_or_in_its_environment(up):
    """issue 19.3: HeroDB's --admin-secret was on its command line (ps shows it to every
    user) and the runners' environment held the broker URL with the secret. Now every
    process `up` starts (HeroDBs, supervisors, runners and their pool processes, zygotes,
    the API, the reconciler, Flower) gets secrets by file only, and turns off
    PR_SET_DUMPABLE (its memory and /proc/<pid>/environ are not readable by the user's
    other processes)."""
    proc, env, state, data = up
    secrets = [(data / name).read_text().strip().encode()
               for name in ("herodb.secret", "admin.key", "herodb.key")]
    pids = descendants(proc.pid)
    assert len(pids) >= 12
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read()
        except (FileNotFoundError, ProcessLookupError):
            continue                                   # ended meanwhile (a job)
        for secret in secrets:
            assert secret not in cmdline, (pid, cmdline)
            assert secret not in environ, (pid, cmdline)
        assert b"@127.0.0.1" not in environ, (pid, cmdline)   # no URL with credentials


def test_commands_find_the_running_up_with_no_broker_and_no_key(up):
    """Issue 12.4: nothing configured; every command goes through up's state file and the
    local admin key."""
    proc, env, state, data = up
    assert "HEROCELERY_BROKER_URL" not in env and "HEROCELERY_API_KEY" not in env
    out = cli(env, "flow", "submit", str(ROOT / "examples" / "etl.yaml"), "--wait", "--json")
    assert out.returncode == 0, out.stderr
    flow_id = json.loads(out.stdout)["flow_id"]
    listed = cli(env, "flow", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert flow_id in {f["id"] for f in json.loads(listed.stdout)}
    status = cli(env, "flow", "status", flow_id[:10], "--json")     # a unique prefix
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["jobs"]["double"]["result"] == [2, 4, 6]
    # issue 12.6: jobs without a node go to a node that has their runner type
    hs = cli(env, "flow", "submit", str(ROOT / "examples" / "etl.heroscript"), "--wait",
             "--json")
    assert hs.returncode == 0, hs.stdout + hs.stderr
    jobs = json.loads(hs.stdout)["jobs"]
    assert jobs["report"]["result"] == "doubled [2, 4, 6]"
    placed = local_client(state, data).flow_status(json.loads(hs.stdout)["flow_id"])["jobs"]
    assert {n: j["node"] for n, j in placed.items()} == {
        "extract": "node1", "double": "node2", "report": "node2"}
    created = cli(env, "context", "create", "alpha")
    assert created.returncode == 0 and "context alpha" in created.stdout, created.stderr
    keys = cli(env, "key", "list", "--json")
    assert keys.returncode == 0 and "local-admin" in keys.stdout, keys.stderr


def test_run_uses_the_running_up_and_starts_nothing_of_its_own(up):
    """Issue 12.1/12.4: `herocelery run` with nothing configured runs the flow on the running
    `up` (its store lists the flow) instead of starting a HeroDB and workers of its own."""
    proc, env, state, data = up
    out = cli(env, "run", str(ROOT / "examples" / "etl.yaml"), "--json", timeout=120)
    assert out.returncode == 0, out.stderr
    ran = json.loads(out.stdout)
    assert ran["jobs"]["double"]["result"] == [2, 4, 6]
    assert not list((data / "logs").glob("run-*"))         # no workers started for it
    flows = local_client(state, data).flows()
    assert ran["flow_id"] in {f["id"] for f in flows}


def test_flower_finds_the_running_up(up):
    """Issue 12.4: `herocelery flower` with no broker configured watches up's broker."""
    proc, env, state, data = up
    port = _free_port()
    log = open(data / "flower-cmd.log", "wb")
    flower = subprocess.Popen([sys.executable, "-m", "herocelery", "flower", "--port",
                               str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        def workers() -> dict:
            assert flower.poll() is None, (data / "flower-cmd.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/workers?refresh=1",
                                            timeout=10) as resp:
                    return json.loads(resp.read())
            except OSError:
                return {}
        seen = wait_for(lambda: any(name.startswith("supervisor-node2-")
                                    for name in workers()), 60, interval=0.5,
                        what="Flower of `herocelery flower` to list up's workers")
        assert seen
    finally:
        os.killpg(flower.pid, signal.SIGTERM)
        flower.wait(20)
        log.close()


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_second_up_says_one_is_running(up):
    proc, env, state, data = up
    out = cli(env, "up", "--api-port", "0", timeout=30)
    assert out.returncode == 1
    assert "already running" in out.stderr and str(state["pid"]) in out.stderr
    assert "Traceback" not in out.stderr


def test_a_flow_crosses_both_nodes_and_node2_keeps_data_in_its_own_db(up):
    proc, env, state, data = up
    hc = local_client(state, data)
    jobs = {
        "make": {"runner": "python", "node": "node1", "script": "result = 'made'"},
        "hs": {"runner": "heroscript", "node": "node2", "after": ["make"],
               "script": HEROSCRIPT},
        "back": {"runner": "shell", "node": "node1", "after": ["hs"],
                 "script": "echo back-on-node1"},
    }
    with_rhai = bool(available(["rhai"]))
    if with_rhai:
        jobs["rh"] = {"runner": "rhai", "node": "node2", "after": ["hs"],
                      "script": 'db_set("rhai_was_here", INPUTS["hs"]); INPUTS["hs"] + "-rhai"'}
        jobs["back"]["after"] = ["rh"]
    fid = hc.submit({"name": "cross", "jobs": jobs})["flow_id"]
    assert hc.wait(fid, 90) == "finished", hc.flow_status(fid)
    status = hc.flow_status(fid)["jobs"]
    assert {n: j["node"] for n, j in status.items()} == {
        "make": "node1", "hs": "node2", "back": "node1", **({"rh": "node2"} if with_rhai else {})}
    assert hc.job_result(status["hs"]["id"])["result"] == "made-node2"
    assert hc.job_result(status["back"]["id"])["result"]["stdout"] == "back-on-node1\n"
    db2 = next(s["address"] for s in state["services"] if s["name"] == "herodb-2")
    db1 = next(s["address"] for s in state["services"] if s["name"] == "herodb-1")
    assert _find_key(db2, "crossed", data) == "made"
    assert _find_key(db1, "crossed", data) is None
    if with_rhai:
        assert hc.job_result(status["rh"]["id"])["result"] == "made-node2-rhai"
        assert _find_key(db2, "rhai_was_here", data) == "made-node2"
        assert _find_key(db1, "rhai_was_here", data) is None


def _find_key(url: str, key: str, data: Path) -> str | None:
    secret = data / "herodb.secret"         # up's HeroDBs require the admin secret
    url = url.replace("redis://", f"redis://:{secret.read_text().strip()}@")
    for db in range(16):
        r = redis.Redis.from_url(f"{url}/{db}", decode_responses=True)
        try:
            value = r.get(key)
        finally:
            r.close()
        if value is not None:
            return value
    return None


def test_flower_sees_the_flows_tasks_with_flow_and_job(up):
    proc, env, state, data = up
    hc = local_client(state, data)
    fid = hc.submit({"name": "seen", "jobs": {"only": {"script": "result = 1"}}})["flow_id"]
    assert hc.wait(fid, 60) == "finished"

    def tasks() -> list[dict]:
        with urllib.request.urlopen(state["flower_url"] + "/api/tasks", timeout=5) as resp:
            found = json.loads(resp.read())
        return [t for t in found.values() if fid in (t.get("args") or "")]
    mine = wait_for(lambda: [t for t in tasks() if t.get("name") == "hero.run"], 30,
                    interval=0.5, what="Flower to list the flow's runner task")
    assert "job=only" in mine[0]["args"] and mine[0]["state"] == "SUCCESS"
    # issue 12.9: no health check travels as a task, so none floods Flower's task list
    with urllib.request.urlopen(state["flower_url"] + "/api/tasks", timeout=5) as resp:
        names = {t.get("name") for t in json.loads(resp.read()).values()}
    assert "hero.run" in names and not {n for n in names if n and "ping" in n}


def test_ctrl_c_stops_everything(up):
    proc, env, state, data = up
    pids = [s["pid"] for s in state["services"]]
    status = cli(env, "status", "--json")
    assert status.returncode == 0, status.stderr
    runner_pids = [r["pid"] for r in json.loads(status.stdout)["rows"]
                   if r["process"].startswith("runner")]
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(60)
    assert proc.returncode == 0
    for pid in pids + runner_pids:
        wait_for(lambda pid=pid: not _alive(pid), 20, what=f"process {pid} to end")
    assert not (data / "up.json").exists()
    out = cli(env, "status")
    assert out.returncode == 1 and "not running" in out.stderr


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def test_an_api_port_in_use_is_said_before_anything_starts(tmp_path, redis_server):
    """A second installation (another data directory) on the API port another one uses:
    one line naming the port and the flag, nothing started, nothing left behind. Before,
    `up` started everything, then said the API "cannot reach the broker or store"."""
    import socket

    from herocelery.herodb.lock import holder
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(tmp_path / "data")}
        out = cli(env, "up", "--api-port", str(port), "--no-live", "--timeout", "60")
        assert out.returncode == 2 and out.stdout == "", out.stdout + out.stderr
        assert f"API port 127.0.0.1:{port} is in use" in out.stderr
        assert "--api-port" in out.stderr and "Traceback" not in out.stderr
        assert holder(tmp_path / "data" / "herodb") is None
        assert not (tmp_path / "data" / "up.json").exists()
        api = cli({**env, "HEROCELERY_BROKER_URL": redis_server.url + "/1"},
                  "api", "serve", "--port", str(port))
        assert api.returncode != 0 and "Traceback" not in api.stderr
        assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in api.stderr
