"""HeroDB fixtures: the same tests run against HeroDB and a real redis-server (the oracle).

HeroDB runs as a real subprocess (`python -m herocelery.herodb serve --port 0 ...`), which
prints `herodb listening on 127.0.0.1:PORT`; redis-server is the Debian binary. Every server is
stopped at the end of its module; each test starts with empty databases.
"""
from __future__ import annotations

import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis
from compat import Wire, matches
from procs import start_herodb
from support import start_redis_server

SERVERS = ["herodb", "redis-server"]


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


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """A HeroDB and a redis-server side by side, for comparing replies: (HeroDB port, redis
    port)."""
    d = tmp_path_factory.mktemp("pair")
    hd = start_herodb(d / "data", "--appendfsync", "no", logs=d)
    rs = start_redis_server()
    yield hd.port, rs.port
    hd.stop()
    rs.stop()
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
