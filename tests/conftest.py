"""Fixtures shared by every room's tests. Servers bind 127.0.0.1 on free ports and stop."""
from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import RedisServer, start_redis_server  # noqa: E402


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the whole session (the oracle and the default broker)."""
    server = start_redis_server()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hero_settings(redis_server: RedisServer, tmp_path_factory: pytest.TempPathFactory):
    """Settings of the test installation: the real redis-server as broker and store."""
    from herocelery.settings import Settings
    return Settings.load(env={}, broker_url=redis_server.url + "/1",
                         data_dir=tmp_path_factory.mktemp("hero-data"), lease_s=3.0,
                         heartbeat_s=0.5, concurrency=3, job_timeout_s=20.0,
                         visibility_timeout_s=60.0, job_retry_backoff_s=0.2,
                         runner_wait_s=5.0, log_level="INFO")


@pytest.fixture(scope="session")
def cluster(hero_settings, tmp_path_factory: pytest.TempPathFactory):
    """A supervisor and python + shell runner workers on node1, as real subprocesses."""
    from herocelery.launcher import Cluster
    c = Cluster(hero_settings, {"node1": ["python", "shell"]},
                tmp_path_factory.mktemp("hero-logs"))
    c.start(timeout_s=180)
    yield c
    c.stop()
