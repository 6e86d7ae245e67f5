"""Fixtures of the contexts and OSIS tests: a HeroDB with an admin secret (the access model
on), settings whose broker is that HeroDB as admin, and real workers on it."""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import redis

from support import wait_for

LISTENING = re.compile(rb"herodb listening on 127\.0\.0\.1:(\d+)")
SECRET = "admin-secret-for-tests"


@dataclass
class SecureHeroDB:
    proc: subprocess.Popen[bytes]
    port: int
    secret: str = SECRET

    def url(self, db: int) -> str:
        return f"redis://:{self.secret}@127.0.0.1:{self.port}/{db}"

    def bare(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def admin(self, db: int = 0) -> redis.Redis:
        return redis.Redis.from_url(self.url(db), decode_responses=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_secure_herodb(databases: int = 32) -> SecureHeroDB:
    out = Path(tempfile.mkdtemp(prefix="hc-h6-herodb-")) / "out"
    with open(out, "wb") as o:
        proc = subprocess.Popen([sys.executable, "-m", "herocelery.herodb", "serve", "--port",
                                 "0", "--admin-secret", SECRET, "--databases", str(databases)],
                                stdout=o, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)

    def listening() -> int:
        if proc.poll() is not None:
            raise RuntimeError(f"herodb exited with {proc.returncode}")
        m = LISTENING.search(out.read_bytes())
        return int(m.group(1)) if m else 0
    try:
        port = wait_for(listening, 30, what="herodb to listen")
    except BaseException:
        proc.kill()
        raise
    return SecureHeroDB(proc, port)


@pytest.fixture(scope="session")
def secure_herodb() -> Iterator[SecureHeroDB]:
    server = start_secure_herodb()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def secure_settings(secure_herodb: SecureHeroDB, tmp_path_factory: pytest.TempPathFactory):
    from herocelery.settings import Settings
    return Settings.load(env={}, broker_url=secure_herodb.url(1),
                         data_dir=tmp_path_factory.mktemp("h6-data"), lease_s=3.0,
                         heartbeat_s=0.5, concurrency=2, job_timeout_s=20.0,
                         visibility_timeout_s=60.0, job_retry_backoff_s=0.2, log_level="INFO")


@pytest.fixture(scope="session")
def secure_cluster(secure_settings, tmp_path_factory: pytest.TempPathFactory):
    """Supervisor and python, shell, heroscript, osis (and rhai when it exists) runners."""
    from herocelery.launcher import Cluster
    from herocelery.runners import get_runner
    from herocelery.errors import ConfigError
    runners = []
    for kind in ("python", "shell", "heroscript", "rhai", "osis"):
        try:
            get_runner(kind)
            runners.append(kind)
        except ConfigError:
            pass
    c = Cluster(secure_settings, {"node1": runners}, tmp_path_factory.mktemp("h6-logs"))
    c.start(timeout_s=90)
    c.runner_types = runners  # type: ignore[attr-defined]
    yield c
    c.stop()


@pytest.fixture(scope="session")
def registry(secure_settings):
    from herocelery.contexts import Registry
    from herocelery.store import Store
    store = Store.from_url(secure_settings.store_url())
    yield Registry(store.r, secure_settings)
    store.close()
