"""Secrets at rest (issue 19.8): the installation's HeroDB log is encrypted from its first
start with a key made then (`<data_dir>/herodb.key`, mode 0600), given to HeroDB by
environment, never on its command line; an older plain log keeps working, plain."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from support import env_without_herocelery

from herocelery import launcher
from herocelery.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def hc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "herocelery", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc


def test_a_new_installation_log_is_encrypted_and_its_key_private(tmp_path):
    data = tmp_path / "data"
    env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(data)}
    env.pop("HERODB_ENCRYPTION_KEY", None)
    hc(env, "context", "create", "secretive")
    key_file = data / "herodb.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    log = (data / "herodb" / "herodb.aof").read_bytes()
    assert log.startswith(b"HERODBLOG1E")                     # the sealed format
    admin_key = (data / "admin.key").read_text().strip()
    for secret in (b"secretive", b"local-admin", admin_key.encode()):
        assert secret not in log
    # read back by the next command, with the same key
    key = key_file.read_text()
    listed = json.loads(hc(env, "context", "list", "--json").stdout)
    assert "secretive" in {c["name"] for c in listed}
    assert key_file.read_text() == key                       # not remade


def test_the_keys_go_by_file_never_on_the_command_line_or_in_the_environment(tmp_path,
                                                                            monkeypatch):
    """issue 19.3: the encryption key went by environment (readable in /proc/<pid>/environ);
    now it and the admin secret are files the server reads (mode 0600)."""
    settings = Settings.load(env={}, data_dir=tmp_path / "data")
    db = launcher.start_herodb(settings)
    try:
        key = (tmp_path / "data" / "herodb.key").read_text().strip()
        secret = (tmp_path / "data" / "herodb.secret").read_text().strip()
        with open(f"/proc/{db.pid}/cmdline", "rb") as f:
            cmdline = f.read()
        with open(f"/proc/{db.pid}/environ", "rb") as f:
            environ = f.read()
        for value in (key, secret):
            assert value.encode() not in cmdline and value.encode() not in environ
        assert b"--encryption-key-file" in cmdline and b"--admin-secret-file" in cmdline
    finally:
        db.stop()
    # no other process started here inherits a key, even one set in the starter's environment
    monkeypatch.setenv("HERODB_ENCRYPTION_KEY", "from-the-shell")
    probe = launcher.spawn("probe", "-", ["-c", "import os; print(os.environ.get("
                                          "'HERODB_ENCRYPTION_KEY'))"], settings,
                           tmp_path / "probe.log", exe=[sys.executable])
    assert probe.popen.wait(60) == 0
    assert (tmp_path / "probe.log").read_text().strip() == "None"


def test_an_existing_plain_log_stays_plain_and_works(tmp_path):
    data = tmp_path / "data"
    env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(data)}
    env.pop("HERODB_ENCRYPTION_KEY", None)
    hc({**env, "HEROCELERY_HERODB_ENCRYPT": "false"}, "context", "create", "old")
    assert not (data / "herodb.key").exists()
    assert (data / "herodb" / "herodb.aof").read_bytes().startswith(b"HERODBLOG1P")
    hc(env, "context", "create", "newer")       # encryption on again: the log stays readable
    assert not (data / "herodb.key").exists()
    names = {c["name"] for c in json.loads(hc(env, "context", "list", "--json").stdout)}
    assert {"old", "newer"} <= names


def test_a_key_file_others_may_read_is_refused(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "herodb.key").write_text("k" * 64)
    os.chmod(data / "herodb.key", 0o644)
    env = {**env_without_herocelery(), "HEROCELERY_DATA_DIR": str(data)}
    proc = subprocess.run([sys.executable, "-m", "herocelery", "context", "list"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "chmod 600" in proc.stderr
    assert "Traceback" not in proc.stderr
