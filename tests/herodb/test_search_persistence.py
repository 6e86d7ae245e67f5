"""FT.* and VEC.* across restarts, kill -9, compaction and encryption; access; missing libraries
(FT, VEC, SYM/AGE).

Indexes and vector sets are rebuilt from the append-only log at start (their writes are logged
as commands, compaction dumps them), so they keep exactly the log's guarantees: with any
fsync policy a kill -9 loses nothing acknowledged. Real HeroDB subprocesses throughout.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import pytest
import redis
from compat import Wire
from procs import start_herodb
from support import wait_for

LOG_NAME = "herodb.aof"
SECRET = "ft-admin-secret"


def fill(r: redis.Redis, n: int = 300) -> None:
    r.execute_command("FT.CREATE", "notes", "SCHEMA", "body", "TEXT", "kind", "TAG",
                      "rank", "NUMERIC")
    r.execute_command("VEC.CREATE", "emb", "DIM", 4, "METRIC", "cosine")
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.execute_command("FT.ADD", "notes", f"n{i}", 1.0, "body", f"note number{i} about "
                             f"{'apples' if i % 2 else 'pears'}", "kind", f"k{i % 3}", "rank", i)
        pipe.execute_command("VEC.ADD", "emb", f"v{i}", json.dumps([1, i, i % 5, 1]), "META",
                             json.dumps({"i": i}))
    pipe.execute()
    r.execute_command("FT.DEL", "notes", "n0")
    r.execute_command("VEC.DEL", "emb", "v0")


def state(r: redis.Redis) -> dict[str, object]:
    """What the indexes answer: enough to tell any lost or extra write."""
    def search(q: str) -> list[bytes]:
        return sorted(r.execute_command("FT.SEARCH", "notes", q, "NOCONTENT", "LIMIT", 0, 1000
                                        )[1:])
    info = r.execute_command("VEC.INFO", "emb")
    return {"apples": search("apples"), "k1": search("@kind:{k1}"),
            "ranks": search("@rank:[100 120]"), "prefix": search("number29*"),
            "vec_count": dict(zip(info[::2], info[1::2], strict=False))[b"count"],
            "nearest": r.execute_command("VEC.SEARCH", "emb", 3, "[1, 7, 2, 1]"),
            "lists": (r.execute_command("FT._LIST"), r.execute_command("VEC.LIST"))}


@pytest.mark.parametrize("policy", ["always", "everysec", "no"])
def test_kill_9_loses_nothing_acknowledged_whatever_the_policy(tmp_path, policy):
    data = tmp_path / "data"
    server = start_herodb(data, "--appendfsync", policy, logs=tmp_path)
    try:
        r = redis.Redis(port=server.port)
        fill(r)
        before = state(r)
        assert len(before["apples"]) == 150 and before["vec_count"] == 299
    finally:
        server.kill()
    server = start_herodb(data, "--appendfsync", policy, logs=tmp_path)
    try:
        assert state(redis.Redis(port=server.port)) == before
    finally:
        server.stop()


def test_a_compacted_log_recreates_indexes_and_vectors(tmp_path):
    data = tmp_path / "data"
    server = start_herodb(data, logs=tmp_path)
    log_file = data / LOG_NAME
    try:
        r = redis.Redis(port=server.port)
        fill(r)
        for i in range(1, 100):  # churn that compaction drops
            r.execute_command("FT.ADD", "notes", "churn", 1, "body", f"version {i}")
        inode = log_file.stat().st_ino
        r.bgrewriteaof()
        wait_for(lambda: log_file.stat().st_ino != inode, 20, what="the log to be rewritten")
        r.execute_command("FT.ADD", "notes", "late", 1, "body", "apples after the rewrite")
        before = state(r)
        assert b"late" in before["apples"]
    finally:
        server.kill()
    assert b"version 1 " not in log_file.read_bytes()  # the dump holds live documents only
    server = start_herodb(data, logs=tmp_path)
    try:
        r = redis.Redis(port=server.port)
        assert state(r) == before
        assert r.execute_command("FT.SEARCH", "notes", "version", "RETURN", 1, "body") == [
            1, b"churn", [b"body", b"version 99"]]
    finally:
        server.stop()


def test_an_encrypted_database_writes_no_term_or_vector_in_the_clear(tmp_path):
    data = tmp_path / "data"
    key = ["--encryption-key", "index-key"]
    server = start_herodb(data, *key, logs=tmp_path)
    try:
        r = redis.Redis(port=server.port)
        r.execute_command("FT.CREATE", "secret_idx", "SCHEMA", "body", "TEXT")
        r.execute_command("FT.ADD", "secret_idx", "doc", 1, "body", "zanzibarword")
        r.execute_command("VEC.CREATE", "secret_vec", "DIM", 2)
        r.execute_command("VEC.ADD", "secret_vec", "v", "[0.25, 0.5]", "META",
                          '{"label": "quokkameta"}')
        r.bgrewriteaof()
    finally:
        server.stop()
    files = [p for p in data.rglob("*") if p.is_file()]
    assert files
    needle_vec = np.asarray([0.25, 0.5], dtype="<f4").tobytes()
    for p in files:
        raw = p.read_bytes()
        for needle in (b"zanzibarword", b"quokkameta", b"secret_idx", needle_vec):
            assert needle not in raw, f"{needle!r} readable in {p}"
    server = start_herodb(data, *key, logs=tmp_path)
    try:
        r = redis.Redis(port=server.port)
        assert r.execute_command("FT.SEARCH", "secret_idx", "zanzibarword", "NOCONTENT") == [
            1, b"doc"]
        assert r.execute_command("VEC.SEARCH", "secret_vec", 1, "[1, 2]")[0][0] == b"v"
    finally:
        server.stop()


def test_access_keys_rule_indexes_and_deleting_a_database_drops_them(tmp_path):
    data = tmp_path / "data"
    server = start_herodb(data, "--admin-secret", SECRET, logs=tmp_path)
    try:
        admin = redis.Redis(port=server.port, password=SECRET)
        for n in (5, 6):
            admin.execute_command("HERODB", "DBCREATE", n, "PRIVATE")
        rw = admin.execute_command("HERODB", "KEYCREATE", 5, "readwrite").decode()
        ro = admin.execute_command("HERODB", "KEYCREATE", 5, "read").decode()
        other = admin.execute_command("HERODB", "KEYCREATE", 6, "readwrite").decode()
        writer = redis.Redis(port=server.port, db=5, username="5", password=rw)
        writer.execute_command("FT.CREATE", "idx", "SCHEMA", "body", "TEXT")
        writer.execute_command("FT.ADD", "idx", "d", 1, "body", "hello")
        writer.execute_command("VEC.CREATE", "vs", "DIM", 2)
        writer.execute_command("VEC.ADD", "vs", "a", "[1, 0]")
        reader = redis.Redis(port=server.port, db=5, username="5", password=ro)
        assert reader.execute_command("FT.SEARCH", "idx", "hello", "NOCONTENT") == [1, b"d"]
        assert reader.execute_command("VEC.SEARCH", "vs", 1, "[1, 0]")[0][0] == b"a"
        for argv in (("FT.ADD", "idx", "e", 1, "body", "x"), ("FT.DEL", "idx", "d"),
                     ("FT.CREATE", "i2", "SCHEMA", "a", "TEXT"), ("FT.DROP", "idx"),
                     ("VEC.ADD", "vs", "b", "[0, 1]"), ("VEC.DROP", "vs")):
            with pytest.raises(redis.ResponseError, match="read-only access to database 5"):
                reader.execute_command(*argv)
        stranger = redis.Redis(port=server.port, db=6, username="6", password=other)
        with pytest.raises(redis.ResponseError, match="Unknown index name 'idx'"):
            stranger.execute_command("FT.SEARCH", "idx", "hello")
        assert stranger.execute_command("VEC.LIST") == []
        with pytest.raises(redis.ResponseError, match="database 5 is private"):
            stranger.execute_command("SELECT", 5)
        assert writer.execute_command("FT.SEARCH", "idx", "hello", "NOCONTENT") == [1, b"d"]
        admin.execute_command("HERODB", "DBDELETE", 5)
        admin.execute_command("HERODB", "DBCREATE", 5, "PUBLIC")
        assert public_lists(server.port) == [[], []]
    finally:
        server.kill()
    server = start_herodb(data, "--admin-secret", SECRET, logs=tmp_path)
    try:
        assert public_lists(server.port) == [[], []]
    finally:
        server.stop()


def public_lists(port: int) -> list[object]:
    """FT._LIST and VEC.LIST of the public database 5, without credentials."""
    w = Wire(port)
    try:
        assert w.call("SELECT", 5) == "OK"
        return [w.call("FT._LIST"), w.call("VEC.LIST")]
    finally:
        w.close()


BLOCKER = """
import sys
for name in ("tantivy", "usearch", "usearch.index", "nacl", "pyrage"):
    sys.modules[name] = None  # as if the package were not installed
