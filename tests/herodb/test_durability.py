"""Durability: kill -9 HeroDB, restart it on the same directory, and find everything again.

Every test runs the real server as a subprocess and kills it with SIGKILL (no flush, no fsync,
no goodbye), so what survives is exactly what the log had handed to the operating system.
"""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from hypothesis import given, settings
from hypothesis import strategies as st
from procs import HeroDB, launch_herodb, start_herodb
from support import wait_for

from herocelery.herodb.persist import AppendLog, LogError, decode_records, encode_records

POLICIES = ["always", "everysec", "no"]
LOG_NAME = "herodb.aof"
SECRET_WORDS = [b"zebra-name-QX7", b"walrus-value-KJ3", b"heron-field-PL9", b"lynx-member-WQ2"]


def client(server: HeroDB, **kw: Any) -> redis.Redis:
    return redis.Redis(port=server.port, socket_timeout=10, **kw)


def populate(r: redis.Redis) -> None:
    """One of every kind of value, TTLs, queued messages, several databases, deletions."""
    r.set("s:plain", "hello")
    r.set("s:bin", bytes(range(256)))
    r.set("s:ttl", "expiring", ex=3600)
    r.set("s:pttl", "expiring-ms", px=7_200_123)
    r.set("s:gone", "x")
    r.delete("s:gone")
    r.set("s:short", "x", px=1)              # expires at once: must not come back
    r.incrby("n:counter", 41)
    r.incr("n:counter")
    r.incrbyfloat("n:float", 2.5)
    r.append("s:plain", " world")
    r.hset("h:job", mapping={"status": "started", "attempts": "2", "result": "{}"})
    r.hdel("h:job", "result")
    r.hincrby("h:job", "attempts", 1)
    r.rpush("q:celery", *[f"msg-{i}" for i in range(20)])
    r.lpop("q:celery", 3)
    r.lmove("q:celery", "q:unacked", "LEFT", "RIGHT")
    r.sadd("set:a", "x", "y", "z")
    r.srem("set:a", "y")
    r.zadd("z:prio", {"low": 9, "mid": 5, "high": 0.5})
    r.zincrby("z:prio", 10, "low")
    r.expire("h:job", 1800)
    r.pexpireat("z:prio", 4102444800123)
    r.rename("set:a", "set:b")
    pipe = r.pipeline(transaction=True)
    pipe.set("tx:one", "1")
    pipe.rpush("tx:list", "a", "b")
    pipe.execute()
    r.eval("redis.call('SET', KEYS[1], ARGV[1]); redis.call('EXPIRE', KEYS[1], 900)", 1,
           "lua:key", "from-lua")
    r.execute_command("SELECT", "5")
    r.set("db5:key", "in five", ex=600)
    r.rpush("db5:queue", "m1", "m2")
    r.execute_command("SELECT", "0")


def snapshot(port: int, dbs: tuple[int, ...] = (0, 5)) -> dict[int, dict[bytes, Any]]:
    """Every key of the databases: type, value and absolute expiry (ms)."""
    out: dict[int, dict[bytes, Any]] = {}
    for db in dbs:
        r = redis.Redis(port=port, db=db, socket_timeout=10)
        state: dict[bytes, Any] = {}
        for key in r.keys("*"):
            kind = r.type(key)
            value: Any
            if kind == b"string":
                value = r.get(key)
            elif kind == b"hash":
                value = r.hgetall(key)
            elif kind == b"list":
                value = r.lrange(key, 0, -1)
            elif kind == b"set":
                value = sorted(r.smembers(key))
            else:
                value = r.zrange(key, 0, -1, withscores=True)
            state[key] = (kind, value, r.pexpiretime(key))
        out[db] = state
        r.close()
    return out


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.mark.parametrize("policy, compacted", [(p, False) for p in POLICIES]
                         + [("everysec", True)])
def test_a_killed_server_comes_back_with_every_key_ttl_and_queue(data_dir, tmp_path, policy,
                                                                 compacted):
    server = start_herodb(data_dir, "--appendfsync", policy, logs=tmp_path)
    try:
        r = client(server)
        populate(r)
        if compacted:                      # the dump must recreate every type and TTL too
            inode = (data_dir / LOG_NAME).stat().st_ino
            r.bgrewriteaof()
            wait_for(lambda: (data_dir / LOG_NAME).stat().st_ino != inode, 20,
                     what="the log to be rewritten")
            r.rpush("q:celery", "after-rewrite")
        before = snapshot(server.port)
    finally:
        server.kill()
    queue = [f"msg-{i}".encode() for i in range(4, 20)] + ([b"after-rewrite"] if compacted else [])
    assert before[0][b"q:celery"][1] == queue
    assert b"s:short" not in before[0] and b"s:gone" not in before[0]
    server = start_herodb(data_dir, "--appendfsync", policy, logs=tmp_path)
    try:
        after = snapshot(server.port)
    finally:
        server.stop()
    assert after == before
    assert after[0][b"s:ttl"][2] > 0 and after[5][b"db5:key"][2] > 0


