"""Fixtures shared by every room's tests. Servers bind 127.0.0.1 on free ports and stop."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from support import RedisServer, start_redis_server  # noqa: E402


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the whole session (the oracle and the default broker)."""
    server = start_redis_server()
    yield server
    server.stop()
