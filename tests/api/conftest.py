"""A real API server over the session's redis-server and workers."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from apiproc import start_api  # noqa: E402


@pytest.fixture(scope="session")
def api(cluster, hero_settings, tmp_path_factory):
    """An API server without a key (loopback) over the test installation."""
    proc = start_api(hero_settings, tmp_path_factory.mktemp("api") / "api.log")
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def keyed_api(hero_settings, tmp_path_factory):
    """An API server that requires the key `s3cret`."""
    proc = start_api(hero_settings.with_(api_key="s3cret"),
                     tmp_path_factory.mktemp("api-key") / "api.log")
    yield proc
    proc.stop()
