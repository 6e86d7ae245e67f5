"""One HeroDB per data directory (issue 12.1): a second server on the same directory refuses
with one line naming the first one's pid, and the log the first one writes stays whole."""
from __future__ import annotations

import os

import redis
from procs import launch_herodb, start_herodb

from herocelery.herodb.lock import holder


def test_a_second_herodb_on_the_same_directory_refuses_and_nothing_is_corrupted(tmp_path):
    data = tmp_path / "data"
    first = start_herodb(data, "--appendfsync", "always", logs=tmp_path)
    try:
        r = redis.Redis.from_url(first.url)
        r.set("before", "1")
        r.rpush("queue", *[f"m{i}" for i in range(100)])
        second = launch_herodb(data, "--appendfsync", "always", logs=tmp_path)
        try:
            assert second.proc.wait(20) != 0
        finally:
            second.stop()
        lines = [ln for ln in second.stderr().splitlines() if ln.strip()]
        assert len(lines) == 1, lines
        assert str(first.proc.pid) in lines[0] and "in use by another HeroDB" in lines[0]
        assert "Traceback" not in second.stderr()
        # the first one kept serving and writing its log alone
        r.set("after", "2")
        r.rpush("queue", "last")
        assert holder(data).pid == first.proc.pid
        assert holder(data).address == f"127.0.0.1:{first.port}"
        r.close()
    finally:
        first.stop()
    assert holder(data) is None          # released when the server stops
    again = start_herodb(data, logs=tmp_path)
    try:
        r = redis.Redis.from_url(again.url)
        assert r.get("before") == b"1" and r.get("after") == b"2"
        assert r.llen("queue") == 101 and r.lindex("queue", -1) == b"last"
        r.close()
        assert "torn" not in again.stderr() and "corrupt" not in again.stderr()
    finally:
        again.stop()


def test_a_killed_herodb_leaves_no_stale_lock(tmp_path):
    data = tmp_path / "data"
    first = start_herodb(data, logs=tmp_path)
    redis.Redis.from_url(first.url).set("k", "v")
    first.kill()                          # kill -9: the kernel drops the lock
    assert holder(data) is None
    again = start_herodb(data, logs=tmp_path)
    try:
        assert redis.Redis.from_url(again.url).get("k") == b"v"
    finally:
        again.stop()


def test_the_lock_file_is_private(tmp_path):
    data = tmp_path / "data"
    server = start_herodb(data, logs=tmp_path)
    try:
        assert os.stat(data / "herodb.lock").st_mode & 0o077 == 0
    finally:
        server.stop()
