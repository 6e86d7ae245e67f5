"""Store errors are not job errors (issue 13.2): every store command is retried with backoff
on the transient errors for a bounded time, and a tier's task that still cannot reach the
store gives its message back (reject + requeue) instead of recording an error."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import redis
from celery.exceptions import Reject
from support import free_port, port_open, wait_for

from herocelery.celeryapp import store_trouble_requeues
from herocelery.errors import NotFound
from herocelery.store import TRANSIENT_ERRORS, Store, retries_for


@pytest.mark.parametrize("budget,expected", [(0.0, 0), (0.05, 1), (0.3, 3), (10.0, 10)])
def test_retries_cover_the_budget_with_capped_backoff(budget, expected):
    assert retries_for(budget) == expected


@pytest.mark.parametrize("error", [
    redis.exceptions.ConnectionError("Connection refused"),
    redis.exceptions.TimeoutError("Timeout reading from socket"),
    redis.exceptions.BusyLoadingError("LOADING Redis is loading the dataset in memory"),
    redis.exceptions.ReadOnlyError("READONLY You can't write against a read only replica."),
    redis.exceptions.MasterDownError("MASTERDOWN Link with MASTER is down"),
])
def test_a_store_that_stays_away_requeues_the_message_instead_of_failing_the_job(error):
    assert isinstance(error, TRANSIENT_ERRORS)
    with pytest.raises(Reject) as raised:
        with store_trouble_requeues("4-abc"):
            raise error
    assert raised.value.requeue is True and "4-abc" in str(raised.value.reason)


def test_a_record_that_is_gone_ends_the_task_quietly_and_a_bug_is_not_hidden():
    with store_trouble_requeues("4-abc"):
        raise NotFound("no job with id '4-abc'")
    with pytest.raises(ValueError):
        with store_trouble_requeues("4-abc"):
            raise ValueError("a bug")


class Redis:
    """redis-server on a fixed port, restartable."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="hc-store-errors-"))
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [shutil.which("redis-server") or "redis-server", "--port", str(self.port),
             "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
             str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: port_open(self.port), 10, what="redis-server")

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def server():
    s = Redis()
    s.start()
    yield s
    s.stop()


def test_a_store_command_rides_out_a_restart_of_the_server(server):
    store = Store.from_url(f"redis://127.0.0.1:{server.port}/3", retry_s=15.0)
    try:
        store.r.set("before", "1")
        server.kill()
        threading.Timer(1.0, server.start).start()     # back a second later
        t0 = time.monotonic()
        store.r.set("after", "2")                       # retried until the server is back
        assert store.r.get("after") == "2"
        assert time.monotonic() - t0 >= 0.9
    finally:
        store.close()


def test_a_client_store_gives_up_soon(server):
    store = Store.from_url(f"redis://127.0.0.1:{server.port}/3", retry_s=0.3)
    try:
        server.kill()
        t0 = time.monotonic()
        with pytest.raises(redis.exceptions.ConnectionError):
            store.r.get("x")
        assert time.monotonic() - t0 < 5
    finally:
        store.close()


def test_a_tier_reconnects_to_its_broker_soon_and_often():
    """Celery's consumer reconnects with kombu's default intervals (tries at 0, 2, 6, 12 s),
    so a store back after 2.5 s was reached at 6 s; a tier's consumer asks for 0.2 s, then
    0.5 s more each time, at most 2 s."""
    from herocelery.worker import RECONNECT, _consumer_class
    seen = {}

    class Conn:
        def ensure_connection(self, *args, **kwargs):
            seen.update(kwargs)
            return self
    consumer = _consumer_class().__new__(_consumer_class())
    consumer.app = type("App", (), {"conf": type("Conf", (), {
        "broker_connection_retry_on_startup": True, "broker_connection_retry": True,
        "broker_connection_max_retries": None})()})()
    consumer.first_connection_attempt = False
    consumer.broker_connection_retry_attempt = 0
    consumer.ensure_connected(Conn())
    assert {k: seen[k] for k in RECONNECT} == RECONNECT