@pytest.mark.parametrize("writers", [1, 4])
def test_with_always_every_acknowledged_write_survives_kill_9(data_dir, tmp_path, writers):
    """Several writers share one fsync per loop iteration (group commit); none may lose."""
    server = start_herodb(data_dir, "--appendfsync", "always", logs=tmp_path)
    acked = [0] * writers
    stop = threading.Event()

    def writer(k: int) -> None:
        r = client(server, retry_on_error=[])
        try:
            i = 0
            while not stop.is_set():
                r.rpush(f"acked:{k}", i)
                i += 1
                acked[k] = i
        except (redis.ConnectionError, redis.TimeoutError):
            pass

    threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(writers)]
    for t in threads:
        t.start()
    wait_for(lambda: min(acked) >= 100, 30, what="100 acknowledged writes per writer")
    server.kill()          # mid-stream: every writer has a request in flight
    stop.set()
    for t in threads:
        t.join(10)
    n_acked = list(acked)
    server = start_herodb(data_dir, "--appendfsync", "always", logs=tmp_path)
    try:
        r = client(server)
        lists = [r.lrange(f"acked:{k}", 0, -1) for k in range(writers)]
    finally:
        server.stop()
    for n, items in zip(n_acked, lists, strict=False):
        assert n <= len(items) <= n + 1
        assert items == [str(i).encode() for i in range(len(items))]


def test_compaction_under_concurrent_writes_loses_nothing(data_dir, tmp_path):
    server = start_herodb(data_dir, "--appendfsync", "everysec", logs=tmp_path)
    log_file = data_dir / LOG_NAME
    stop = threading.Event()
    done: dict[str, int] = {}

    def writer(name: str) -> None:
        r = client(server)
        i = 0
        while not stop.is_set() or i < 50:
            pipe = r.pipeline(transaction=False)
            pipe.rpush(f"{name}:list", i)
            pipe.set(f"{name}:key:{i % 200}", i)
            pipe.incr(f"{name}:count")
            pipe.hset(f"{name}:hash", str(i % 100), i)
            pipe.execute()
            i += 1
        done[name] = i

    try:
        admin = client(server)
        admin.rpush("old", *range(2000))
        for i in range(2000):                   # garbage for compaction to drop
            admin.set("churn", i)
        threads = [threading.Thread(target=writer, args=(f"w{k}",), daemon=True)
                   for k in range(2)]
        for t in threads:
            t.start()
        inodes = {log_file.stat().st_ino}
        for _ in range(3):                      # three rewrites while the writers write
            admin.bgrewriteaof()
            wait_for(lambda: log_file.stat().st_ino not in inodes, 20,
                     what="the log to be rewritten")
            inodes.add(log_file.stat().st_ino)
        stop.set()
        for t in threads:
            t.join(30)
        before = snapshot(server.port, (0,))
    finally:
        server.kill()
    for name, n in done.items():
        assert before[0][f"{name}:list".encode()][1] == [str(i).encode() for i in range(n)]
        assert before[0][f"{name}:count".encode()][1] == str(n).encode()
    server = start_herodb(data_dir, "--appendfsync", "everysec", logs=tmp_path)
    try:
        after = snapshot(server.port, (0,))
    finally:
        server.stop()
    assert after == before
    assert after[0][b"churn"][1] == b"1999"


def test_a_torn_final_record_is_dropped_with_a_log_line(data_dir, tmp_path):
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        r = client(server)
        r.set("kept", "yes")
        r.rpush("queue", "a", "b")
    finally:
        server.kill()
    with open(data_dir / LOG_NAME, "ab") as f:      # a crash in the middle of a frame
        f.write(b"\x40\x00\x00\x00\x12\x34\x56\x78partial")
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        r = client(server)
        assert r.get("kept") == b"yes" and r.lrange("queue", 0, -1) == [b"a", b"b"]
        r.set("after", "restart")                   # appends after the cut, not after garbage
    finally:
        server.kill()
    assert "dropped a torn final record" in server.stderr()
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        assert client(server).mget("kept", "after") == [b"yes", b"restart"]
    finally:
        server.stop()
    assert "dropped a torn final record" not in server.stderr()


