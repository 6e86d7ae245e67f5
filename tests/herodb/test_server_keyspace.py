"""The keyspace without a server: typed values, expiry, and dump() (what compaction writes)
recreating every live key with its TTL."""
from __future__ import annotations

from herocelery.herodb.engine import Engine
from herocelery.herodb.keyspace import now_ms
from herocelery.herodb.protocol import ReplyError


def run(engine: Engine, *commands: list[bytes | str]) -> list[object]:
    c = engine.new_client()
    out = []
    for cmd in commands:
        out.append(engine.execute(c, [a if isinstance(a, bytes) else a.encode() for a in cmd]))
    return out


def state(engine: Engine) -> dict[tuple[int, bytes], object]:
    """Every live key as plain Python data, with its absolute expiry."""
    snap: dict[tuple[int, bytes], object] = {}
    for db in engine.keyspace.dbs:
        for key in db.keys():
            value = db.data[key]
            plain = dict(value.scores) if hasattr(value, "scores") else (
                list(value) if type(value).__name__ in ("deque", "QList") else value)
            snap[(db.index, key)] = (plain, db.expires.get(key))
    return snap


def test_dump_recreates_every_type_ttl_and_database() -> None:
    source = Engine(databases=4)
    run(source, ["SET", "s", "v"], ["SET", "t", "v", "PX", "100000"],
        ["HSET", "h", "a", "1", "b", "2"], ["RPUSH", "l", "x", "y", "z"],
        ["SADD", "set", "m1", "m2"], ["ZADD", "z", "1.5", "a", "-inf", "b", "3", "c"],
        ["SELECT", "3"], ["SET", "other-db", "here"])
    run(source, *[["RPUSH", "long", str(i)] for i in range(1500)])  # more than one chunk
    copy = Engine(databases=4)
    c = copy.new_client()
    for db, argv in source.keyspace.dump():
        c.select(db)
        reply = copy.execute(c, argv)
        assert not isinstance(reply, ReplyError), (argv[:2], reply)
    assert state(copy) == state(source)
    assert copy.keyspace.dbs[0].expires[b"t"] > now_ms()


def test_an_expired_key_is_never_returned_and_is_removed_actively() -> None:
    engine = Engine()
    when = now_ms() - 1
    run(engine, ["SET", "gone", "v"], ["SET", "kept", "v"])
    engine.keyspace.dbs[0].set_expire(b"gone", when)
    assert run(engine, ["GET", "gone"], ["EXISTS", "gone", "kept"]) == [None, 1]
    engine.keyspace.dbs[0].data[b"late"] = b"v"
    engine.keyspace.dbs[0].set_expire(b"late", when)
    assert (0, b"late") in engine.keyspace.expire_cycle()
    assert b"late" not in engine.keyspace.dbs[0].data


def test_wrongtype_and_empty_containers() -> None:
    engine = Engine()
    replies = run(engine, ["SET", "s", "v"], ["LPUSH", "s", "x"], ["RPUSH", "l", "a"],
                  ["LPOP", "l"], ["EXISTS", "l"], ["SADD", "q", "a"], ["SREM", "q", "a"],
                  ["TYPE", "q"])
    assert isinstance(replies[1], ReplyError) and replies[1].text.startswith("WRONGTYPE")
    assert replies[4] == 0 and replies[7] == "none"


def test_writes_reach_the_log_as_deterministic_effects() -> None:
    class Log:
        def __init__(self) -> None:
            self.records: list[tuple[int, list[bytes]]] = []

        def append(self, db: int, argv: list[bytes]) -> None:
            self.records.append((db, argv))

    log = Log()
    engine = Engine(log=log)
    run(engine, ["SET", "a", "1", "EX", "100"], ["EXPIRE", "a", "50"], ["SADD", "s", "x", "y"],
        ["SPOP", "s"], ["EVAL", "redis.call('INCR', KEYS[1]) return 1", "1", "n"],
        ["GET", "a"], ["DEL", "nothing"], ["SELECT", "2"], ["LPUSH", "q", "m"])
    assert [(db, argv[0]) for db, argv in log.records] == [
        (0, b"SET"), (0, b"PEXPIREAT"), (0, b"SADD"), (0, b"SREM"), (0, b"INCR"), (2, b"LPUSH")]
    assert log.records[0][1][3] == b"PXAT" and int(log.records[0][1][4]) > now_ms()