from herocelery.herodb.cli import main
sys.argv = ["herodb", "serve", "--port", "0"]
main()
"""


def test_without_the_optional_libraries_the_server_starts_and_says_what_is_missing(tmp_path):
    import re
    import subprocess
    out = tmp_path / "out"
    with open(out, "wb") as o:
        proc = subprocess.Popen([sys.executable, "-c", BLOCKER], stdout=o,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        port = int(wait_for(lambda: re.search(rb"listening on 127\.0\.0\.1:(\d+)",
                                              out.read_bytes()), 20).group(1))
        r = redis.Redis(port=port)
        r.set("plain", "works")
        assert r.get("plain") == b"works"
        with pytest.raises(redis.ResponseError, match="needs the 'tantivy' package"):
            r.execute_command("FT.CREATE", "i", "SCHEMA", "a", "TEXT")
        with pytest.raises(redis.ResponseError, match="needs the 'usearch' and 'numpy'"):
            r.execute_command("VEC.CREATE", "v", "DIM", 2)
        with pytest.raises(redis.ResponseError, match="needs the 'tantivy' package"):
            r.execute_command("FT.SEARCH", "i", "x")
        with pytest.raises(redis.ResponseError, match="need the 'pynacl' and 'pyrage'"):
            r.execute_command("SYM", "KEYGEN")
        with pytest.raises(redis.ResponseError, match="need the 'pynacl' and 'pyrage'"):
            r.execute_command("AGE", "LIST")
    finally:
        proc.terminate()
        proc.wait(10)