def test_a_cut_encrypted_log_loses_only_its_last_record(data_dir, tmp_path):
    server = start_herodb(data_dir, "--encryption-key", "pass phrase", "--appendfsync",
                          "always", logs=tmp_path)
    try:
        r = client(server)
        r.set("first", "1")
        r.set("second", "2")
    finally:
        server.kill()
    path = data_dir / LOG_NAME
    path.write_bytes(path.read_bytes()[:-5])
    server = start_herodb(data_dir, "--encryption-key", "pass phrase", logs=tmp_path)
    try:
        assert client(server).mget("first", "second") == [b"1", None]
    finally:
        server.stop()
    assert "dropped a torn final record" in server.stderr()


def _write_secrets(server: HeroDB) -> None:
    r = client(server)
    zebra, walrus, heron, lynx = SECRET_WORDS
    r.set(zebra, walrus, ex=1000)
    r.hset(b"h:" + zebra, heron, walrus)
    r.sadd(b"s:" + zebra, lynx)
    r.rpush(b"l:" + zebra, walrus)
    r.bgrewriteaof()                # the compacted file must be sealed too
    r.set(b"after:" + zebra, walrus)


def _readable(directory: Path) -> list[bytes]:
    blob = b"".join(p.read_bytes() for p in directory.rglob("*") if p.is_file())
    return [w for w in SECRET_WORDS if w in blob]


def test_encryption_leaves_no_key_name_or_value_readable(data_dir, tmp_path):
    plain_dir = tmp_path / "plain"
    server = start_herodb(plain_dir, logs=tmp_path)
    try:
        _write_secrets(server)
    finally:
        server.stop()
    assert _readable(plain_dir) == SECRET_WORDS      # the grep does find plain text

    server = start_herodb(data_dir, "--encryption-key", "correct horse", logs=tmp_path)
    try:
        _write_secrets(server)
        wait_for(lambda: b"HERODBLOG1E" in (data_dir / LOG_NAME).read_bytes()[:11], 10,
                 what="an encrypted log")
    finally:
        server.kill()
    assert _readable(data_dir) == []
    server = start_herodb(data_dir, "--encryption-key", "correct horse", logs=tmp_path)
    try:
        r = client(server)
        zebra, walrus, heron, lynx = SECRET_WORDS
        assert r.get(zebra) == walrus and r.hget(b"h:" + zebra, heron) == walrus
        assert r.smembers(b"s:" + zebra) == {lynx} and r.get(b"after:" + zebra) == walrus
        assert 0 < r.ttl(zebra) <= 1000
    finally:
        server.stop()


@pytest.mark.parametrize("key_args, message", [
    (["--encryption-key", "wrong horse"], "wrong encryption key for"),
    ([], "is encrypted"),
])
def test_a_wrong_or_missing_key_is_a_clear_startup_error(data_dir, tmp_path, key_args, message):
    server = start_herodb(data_dir, "--encryption-key", "correct horse", logs=tmp_path)
    try:
        client(server).set("k", "v")
    finally:
        server.stop()
    failed = launch_herodb(data_dir, *key_args, logs=tmp_path)
    assert failed.proc.wait(30) != 0
    err = failed.stderr()
    assert message in err and str(data_dir / LOG_NAME) in err
    assert "Traceback" not in err


def test_a_key_that_expired_while_the_server_was_down_stays_gone(data_dir, tmp_path):
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        r = client(server)
        r.set("brief", "v", px=400)
        r.set("long", "v", ex=600)
        deadline = r.pexpiretime("brief")
    finally:
        server.kill()
    wait_for(lambda: int(time.time() * 1000) > deadline, 5, what="the key's expiry time to pass")
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        r = client(server)
        assert r.exists("brief") == 0 and r.exists("long") == 1
    finally:
        server.stop()


# ---- the log object itself (real files, no server) ------------------------------------------
records = st.lists(st.tuples(st.integers(0, 65535),
                             st.lists(st.binary(max_size=40), min_size=1, max_size=6)),
                   max_size=20)


@settings(max_examples=60, deadline=None)
@given(records)
def test_records_round_trip_through_the_frame_payload(recs):
    assert list(decode_records(encode_records(recs))) == [(db, list(a)) for db, a in recs]


