"""HeroDB fixtures: the same tests run against HeroDB and a real redis-server (the oracle).

HeroDB runs as a real subprocess (`python -m herocelery.herodb serve --port 0 ...`), which
prints `herodb listening on 127.0.0.1:PORT`; redis-server is the Debian binary. Every server is
stopped at the end of its module; each test starts with empty databases.
"""
from __future__ import annotations

import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import redis

from compat import Wire, matches
from support import start_redis_server, wait_for

LISTENING = re.compile(rb"herodb listening on 127\.0\.0\.1:(\d+)")
SERVERS = ["herodb", "redis-server"]


@dataclass
class HeroDB:
    """One HeroDB subprocess; `out`/`err` are files holding what it printed."""

    proc: subprocess.Popen[bytes]
    dir: Path
    out: Path
    err: Path
    port: int = 0
    extra: tuple[str, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def kill(self) -> None:
        """kill -9: no chance to flush or fsync anything."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def herodb_command(data_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "herocelery.herodb", "serve", "--port", "0",
            "--dir", str(data_dir), *extra]


def launch_herodb(data_dir: Path, *extra: str, logs: Path | None = None) -> HeroDB:
    """Start HeroDB (does not wait); see `start_herodb`."""
    logs = logs or Path(tempfile.mkdtemp(prefix="hc-herodb-logs-"))
    n = len(list(logs.glob("out*")))
    out, err = logs / f"out{n}", logs / f"err{n}"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(herodb_command(data_dir, *extra), stdout=o, stderr=e,
                                stdin=subprocess.DEVNULL)
    return HeroDB(proc, data_dir, out, err, extra=extra)


def start_herodb(data_dir: Path, *extra: str, logs: Path | None = None,
                 timeout: float = 20.0) -> HeroDB:
    """Start HeroDB on a free port and wait until it says it listens."""
    server = launch_herodb(data_dir, *extra, logs=logs)

    def listening() -> int:
        if server.proc.poll() is not None:
            raise RuntimeError(f"herodb exited with {server.proc.returncode}: "
                               f"{server.stderr()[-2000:]}")
        m = LISTENING.search(server.out.read_bytes())
        return int(m.group(1)) if m else 0

    try:
        server.port = wait_for(listening, timeout, what="herodb to listen")
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class Server:
    """Where a test talks to: the kind ("herodb" or "redis-server") and the port."""

    kind: str
    port: int


@pytest.fixture(scope="module", params=SERVERS)
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Server]:
    """A fresh server of each kind for the module."""
    if request.param == "redis-server":
        rs = start_redis_server()
        yield Server("redis-server", rs.port)
        rs.stop()
        return
    d = tmp_path_factory.mktemp("herodb")
    hd = start_herodb(d / "data", "--appendfsync", "no", logs=d)
    yield Server("herodb", hd.port)
    hd.stop()
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def r(server: Server, protocol: int) -> Iterator[redis.Redis]:
    """A redis-py client (RESP2 or RESP3) on an emptied server."""
    client = redis.Redis(port=server.port, protocol=protocol, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


@pytest.fixture
def connect(server: Server, protocol: int) -> Iterator[Callable[..., redis.Redis]]:
    """More clients on the same server (closed at the end of the test)."""
    made: list[redis.Redis] = []

    def make(**kw: Any) -> redis.Redis:
        kw.setdefault("protocol", protocol)
        kw.setdefault("socket_timeout", 10)
        client = redis.Redis(port=server.port, **kw)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def wire(server: Server, protocol: int, r: redis.Redis) -> Iterator[Wire]:
    """A wire-exact connection (RESP2 or RESP3) on the emptied server."""
    conn = Wire(server.port, protocol)
    yield conn
    conn.close()


@pytest.fixture
def run(wire: Wire, protocol: int) -> Callable[[list[tuple[str, Any]]], int]:
    """Run a table of (command line, expected reply) in order on one connection."""

    def run_table(table: list[tuple[str, Any]]) -> int:
        for step, (line, expected) in enumerate(table):
            reply = wire.call(*shlex.split(line))
            assert matches(reply, expected, protocol), (
                f"step {step}: {line!r} replied {reply!r}, expected {expected!r}")
        return len(table)

    return run_table
