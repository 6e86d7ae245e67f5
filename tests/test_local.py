"""One installation per data directory (issue 12.3/12.4/12.10): every entry point finds it
with nothing configured, uses the local admin key on this machine, and the CLI's rough
edges (id prefixes, `flow list` at 80 columns, `key list`, module paths) are gone."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from support import env_without_herocelery

from herocelery.errors import NotFound, NotRunning
from herocelery.flow.cli import resolve, short_ids
from herocelery.herodb.lock import holder
from herocelery.keys import Keys
from herocelery.local import admin_key, is_local_url, with_local_key
from herocelery.models import FlowRecord, FlowStatus
from herocelery.settings import Settings
from herocelery.store import Store

ROOT = Path(__file__).resolve().parents[1]


def hc(env: dict[str, str], *args: str, cwd: Path | None = None,
       timeout: float = 120) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "herocelery", *args], env=env,
                          capture_output=True, text=True, timeout=timeout,
                          cwd=cwd or ROOT)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


@pytest.mark.parametrize("url,local", [
    ("redis://127.0.0.1:6379/1", True), ("redis://localhost/1", True),
    ("redis://[::1]:6379/1", True), ("redis://:secret@127.0.0.2:1/1", True),
    ("unix:///run/herodb.sock?db=1", True), ("redis://10.0.0.5:6379/1", False),
    ("rediss://redis.example.com/1", False),
])
def test_a_local_broker_is_loopback_or_a_unix_socket(url, local):
    assert is_local_url(url) is local


def test_the_admin_key_is_used_only_when_private_and_owned(tmp_path):
    path = tmp_path / "admin.key"
    path.write_text("hc_key\n")
    path.chmod(0o644)                       # others may read it: not trusted
    assert admin_key(tmp_path) is None
    path.chmod(0o600)
    assert admin_key(tmp_path) == "hc_key"
    assert admin_key(tmp_path / "nowhere") is None


def test_a_local_key_the_store_does_not_know_is_not_used(redis_server, tmp_path):
    """A loopback Redis of its own (no keys, single-user) keeps working although the data
    directory holds another installation's key; a key the store knows is used."""
    from herocelery.contexts import Registry, Scope
    settings = Settings.load(env={}, broker_url=redis_server.url + "/20", store_db=21,
                             data_dir=tmp_path)
    path = tmp_path / "admin.key"
    path.write_text("hc_not_known_here\n")
    path.chmod(0o600)
    assert with_local_key(settings).api_key is None
    store = Store.from_url(settings.store_url())
    try:
        key = Registry(store.r, settings).create_key("local-admin", Scope.admin)
        path.write_text(key + "\n")
        assert with_local_key(settings).api_key == key
        assert with_local_key(settings.with_(api_key="mine")).api_key == "mine"
        remote = settings.with_(broker_url="redis://10.9.9.9:6379/20")
        assert with_local_key(remote, check=False).api_key is None   # beyond loopback: no
    finally:
        store.r.flushdb()
        store.close()


def test_a_fresh_home_works_with_nothing_running(tmp_path):
    """`herocelery context create alpha` in a fresh HOME: an embedded HeroDB is opened for
    the command and stopped after it; the local admin key is made at that first start and
    used by the next commands; commands that need workers say that nothing runs."""
    home = tmp_path / "home"
    home.mkdir()
    env = {**env_without_herocelery(), "HOME": str(home)}
    data = home / ".herocelery"
    out = hc(env, "context", "create", "alpha")
    assert out.returncode == 0 and out.stdout.startswith("context alpha: database"), out.stderr
    assert holder(data / "herodb") is None              # stopped and unlocked afterwards
    assert (data / "admin.key").stat().st_mode & 0o777 == 0o600
    listed = hc(env, "context", "list", "--json")
    assert "alpha" in {c["name"] for c in json.loads(listed.stdout)}      # persisted
    user = hc(env, "key", "create", "bob", "--scope", "user")
    assert user.returncode == 0 and user.stdout.startswith("hc_"), user.stderr
    keys = hc(env, "key", "list")
    header = next(line for line in keys.stdout.splitlines() if "scope" in line)
    for col in ("name", "scope", "key id", "created"):  # what its help promises
        assert col in header
    assert "bob" in keys.stdout and "local-admin" in keys.stdout
    submit = hc(env, "flow", "submit", "examples/etl.yaml")
    assert submit.returncode == 1
    assert submit.stderr.strip().count("\n") == 0
    assert "no herocelery installation is running" in submit.stderr
    assert "herocelery up" in submit.stderr
    status = hc(env, "status")
    assert status.returncode == 1 and "not running" in status.stderr
    assert hc(env, "flow", "list", "--json").stdout.strip() == "[]"


def test_flow_submit_from_python_with_nothing_running_says_so(tmp_path):
    from herocelery.flow import Flow
    f = Flow("nowhere")
    f.job("a", script="result = 1")
    with pytest.raises(NotRunning, match="no herocelery installation is running"):
        f.submit(Settings.load(env={}, data_dir=tmp_path))


