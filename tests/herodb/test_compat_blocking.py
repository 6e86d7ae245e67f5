"""Blocking pops and pub/sub across several clients: HeroDB answers as redis-server does.

A blocked client is seen blocked by the server (CLIENT LIST flags=b) before anyone pushes, so
the order is the server's, not the scheduler's; every wait has a deadline.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from compat import E, Err, P, Push, Wire, matches
from support import wait_for


@pytest.fixture
def wires(server: Any, protocol: int, r: Any) -> Iterator[Any]:
    made: list[Wire] = []

    def make() -> Wire:
        w = Wire(server.port, protocol)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def blocked(w: Wire) -> int:
    return w.call("CLIENT", "LIST").count(b"flags=b")


def wait_blocked(w: Wire, n: int) -> None:
    wait_for(lambda: blocked(w) == n, 10, what=f"{n} blocked clients")


def test_blpop_times_out_with_a_null(wires, protocol):
    w = wires()
    start = time.monotonic()
    assert w.call("BLPOP", "empty", "0.2") is None
    assert time.monotonic() - start >= 0.18
    assert w.call("BZPOPMIN", "emptyz", "0.1") is None
    assert w.call("BLMOVE", "empty", "dst", "LEFT", "RIGHT", "0.1") is None
    assert w.call("BLMPOP", "0.1", "1", "empty", "LEFT") is None


@pytest.mark.parametrize("cmd, prefix", [
    (["BLPOP", "k", "-1"], "ERR timeout is negative"),
    (["BLPOP", "k", "abc"], "ERR timeout is not a float or out of range"),
    (["BRPOP", "k"], "ERR wrong number of arguments for 'brpop' command"),
    (["BLMOVE", "a", "b", "UP", "LEFT", "0"], "ERR syntax error"),
    (["BLMPOP", "0", "0", "k", "LEFT"], "ERR numkeys"),
    (["BZPOPMIN", "k", "x"], "ERR timeout is not a float or out of range"),
])
def test_blocking_argument_errors(wires, cmd, prefix):
    reply = wires().call(*cmd)
    assert isinstance(reply, Err) and reply.text.startswith(prefix), reply


def test_blocking_pop_on_the_wrong_type_is_wrongtype(wires):
    w = wires()
    w.call("SET", "str", "v")
    assert matches(w.call("BLPOP", "str", "0.1"), E("WRONGTYPE"), 2)
    assert matches(w.call("BZPOPMAX", "str", "0.1"), E("WRONGTYPE"), 2)


def test_a_push_from_another_client_wakes_the_blocked_one(wires):
    waiting, pusher = wires(), wires()
    waiting.send("BRPOP", "k1", "k2", "5")
    wait_blocked(pusher, 1)
    assert pusher.call("LPUSH", "k2", "v") == 1
    assert waiting.read() == [b"k2", b"v"]
    assert pusher.call("EXISTS", "k2") == 0
    assert waiting.call("PING") == "PONG"              # the connection goes on normally


def test_a_blocked_pop_waits_on_while_its_key_holds_another_type(wires):
    waiting, writer = wires(), wires()
    waiting.send("BLPOP", "k", "5")
    wait_blocked(writer, 1)
    assert writer.call("HSET", "k", "f", "v") == 1      # a hash: not served, not an error
    assert writer.call("ZADD", "k2", "1", "m") == 1
    assert blocked(writer) == 1
    assert writer.call("DEL", "k") == 1
    assert writer.call("RPUSH", "k", "x") == 1
    assert waiting.read() == [b"k", b"x"]


def test_blocked_clients_are_served_first_come_first_served(wires):
    first, second, third, pusher = wires(), wires(), wires(), wires()
    for i, w in enumerate((first, second, third)):
        w.send("BLPOP", "q", "5")
        wait_blocked(pusher, i + 1)
    assert pusher.call("RPUSH", "q", "a", "b") == 2
    assert first.read() == [b"q", b"a"]
    assert second.read() == [b"q", b"b"]
    assert pusher.call("RPUSH", "q", "c") == 1
    assert third.read() == [b"q", b"c"]
    assert pusher.call("LLEN", "q") == 0


def test_transactions_and_scripts_wake_blocked_clients(wires):
    waiting, other = wires(), wires()
    waiting.send("BLPOP", "q", "5")
    wait_blocked(other, 1)
    other.call("MULTI")
    other.call("RPUSH", "q", "from-exec")
    assert other.call("EXEC") == [1]
    assert waiting.read() == [b"q", b"from-exec"]
    waiting.send("BLPOP", "q", "5")
    wait_blocked(other, 1)
    assert other.call("EVAL", "return redis.call('RPUSH', KEYS[1], 'from-lua')", 1, "q") == 1
    assert waiting.read() == [b"q", b"from-lua"]


def test_blmove_brpoplpush_blmpop_and_bzpop_wake_up(wires, protocol):
    waiting, other = wires(), wires()
    cases = [
        (["BLMOVE", "src", "dst", "LEFT", "RIGHT", "5"], ["RPUSH", "src", "x"], b"x"),
        (["BRPOPLPUSH", "src", "dst", "5"], ["RPUSH", "src", "y"], b"y"),
        (["BLMPOP", "5", "2", "a", "b", "RIGHT", "COUNT", "2"], ["RPUSH", "b", "1", "2", "3"],
         [b"b", [b"3", b"2"]]),
        (["BZPOPMIN", "z1", "z2", "5"], ["ZADD", "z2", "2", "m", "1", "n"],
         P([b"z2", b"n", b"1"], [b"z2", b"n", 1.0])),
        (["BZPOPMAX", "z3", "5"], ["ZADD", "z3", "9", "top", "1", "low"],
         P([b"z3", b"top", b"9"], [b"z3", b"top", 9.0])),
    ]
    for block, push, expected in cases:
        waiting.send(*block)
        wait_blocked(other, 1)
        other.call(*push)
        reply = waiting.read()
        assert matches(reply, expected, protocol), (block, reply)
    assert other.call("LRANGE", "dst", 0, -1) == [b"y", b"x"]   # BRPOPLPUSH pushes left
    assert other.call("LRANGE", "b", 0, -1) == [b"1"]


def test_a_client_that_goes_away_while_blocked_takes_nothing(wires, server):
    other = wires()
    gone = Wire(server.port)
    gone.send("BLPOP", "q", "10")
    wait_blocked(other, 1)
    gone.close()
    wait_blocked(other, 0)
    other.call("RPUSH", "q", "kept")
    assert other.call("LRANGE", "q", 0, -1) == [b"kept"]


def test_blocked_client_times_out_when_nothing_comes(wires):
    waiting, other = wires(), wires()
    waiting.send("BLPOP", "q", "0.3")
    wait_blocked(other, 1)
    assert waiting.read() is None
    assert blocked(other) == 0


# ---- pub/sub ------------------------------------------------------------------------------------
def test_subscribe_publish_and_patterns(wires, protocol):
    sub, pub = wires(), wires()
    assert sub.call("SUBSCRIBE", "news", "sport") == [b"subscribe", b"news", 1]
    assert sub.read() == [b"subscribe", b"sport", 2]
    assert sub.call("PSUBSCRIBE", "n*") == [b"psubscribe", b"n*", 3]
    assert pub.call("PUBLISH", "news", "hello") == 2
    first, second = sub.read(), sub.read()
    assert first == [b"message", b"news", b"hello"]
    assert second == [b"pmessage", b"n*", b"news", b"hello"]
    if protocol == 3:
        assert isinstance(first, Push) and isinstance(second, Push)
    assert pub.call("PUBLISH", "nobody", "x") == 1
    assert sub.read() == [b"pmessage", b"n*", b"nobody", b"x"]
    assert pub.call("PUBLISH", "empty-channel", "x") == 0
    assert sorted(pub.call("PUBSUB", "CHANNELS")) == [b"news", b"sport"]
    assert pub.call("PUBSUB", "CHANNELS", "s*") == [b"sport"]
    assert pub.call("PUBSUB", "NUMSUB", "news", "none") == [b"news", 1, b"none", 0]
    assert pub.call("PUBSUB", "NUMPAT") == 1
    assert sub.call("UNSUBSCRIBE", "news") == [b"unsubscribe", b"news", 2]
    assert sub.call("PUNSUBSCRIBE", "n*") == [b"punsubscribe", b"n*", 1]
    assert pub.call("PUBLISH", "news", "again") == 0
    assert sub.call("UNSUBSCRIBE", "sport") == [b"unsubscribe", b"sport", 0]
    assert sub.call("GET", "k") is None                      # back to normal mode


def test_a_subscribed_connection_refuses_other_commands_in_resp2_only(wires, protocol):
    sub = wires()
    sub.call("SUBSCRIBE", "ch")
    reply = sub.call("GET", "k")
    ping = sub.call("PING")
    if protocol == 2:
        assert isinstance(reply, Err) and reply.text.startswith(
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT")
        assert ping == [b"pong", b""]
    else:
        assert reply is None and ping == "PONG"


def test_unsubscribe_without_subscriptions(wires):
    w = wires()
    assert w.call("UNSUBSCRIBE") == [b"unsubscribe", None, 0]
    assert w.call("PUNSUBSCRIBE") == [b"punsubscribe", None, 0]


def test_redis_py_pubsub_round_trip(r, connect):
    p = r.pubsub()
    p.subscribe("events")
    wait_for(lambda: p.get_message(timeout=0.1) is not None, 5, what="subscribe confirmation")
    assert connect().publish("events", "task-succeeded") == 1
    message = wait_for(lambda: p.get_message(timeout=0.1), 5, what="the message")
    assert message["type"] == "message" and message["data"] == b"task-succeeded"
    p.close()