def test_the_log_compacts_itself_past_its_growth_limit(tmp_path):
    log = AppendLog(tmp_path / "x.aof", "no", rewrite_growth=2.0, rewrite_min_bytes=10_000)
    assert list(log.load()) == []
    writes = 0
    while not log.should_rewrite():
        log.append(0, [b"SET", b"counter", str(writes).encode()])
        log.flush()
        writes += 1
        assert writes < 10_000
    big = log.size
    assert log.rewrite([(0, [b"SET", b"counter", str(writes - 1).encode()])])
    log.append(0, [b"SET", b"late", b"1"])          # arrives while the new file is written
    log.flush()
    log.wait_rewrite()
    assert log.size < big / 10 and not log.should_rewrite()
    log.close()
    assert list(AppendLog(tmp_path / "x.aof").load()) == [
        (0, [b"SET", b"counter", str(writes - 1).encode()]), (0, [b"SET", b"late", b"1"])]


def test_damage_in_the_middle_is_an_error_naming_file_and_offset(tmp_path):
    path = tmp_path / "x.aof"
    log = AppendLog(path, "always")
    list(log.load())
    for i in range(3):
        log.append(0, [b"SET", b"k", b"value-%d" % i])
        log.flush()
    log.close()
    data = bytearray(path.read_bytes())
    data[data.index(b"value-0")] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(LogError, match=r"x\.aof: corrupt record at offset \d+ followed by more"):
        list(AppendLog(path).load())


def test_a_file_that_is_not_a_log_is_refused(tmp_path):
    path = tmp_path / "x.aof"
    path.write_bytes(b"*1\r\n$4\r\nPING\r\n")
    with pytest.raises(LogError, match="is not a HeroDB log"):
        AppendLog(path)
    with pytest.raises(LogError, match="appendfsync must be one of"):
        AppendLog(tmp_path / "y.aof", "sometimes")


def test_random_time_and_blocking_writes_replay_to_the_same_state(data_dir, tmp_path):
    """SPOP, scripts reading TIME, GETEX/EXPIRE and pops served to blocked clients are logged
    as the writes they made, so replay cannot pick other members or other times."""
    server = start_herodb(data_dir, "--appendfsync", "always", logs=tmp_path)
    try:
        r = client(server)
        r.sadd("members", *range(60))
        r.spop("members", 20)
        r.spop("members")
        r.eval("redis.call('SET', KEYS[1], redis.call('TIME')[2]); "
               "redis.call('SADD', KEYS[2], redis.call('SRANDMEMBER', KEYS[3]))", 3,
               "lua:time", "lua:picked", "members")
        r.set("getex", "v")
        r.getex("getex", ex=777)
        r.incrbyfloat("float", "0.1")
        r.incrbyfloat("float", "0.2")
        waiting = client(server)
        result: list[Any] = []
        t = threading.Thread(target=lambda: result.append(
            waiting.blmove("src", "dst", 10, "LEFT", "RIGHT")))
        t.start()
        wait_for(lambda: r.info("clients")["blocked_clients"] == 1, 10, what="a blocked client")
        r.rpush("src", "a", "b")
        t.join(10)
        assert result == [b"a"]
        before = snapshot(server.port, (0,))
    finally:
        server.kill()
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        after = snapshot(server.port, (0,))
    finally:
        server.stop()
    assert after == before
    assert after[0][b"dst"][1] == [b"a"] and after[0][b"src"][1] == [b"b"]
    assert len(after[0][b"members"][1]) == 39 and after[0][b"getex"][2] > 0


def test_a_crash_in_the_middle_of_a_rewrite_keeps_the_old_log(data_dir, tmp_path):
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        client(server).rpush("queue", "a", "b", "c")
    finally:
        server.kill()
    # what a kill -9 during compaction leaves: a half-written new file next to the log
    (data_dir / (LOG_NAME + ".rewrite.tmp")).write_bytes(b"HERODBLOG1P\x10\x00\x00\x00half")
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        r = client(server)
        assert r.lrange("queue", 0, -1) == [b"a", b"b", b"c"]
        r.bgrewriteaof()
        r.rpush("queue", "d")
        wait_for(lambda: not (data_dir / (LOG_NAME + ".rewrite.tmp")).exists(), 20,
                 what="the rewrite to replace its temporary file")
    finally:
        server.kill()
    server = start_herodb(data_dir, logs=tmp_path)
    try:
        assert client(server).lrange("queue", 0, -1) == [b"a", b"b", b"c", b"d"]
    finally:
        server.stop()