# ---- flow ids: unique prefixes, short ids ------------------------------------------------------
@pytest.mark.parametrize("ids,expected", [
    (["4-" + "a" * 32], ["4-aaaaaaaa"]),
    (["4-" + "ab" * 16, "4-" + "abababab" + "0" * 24],
     ["4-ababababa", "4-abababab0"]),
    (["4-" + "1" * 32, "5-" + "1" * 32], ["4-11111111", "5-11111111"]),
])
def test_short_ids_are_unique_and_as_short_as_git_would_show(ids, expected):
    assert list(short_ids(ids).values()) == expected


@pytest.fixture
def crafted(hero_settings):
    """Flows whose ids share prefixes, in the default context's database."""
    from herocelery.contexts import Registry
    store = Store.from_url(hero_settings.store_url())
    db = Registry(store.r, hero_settings).context("default").db
    tag = uuid.uuid4().hex[:8]
    ids = [f"{db}-{tag}0{uuid.uuid4().hex[:23]}", f"{db}-{tag}1{uuid.uuid4().hex[:23]}"]
    long_name = "a-flow-with-a-rather-long-name-that-a-narrow-terminal-must-cut-" + tag
    for fid, status in zip(ids, (FlowStatus.cancelled, FlowStatus.finished), strict=False):
        store.create_flow(FlowRecord(id=fid, name=long_name, status=status), [])
    yield db, tag, ids
    home = store.database(db)
    for fid in ids:
        home.delete(Keys.flow(fid))
        home.zrem(Keys.flows(), fid)
    store.close()


def test_a_unique_prefix_names_a_flow_like_git(hero_settings, crafted):
    db, tag, ids = crafted
    assert resolve(hero_settings, ids[0]) == ids[0]
    assert resolve(hero_settings, f"{db}-{tag}0") == ids[0]
    assert resolve(hero_settings, f"{tag}1") == ids[1]             # the hex part alone
    with pytest.raises(NotFound, match="ambiguous") as err:
        resolve(hero_settings, f"{db}-{tag}")
    assert ids[0] in str(err.value) and ids[1] in str(err.value)
    with pytest.raises(NotFound, match="too short"):
        resolve(hero_settings, f"{db}-{tag[:3]}")
    with pytest.raises(NotFound, match="no flow with id"):
        resolve(hero_settings, "ffffffffffff")
    assert resolve(hero_settings, f"{db}-{tag}*") == f"{db}-{tag}*"   # not an id: as is
    store = Store.from_url(hero_settings.store_url())
    try:                                               # glob characters match literally
        assert store.flow_ids_starting(f"{db}-{tag}*") == []
        assert store.flow_ids_starting(f"{tag}?") == []
        assert store.flow_ids_starting(f"{db}-{tag}") == sorted(ids)
    finally:
        store.close()


def test_flow_list_at_80_columns_keeps_ids_and_statuses_whole(hero_settings, crafted):
    db, tag, ids = crafted
    env = {**env_without_herocelery(), **hero_settings.to_env(), "COLUMNS": "80"}
    out = hc(env, "flow", "list")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    shown = short_ids([f.id for f in Store.from_url(hero_settings.store_url()).flows(20)])
    for fid, status in zip(ids, ("cancelled", "finished"), strict=False):
        row = next(line for line in lines if shown[fid] in line)
        assert f"│ {shown[fid]} │" in row                # the short id: its whole cell
        assert re.search(r"│ \d{4}-\d\d-\d\d \d\d:\d\d:\d\d │", row)  # time on one line
        assert f"│ {status}" in row and "…" in row            # the name gives way
        status_out = hc(env, "flow", "status", shown[fid], "--json")   # and it works as an id
        assert json.loads(status_out.stdout)["flow_id"] == fid


