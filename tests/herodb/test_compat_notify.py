"""Keyspace notifications (issue 14.4): the same writes on HeroDB and on redis-server publish
the same `__keyspace@N__` / `__keyevent@N__` messages in the same order (RESP2 and RESP3
subscribers), for every command family, for expiry, and for blocked pops woken later."""
from __future__ import annotations

import shlex
import time

import pytest
from compat import Wire

STEPS = """
SET s v
SET s v EX 100
SETEX s2 100 v
SETNX s v
SETNX s3 v
GETSET s w
MSET a 1 b 2
APPEND a x
INCR n
INCRBY n 5
DECR n
DECRBY n 2
INCRBYFLOAT f 1.5
SETRANGE s 1 zz
GETDEL s3
GETEX s2 PERSIST
GETEX s2 EX 100
DEL a b nokey
EXPIRE s 100
EXPIRE s -1
PERSIST s2
SET r v
RENAME r r2
RENAMENX r2 r3
COPY r3 r4
MOVE r4 1
LPUSH l a b c
RPUSH l d
LPUSHX nol x
LPOP l
RPOP l 2
LSET l 0 x
LINSERT l BEFORE x y
LREM l 1 y
LTRIM l 0 0
LPOP l
RPUSH l a b
LMOVE l l2 LEFT RIGHT
RPOPLPUSH l l2
LMPOP 1 l2 LEFT COUNT 5
SADD st a b c
SREM st a
SMOVE st st2 b
SPOP st
SADD st a b
SINTERSTORE dst st st
SUNIONSTORE dst st
SDIFFSTORE dst st st
HSET h f v g w
HSETNX h f x
HSETNX h k x
HINCRBY h n 1
HINCRBYFLOAT h fl 1.5
HDEL h f g n fl k
ZADD z 1 a 2 b
ZADD z INCR 5 a
ZINCRBY z 1 b
ZREM z a
ZADD z 3 c 4 d
ZPOPMIN z
ZPOPMAX z
ZREMRANGEBYSCORE z -inf +inf
ZADD z 1 a 2 b 3 c
ZREMRANGEBYRANK z 0 0
ZREMRANGEBYLEX z - +
ZADD z 1 a
ZUNIONSTORE zd 1 z
ZINTERSTORE zd 1 nokey
ZMPOP 1 z MIN
FLUSHDB
SET x 1
"""


def events(w: Wire) -> list[list[bytes]]:
    """Every message received so far (until the connection goes quiet)."""
    got = []
    w.sock.settimeout(0.3)
    try:
        while True:
            m = w.read()
            got.append(list(m))
    except (TimeoutError, OSError):
        pass
    w.sock.settimeout(10)
    return got


def subscribe(port: int, protocol: int) -> Wire:
    sub = Wire(port, protocol)
    sub.send("PSUBSCRIBE", "__key*__:*")
    assert list(sub.read())[0] == b"psubscribe"
    return sub


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
@pytest.mark.parametrize("classes", ["KEA", "Elg", "K$z", "Ex"])
def test_the_same_writes_publish_the_same_events(pair, protocol: int, classes: str) -> None:
    seen = []
    for port in pair:
        w = Wire(port, 2)
        w.call("FLUSHALL")
        assert w.call("CONFIG", "SET", "notify-keyspace-events", classes) == "OK"
        sub = subscribe(port, protocol)
        for line in STEPS.strip().splitlines():
            w.call(*shlex.split(line))
        w.call("SET", "soon", "v", "PX", "30")
        time.sleep(0.2)
        w.call("GET", "soon")            # expired: lazily or by the active cycle
        seen.append(events(sub))
        w.call("CONFIG", "SET", "notify-keyspace-events", "")
        w.call("SELECT", "1")
        w.call("FLUSHDB")
        sub.close()
        w.close()
    hero, oracle = seen
    assert hero == oracle


def test_a_blocked_pop_served_later_publishes_its_events(pair) -> None:
    seen = []
    for port in pair:
        w = Wire(port, 2)
        w.call("FLUSHALL")
        w.call("CONFIG", "SET", "notify-keyspace-events", "KEA")
        sub = subscribe(port, 3)
        blocked = Wire(port, 2)
        blocked.send("BLPOP", "q", "5")
        time.sleep(0.2)
        w.call("RPUSH", "q", "job")
        assert blocked.read() == [b"q", b"job"]
        seen.append(events(sub))
        w.call("CONFIG", "SET", "notify-keyspace-events", "")
        for x in (sub, blocked, w):
            x.close()
    assert seen[0] == seen[1]
    assert [b"pmessage", b"__key*__:*", b"__keyevent@0__:lpop", b"q"] in seen[0]
