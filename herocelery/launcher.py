"""Starting and stopping the processes of a local installation: the embedded HeroDB, one
supervisor per node and the runner workers each node needs. Used by `herocelery run` and tests.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from .errors import ConfigError, StoreError
from .settings import Settings
from .store import Store
from .supervisor.registry import is_alive


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


@dataclass
class Cluster:
    """Worker processes for `topology` (node -> runner types), started as subprocesses."""

    settings: Settings
    topology: Mapping[str, list[str]]
    log_dir: Path
    procs: list[Proc] = field(default_factory=list)

    def start(self, timeout_s: float = 60.0) -> "Cluster":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.settings.to_env()}
        for node, runners in self.topology.items():
            self._spawn(f"supervisor-{node}", ["supervisor", "start", "--node", node], env)
            for runner in runners:
                self._spawn(f"runner-{node}-{runner}",
                            ["runner", "start", runner, "--node", node], env)
        self.wait_ready(timeout_s)
        return self

    def _spawn(self, name: str, args: list[str], env: Mapping[str, str]) -> None:
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            popen = subprocess.Popen([sys.executable, "-m", "herocelery", *args], env=dict(env),
                                     stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append(Proc(name, popen, log))

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until every supervisor and runner of the topology heartbeats."""
        store = Store.from_url(self.settings.store_url())
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                missing = self.missing(store)
                if not missing:
                    return
                for p in self.procs:
                    if p.popen.poll() is not None:
                        raise ConfigError(f"{p.name} exited with code {p.popen.returncode}; "
                                          f"see {p.log}")
                if time.monotonic() > deadline:
                    raise ConfigError(f"workers not ready after {timeout_s:g}s: "
                                      f"{', '.join(missing)}; logs in {self.log_dir}")
                time.sleep(0.1)
        finally:
            store.close()

    def missing(self, store: Store) -> list[str]:
        out = []
        for node, runners in self.topology.items():
            alive = {e["runner"] for e in store.runners(node)
                     if is_alive(e, self.settings.heartbeat_s)}
            out += [f"{r}@{node}" for r in ["supervisor", *runners] if r not in alive]
        return out

    def stop(self, timeout_s: float = 15.0) -> None:
        for p in self.procs:
            if p.popen.poll() is None:
                try:
                    os.killpg(p.popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout_s
        for p in self.procs:
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.popen.wait()
        self.procs.clear()

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@dataclass
class EmbeddedHeroDB:
    """The embedded HeroDB as a child process on a free loopback port."""

    popen: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_herodb(settings: Settings, timeout_s: float = 20.0) -> EmbeddedHeroDB:
    """Start HeroDB with its data under the data directory; returns once it listens."""
    try:
        import herocelery.herodb.cli  # noqa: F401
    except ImportError:
        raise ConfigError("the embedded HeroDB is not available in this installation; "
                          "pass --broker redis://HOST:PORT") from None
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)   # keys, logs, data
    data = settings.data_dir / "herodb"
    data.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / "logs" / "herodb.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        popen = subprocess.Popen(
            [sys.executable, "-m", "herocelery.herodb", "serve", "--host", "127.0.0.1",
             "--port", str(settings.herodb_port), "--dir", str(data),
             "--appendfsync", settings.herodb_appendfsync],
            stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL,
            start_new_session=True)
    assert popen.stdout is not None
    deadline = time.monotonic() + timeout_s
    line = b""
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            err = log_path.read_text(errors="replace").strip()[-500:]
            raise StoreError(f"HeroDB failed to start: {err} (log: {log_path})")
        ready, _, _ = select.select([popen.stdout], [], [], 0.2)
        if ready:
            line = popen.stdout.readline()
            if b"listening on" in line:
                port = int(line.strip().rsplit(b":", 1)[1])
                _drain(popen.stdout)
                return EmbeddedHeroDB(popen, port)
    popen.kill()
    raise StoreError(f"HeroDB did not start within {timeout_s:g}s")


def _drain(stream: Any) -> None:
    """Keep reading a child's stdout so it can never block on a full pipe."""
    def loop() -> None:
        for _ in iter(lambda: stream.read(65536), b""):
            pass
    threading.Thread(target=loop, name="herodb-stdout", daemon=True).start()