def test_a_module_path_works_from_any_directory(tmp_path, redis_server):
    pkg = tmp_path / "proj" / "pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text("SCRIPT = 'result = 7'\n")
    (pkg / "flows.py").write_text(
        "from herocelery import Flow\nfrom pkg.helpers import SCRIPT\n"
        "etl = Flow('modflow')\netl.job('a', script=SCRIPT)\n"
        "etl.job('b', after='a', script='result = inputs[\"a\"]')\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(tmp_path / "data")}
    for target in ("../proj/pkg/flows.py:etl", str(pkg / "flows.py") + ":etl"):
        out = hc(env, "flow", "graph", target, cwd=elsewhere)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["a", "└── b"]
    missing = hc(env, "flow", "graph", "../proj/pkg/nope.py:etl", cwd=elsewhere)
    assert missing.returncode == 2 and "no such module file" in missing.stderr
    # and `herocelery run pkg/module.py:attr` (workers of its own; a store of its own too)
    ran = hc({**env, "HEROCELERY_STORE_DB": "45"}, "--broker", redis_server.url + "/44",
             "run", "../proj/pkg/flows.py:etl", "--json", cwd=elsewhere)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["jobs"]["b"]["result"] == 7


def test_flower_on_the_embedded_herodb_stops_with_the_command(tmp_path):
    """`herocelery flower` with nothing running opens the data directory's HeroDB for its
    duration and runs Flower as its child; stopping the command (SIGTERM) stops Flower too
    (before, Flower was left running on a HeroDB that had stopped)."""
    import os
    import signal
    import socket
    import time
    import urllib.request

    from support import wait_for
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(tmp_path / "data")}
    log = open(tmp_path / "flower.log", "wb")
    cmd = subprocess.Popen([sys.executable, "-m", "herocelery", "flower", "--port", str(port)],
                           env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        def healthy() -> bool:
            assert cmd.poll() is None, (tmp_path / "flower.log").read_text()[-2000:]
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthcheck",
                                            timeout=5) as resp:
                    return resp.read() == b"OK"
            except OSError:
                return False
        wait_for(healthy, 60, interval=0.3, what="Flower on the embedded HeroDB")
        children = [int(p) for p in open(f"/proc/{cmd.pid}/task/{cmd.pid}/children")
                    .read().split()]
        assert children, "Flower runs as a child of the command"
        cmd.send_signal(signal.SIGTERM)
        cmd.wait(30)

        def gone(pid: int) -> bool:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    return f.read().rsplit(") ", 1)[1][0] == "Z"
            except OSError:
                return True
        deadline = time.monotonic() + 20
        while not all(gone(p) for p in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(gone(p) for p in children), "Flower outlived `herocelery flower`"
        assert holder(tmp_path / "data" / "herodb") is None     # the HeroDB stopped too
    finally:
        if cmd.poll() is None:
            cmd.kill()
            cmd.wait()
        for pid in locals().get("children", []):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


def _wait_file(path: Path, procs, timeout: float = 120) -> None:
    from support import wait_for

    def seen() -> bool:
        for p in procs:
            assert p.poll() is None, p.communicate()[1][-2000:]
        return path.exists()
    wait_for(seen, timeout, interval=0.1, what=f"{path.name} to appear")


def test_commands_share_the_embedded_herodb_and_the_last_one_stops_it(tmp_path):
    """Two `run`s with nothing running: the second uses the HeroDB the first started; the
    first ending does not stop it under the second (before: the second failed with
    'Connection refused'); the last one stops it."""
    import os
    import signal

    from herocelery.local import EMBEDDED
    data = tmp_path / "data"
    env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(data)}
    marks = {n: tmp_path / n for n in ("a-runs", "a-may-end", "b-runs", "b-may-end")}

    def flow(name: str, runs: Path, may_end: Path) -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(f"name: {name}\njobs:\n  j: {{script: \"import os, time\\n"
                        f"open('{runs}', 'w').close()\\n"
                        f"while not os.path.exists('{may_end}'): time.sleep(0.05)\\n"
                        f"result = '{name}'\"}}\n")
        return path

    def run(path: Path) -> subprocess.Popen[str]:
        return subprocess.Popen([sys.executable, "-m", "herocelery", "run", str(path),
                                 "--json"], env=env, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    a = run(flow("a", marks["a-runs"], marks["a-may-end"]))
    b = None
    try:
        _wait_file(marks["a-runs"], [a])
        herodb = holder(data / "herodb")
        assert herodb is not None and (data / EMBEDDED).read_text().strip() == str(herodb.pid)
        b = run(flow("b", marks["b-runs"], marks["b-may-end"]))
        _wait_file(marks["b-runs"], [a, b])
        marks["a-may-end"].touch()
        out, err = a.communicate(timeout=120)
        assert a.returncode == 0 and json.loads(out)["jobs"]["j"]["result"] == "a", err
        still = holder(data / "herodb")
        assert still is not None and still.pid == herodb.pid       # b still uses it
        marks["b-may-end"].touch()
        out, err = b.communicate(timeout=120)
        assert "Traceback" not in err
        assert b.returncode == 0 and json.loads(out)["jobs"]["j"]["result"] == "b", err
        assert holder(data / "herodb") is None                      # the last one stopped it
        assert not (data / EMBEDDED).exists()
    finally:
        for p in (a, b):
            if p is not None and p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.communicate(timeout=60)
    # a command killed outright leaves its HeroDB: the next command uses it, then stops it
    marks["a-runs"].unlink()
    marks["a-may-end"].unlink()
    a = run(flow("a", marks["a-runs"], marks["a-may-end"]))
    _wait_file(marks["a-runs"], [a])
    os.kill(a.pid, signal.SIGKILL)
    a.communicate(timeout=30)
    assert holder(data / "herodb") is not None
    listed = hc(env, "context", "list", "--json")
    assert listed.returncode == 0 and "default" in listed.stdout, listed.stderr
    assert holder(data / "herodb") is None
