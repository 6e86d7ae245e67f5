"""Fixtures of the contexts and OSIS tests: a HeroDB with an admin secret (the access model
on), settings whose broker is that HeroDB as admin, and real workers on it."""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


# tests/contexts and tests/osis each import these fixtures into their conftest; a session
# that runs both must still start one HeroDB and one set of workers: shared by refcount.
_SHARED: dict[str, list[Any]] = {}


def _acquire(name: str, make: Callable[[], Any]) -> Any:
    entry = _SHARED.get(name)
    if entry is None:
        entry = _SHARED[name] = [make(), 0]
    entry[1] += 1
    return entry[0]


def _release(name: str, stop: Callable[[Any], None]) -> None:
    entry = _SHARED[name]
    entry[1] -= 1
    if entry[1] == 0:
        del _SHARED[name]
        stop(entry[0])


@pytest.fixture(scope="session")
def secure_herodb() -> Iterator[SecureHeroDB]:
    yield _acquire("herodb", start_secure_herodb)
    _release("herodb", lambda s: s.stop())


@pytest.fixture(scope="session")
def secure_settings(secure_herodb: SecureHeroDB, tmp_path_factory: pytest.TempPathFactory):
    from herocelery.settings import Settings
    return _acquire("settings", lambda: Settings.load(
        env={}, broker_url=secure_herodb.url(1), data_dir=tmp_path_factory.mktemp("h6-data"),
        lease_s=3.0, heartbeat_s=0.5, concurrency=2, job_timeout_s=20.0,
        visibility_timeout_s=60.0, job_retry_backoff_s=0.2, log_level="INFO"))


def _registrar_settings(settings: Any) -> Any:
    """Starting workers registers them: once the installation has API keys, the workers get
    a registrar key of their own (before that, the local admin may)."""
    import uuid

    from herocelery.contexts import Registry, Scope
    from herocelery.store import Store
    store = Store.from_url(settings.store_url())
    try:
        reg = Registry(store.r, settings)
        if not reg.has_keys():
            return settings
        key = reg.create_key(f"workers-{uuid.uuid4().hex[:8]}", Scope.registrar)
    finally:
        store.close()
    return settings.with_(api_key=key)


def _start_cluster(settings: Any, log_dir: Path) -> Any:
    from herocelery.errors import ConfigError
    from herocelery.launcher import Cluster
    from herocelery.runners import get_runner
    runners = []
    for kind in ("python", "shell", "heroscript", "rhai", "osis"):
        try:
            get_runner(kind)
            runners.append(kind)
        except ConfigError:
            pass
    c = Cluster(_registrar_settings(settings), {"node1": runners}, log_dir)
    c.start(timeout_s=90)
    c.runner_types = runners  # type: ignore[attr-defined]
    return c


@pytest.fixture(scope="session")
def secure_cluster(secure_settings, tmp_path_factory: pytest.TempPathFactory):
    """Supervisor and python, shell, heroscript, rhai and osis runners (those that exist)."""
    yield _acquire("cluster", lambda: _start_cluster(secure_settings,
                                                     tmp_path_factory.mktemp("h6-logs")))
    _release("cluster", lambda c: c.stop())


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """`herocelery ...` in this process (the real entry point `herocelery.cli.main`, with
    its error handling), as a user with HEROCELERY_BROKER_URL and HEROCELERY_API_KEY set."""
    import os

    def run(settings: Any, *args: str, key: str | None = None,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        from herocelery.cli import main
        for name in [n for n in os.environ if n.startswith("HEROCELERY_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("HEROCELERY_BROKER_URL", settings.broker_url)
        if key:
            monkeypatch.setenv("HEROCELERY_API_KEY", key)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return subprocess.CompletedProcess(list(args), code, out.out, out.err)
    return run


@pytest.fixture(scope="session")
def registry(secure_settings):
    from herocelery.contexts import Registry
    from herocelery.store import Store
    store = Store.from_url(secure_settings.store_url())
    yield Registry(store.r, secure_settings)
    store.close()
