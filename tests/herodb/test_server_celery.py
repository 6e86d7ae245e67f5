"""Celery with HeroDB as broker and result backend: a real worker subprocess, real TCP.

This is the test herocelery's embedded default depends on: chains, groups, chords (one with a
failing member), retries, revokes and Flower, all through kombu's Redis transport and Celery's
Redis backend (chord Lua scripts via EVALSHA, pub/sub result consumer, BRPOP queues).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery, chain, chord, group
from celery.exceptions import ChordError
from procs import start_herodb
from support import free_port, wait_for

TASKS = textwrap.dedent('''
    import os, time
    import redis
    from celery import Celery

    URL = os.environ["HC_URL"]
    app = Celery("hctasks", broker=URL + "/0", backend=URL + "/1")
    app.conf.update(worker_prefetch_multiplier=1, task_track_started=True,
                    broker_connection_retry_on_startup=True, result_expires=600)

    @app.task
    def add(x, y):
        return x + y

    @app.task
    def tsum(xs):
        return sum(xs)

    @app.task
    def boom(x):
        raise ValueError(f"boom {x}")

    @app.task(bind=True, max_retries=5)
    def flaky(self, key, succeed_on):
        n = redis.Redis.from_url(URL + "/2").incr(key)
        if n < succeed_on:
            raise self.retry(countdown=0.05)
        return n

    @app.task
    def sleepy(seconds):
        time.sleep(seconds)
        return "slept"
''')


@pytest.fixture(scope="module")
def herodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    d = tmp_path_factory.mktemp("celery-herodb")
    server = start_herodb(d / "data", "--appendfsync", "everysec", logs=d)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tasks_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("celery-tasks")
    (d / "hctasks.py").write_text(TASKS)
    return d


def _env(herodb: Any, tasks_dir: Path) -> dict[str, str]:
    env = dict(os.environ, HC_URL=herodb.url, PYTHONPATH=f"{tasks_dir}{os.pathsep}"
               f"{os.environ.get('PYTHONPATH', '')}")
    return env


@pytest.fixture(scope="module")
def app(herodb: Any, tasks_dir: Path) -> Iterator[Celery]:
    """The tasks module imported here too, and a worker subprocess consuming from HeroDB."""
    os.environ["HC_URL"] = herodb.url
    sys.path.insert(0, str(tasks_dir))
    import hctasks  # noqa: E402  (written by the fixture above)
    log = open(tasks_dir / "worker.log", "wb")
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hctasks", "worker", "-P", "threads", "-c", "4",
         "--without-gossip", "--without-mingle", "-l", "warning", "-n", "w1@herodb"],
        env=_env(herodb, tasks_dir), stdout=log, stderr=subprocess.STDOUT, cwd=tasks_dir)
    try:
        wait_for(lambda: hctasks.app.control.ping(timeout=0.5), 40, interval=0.1,
                 what="the celery worker to answer ping over HeroDB")
        yield hctasks.app
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
        log.close()
        sys.path.remove(str(tasks_dir))
        sys.modules.pop("hctasks", None)


def test_a_single_task_result_comes_back(app: Celery) -> None:
    assert app.tasks["hctasks.add"].delay(2, 3).get(timeout=20) == 5


def test_a_chain_passes_each_result_on(app: Celery) -> None:
    add = app.tasks["hctasks.add"]
    assert chain(add.s(1, 1), add.s(10), add.s(100)).apply_async().get(timeout=30) == 112


def test_a_group_returns_every_result_in_order(app: Celery) -> None:
    add = app.tasks["hctasks.add"]
    assert group(add.s(i, i) for i in range(10)).apply_async().get(timeout=30) == \
        [2 * i for i in range(10)]


def test_a_chord_sums_its_header(app: Celery) -> None:
    add, tsum = app.tasks["hctasks.add"], app.tasks["hctasks.tsum"]
    result = chord((add.s(i, 1) for i in range(20)), tsum.s()).apply_async()
    assert result.get(timeout=60) == sum(i + 1 for i in range(20))


def test_a_chord_with_a_failing_member_fails_its_callback(app: Celery) -> None:
    add, boom, tsum = (app.tasks[f"hctasks.{n}"] for n in ("add", "boom", "tsum"))
    result = chord([add.s(1, 1), boom.s(7), add.s(2, 2)], tsum.s()).apply_async()
    with pytest.raises((ChordError, ValueError)) as info:  # the member's error surfaces first
        result.get(timeout=60)
    assert "boom 7" in str(info.value)
    wait_for(lambda: result.state == "FAILURE", 30, interval=0.1, what="the chord callback to fail")
    assert isinstance(result.result, ChordError) and "boom 7" in str(result.result)


def test_a_task_retries_until_it_succeeds(app: Celery) -> None:
    flaky = app.tasks["hctasks.flaky"]
    key = f"attempts-{os.getpid()}-{free_port()}"
    assert flaky.delay(key, 3).get(timeout=30) == 3


def test_a_revoked_task_never_runs(app: Celery) -> None:
    sleepy = app.tasks["hctasks.sleepy"]
    result = sleepy.apply_async((0,), countdown=2)
    result.revoke()
    wait_for(lambda: result.state == "REVOKED", 30, interval=0.1, what="the task to be revoked")
    assert result.state == "REVOKED"


def test_flower_sees_the_worker_through_herodb(app: Celery, herodb: Any, tasks_dir: Path) -> None:
    port = free_port()
    log = open(tasks_dir / "flower.log", "wb")
    flower = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hctasks", "flower", f"--port={port}",
         "--address=127.0.0.1", "--inspect_timeout=2000"],
        env=dict(_env(herodb, tasks_dir), FLOWER_UNAUTHENTICATED_API="true"),
        stdout=log, stderr=subprocess.STDOUT, cwd=tasks_dir)

    def workers() -> dict[str, Any]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/workers?refresh=1",
                                    timeout=5) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def queues() -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/queues/length",
                                    timeout=5) as resp:
            return json.loads(resp.read())["active_queues"]  # type: ignore[no-any-return]
    try:
        seen = wait_for(workers, 40, interval=0.3, what="flower to list the worker")
        assert "w1@herodb" in seen
        assert any(q["name"] == "celery" for q in wait_for(queues, 20, interval=0.3,
                                                           what="flower's broker queue view"))
    finally:
        flower.terminate()
        try:
            flower.wait(10)
        except subprocess.TimeoutExpired:
            flower.kill()
            flower.wait()
        log.close()
