"""More of the oracle: arity of every command, RESP3 reply types, WITHSCORES/WITHVALUES forms,
and redis-py's asyncio client. Same tables, both servers, both protocols."""
from __future__ import annotations

import asyncio

import pytest
import redis.asyncio
from compat import Check, E, P, Set, U

TOO_FEW = [
    "GET", "SET k", "SETEX k 1", "PSETEX k 1", "SETNX k", "GETSET k", "GETDEL", "GETEX", "MGET",
    "MSET k", "MSETNX k", "INCR", "INCRBY k", "INCRBYFLOAT k", "DECR", "DECRBY k", "APPEND k",
    "STRLEN", "GETRANGE k 0", "SETRANGE k 0", "DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE k",
    "PEXPIRE k", "EXPIREAT k", "PEXPIREAT k", "TTL", "PTTL", "EXPIRETIME", "PERSIST", "KEYS",
    "SCAN", "RENAME k", "RENAMENX k", "COPY k", "MOVE k", "HSET k f", "HSETNX k f", "HGET k",
    "HMGET k", "HMSET k f", "HGETALL", "HDEL k", "HEXISTS k", "HLEN", "HKEYS", "HVALS",
    "HINCRBY k f", "HINCRBYFLOAT k f", "HSTRLEN k", "HRANDFIELD", "HSCAN k", "LPUSH k", "RPUSH k",
    "LPUSHX k", "RPUSHX k", "LPOP", "RPOP", "LLEN", "LRANGE k 0", "LINDEX k", "LSET k 0",
    "LREM k 0", "LTRIM k 0", "LINSERT k BEFORE p", "LPOS k", "LMOVE a b LEFT", "RPOPLPUSH a",
    "LMPOP 1", "BLPOP k", "BRPOP k", "BLMOVE a b LEFT RIGHT", "BRPOPLPUSH a b", "BLMPOP 0 1",
    "SADD k", "SREM k", "SMEMBERS", "SISMEMBER k", "SMISMEMBER k", "SCARD", "SPOP",
    "SRANDMEMBER", "SMOVE a b", "SINTER", "SUNION", "SDIFF", "SINTERSTORE d", "SUNIONSTORE d",
    "SDIFFSTORE d", "SINTERCARD 1", "SSCAN k", "ZADD k 1", "ZREM k", "ZSCORE k", "ZMSCORE k",
    "ZINCRBY k 1", "ZCARD", "ZCOUNT k 0", "ZLEXCOUNT k -", "ZRANGE k 0", "ZRANGEBYSCORE k 0",
    "ZREVRANGE k 0", "ZREVRANGEBYSCORE k 0", "ZRANGEBYLEX k -", "ZRANK k", "ZREVRANK k",
    "ZREMRANGEBYSCORE k 0", "ZREMRANGEBYRANK k 0", "ZREMRANGEBYLEX k -", "ZPOPMIN", "ZPOPMAX",
    "BZPOPMIN k", "BZPOPMAX k", "ZRANDMEMBER", "ZUNIONSTORE d 1", "ZINTERSTORE d 1", "ZSCAN k",
    "PUBLISH ch", "PUBSUB", "WATCH", "EVAL s", "EVALSHA s", "SCRIPT", "ECHO", "SELECT",
    "CLIENT", "CONFIG", "SWAPDB 0", "OBJECT",
]


@pytest.mark.parametrize("line", TOO_FEW)
def test_too_few_arguments_is_an_arity_error(run, line):
    name = line.split()[0].lower()
    run([(line, E(f"ERR wrong number of arguments for '{name}' command"))])


def test_resp3_reply_types(run, protocol):
    is_set = (lambda v: isinstance(v, Set)) if protocol == 3 else (
        lambda v: isinstance(v, list) and not isinstance(v, Set))
    run([
        ("SADD s a b", 2),
        ("SMEMBERS s", Check(lambda v: is_set(v) and sorted(v) == [b"a", b"b"], "a set")),
        ("SUNION s s", Check(lambda v: is_set(v), "a set")),
        ("SDIFF s nope", Check(lambda v: is_set(v), "a set")),
        ("SINTER s s", Check(lambda v: is_set(v), "a set")),
        ("HSET h f v", 1),
        ("HGETALL h", P([b"f", b"v"], {b"f": b"v"})),
        ("HGETALL nope", P([], {})),
        ("ZADD z 2.5 m", 1),
        ("ZSCORE z m", P(b"2.5", 2.5)),
        ("ZINCRBY z 1 m", P(b"3.5", 3.5)),
        ("ZADD z INCR 1 m", P(b"4.5", 4.5)),
        ("ZMSCORE z m x", P([b"4.5", None], [4.5, None])),
        ("ZRANK z m", 0),
        ("INCRBYFLOAT f 1.5", b"1.5"),
        ("HINCRBYFLOAT h n 0.5", b"0.5"),
        ("GET nothing", None),
        ("CONFIG GET databases", P([b"databases", Check(lambda v: int(v) >= 16, "n")],
                                   {b"databases": Check(lambda v: int(v) >= 16, "n")})),
        ("EXISTS s", 1),
        ("TTL s", -1),
        ("LPOP nolist", None),
        ("BLPOP nolist 0.01", None),
    ])


def test_withscores_and_withvalues_forms(run):
    run([
        ("HSET h a 1", 1),
        ("HRANDFIELD h 1 WITHVALUES", P([b"a", b"1"], [[b"a", b"1"]])),
        ("HRANDFIELD h -2 WITHVALUES", P([b"a", b"1", b"a", b"1"], [[b"a", b"1"], [b"a", b"1"]])),
        ("ZADD z 1 a", 1),
        ("ZRANDMEMBER z 1 WITHSCORES", P([b"a", b"1"], [[b"a", 1.0]])),
        ("ZRANGEBYSCORE z -inf +inf WITHSCORES", P([b"a", b"1"], [[b"a", 1.0]])),
        ("ZREVRANGE z 0 -1 WITHSCORES", P([b"a", b"1"], [[b"a", 1.0]])),
        ("ZPOPMIN z 5", P([b"a", b"1"], [[b"a", 1.0]])),
        ("ZADD z 1 a 2 b", 2),
        ("ZPOPMAX z", P([b"b", b"2"], [b"b", 2.0])),
        ("ZRANGE z -inf +inf BYSCORE WITHSCORES", P([b"a", b"1"], [[b"a", 1.0]])),
        ("SADD s a b c", 3),
        ("SPOP s 2", Check(lambda v: len(v) == 2, "two members")),
        ("SPOP s 5", Check(lambda v: len(v) == 1, "the last member")),
        ("EXISTS s", 0),
        ("SPOP s -1", E("ERR value is out of range, must be positive")),
        ("SADD ints 1 2 3", 3),
        ("OBJECT ENCODING ints", b"intset"),
        ("RPUSH l a", 1),
        ("OBJECT ENCODING l", Check(lambda v: v in (b"listpack", b"quicklist"), "list enc")),
        ("RENAME l l", "OK"),
        ("LRANGE l 0 -1", [b"a"]),
        ("SCAN 0 TYPE list", [b"0", [b"l"]]),
        ("SCAN 0 MATCH z* COUNT 10", [b"0", U([b"z"])]),
    ])


def test_expire_and_ttl_edges(run):
    run([
        ("SET k v", "OK"),
        ("EXPIRE k 100 GT", 0),
        ("EXPIRE k 100 LT", 1),
        ("PEXPIRE k -1", 1),
        ("EXISTS k", 0),
        ("SET k v", "OK"),
        ("EXPIREAT k 1", 1),
        ("GET k", None),
        ("SET k v EX 9223372036854775807", E("ERR invalid expire time in 'set' command")),
        ("SET k v PX 1000000", "OK"),
        ("PERSIST k", 1),
        ("PEXPIRETIME k", -1),
        ("GETEX k PXAT 4102444800000", b"v"),
        ("PEXPIRETIME k", 4102444800000),
        ("COPY k k2", 1),
        ("PEXPIRETIME k2", 4102444800000),
        ("RENAME k k3", "OK"),
        ("PEXPIRETIME k3", 4102444800000),
        ("SET k3 new KEEPTTL", "OK"),
        ("PEXPIRETIME k3", 4102444800000),
        ("INCR k3", E("ERR value is not an integer or out of range")),
        ("APPEND k3 !", 4),
        ("PEXPIRETIME k3", 4102444800000),
    ])


def test_incrbyfloat_never_answers_with_an_exponent(run):
    run([
        ("INCRBYFLOAT a 1e20", b"100000000000000000000"),
        ("INCRBYFLOAT b 1.5e-7", b"0.00000015"),
        ("INCRBYFLOAT c 1e-20", b"0"),
        ("INCRBYFLOAT d 0.1", b"0.1"),
        ("INCRBYFLOAT d 0.2", b"0.3"),
        ("INCRBYFLOAT e 3.0000000000000004", b"3.0000000000000004"),
        ("HINCRBYFLOAT h f 1e20", b"100000000000000000000"),
        ("HINCRBYFLOAT h g -2.5e-3", b"-0.0025"),
        ("ZINCRBY z 1e20 m", P(b"1e+20", 1e20)),       # scores keep the exponent form
    ])


def test_redis_py_asyncio_client(server, protocol, r):
    async def main() -> list[object]:
        client = redis.asyncio.Redis(port=server.port, protocol=protocol)
        try:
            await client.set("a", "1")
            pipe = client.pipeline(transaction=True)
            pipe.incr("a").rpush("q", "x", "y").lrange("q", 0, -1)
            results = await pipe.execute()
            popped = await client.blpop(["q"], timeout=1)
            return [*results, popped, await client.get("a")]
        finally:
            await client.aclose()

    assert asyncio.run(main()) == [2, 2, [b"x", b"y"], (b"q", b"x") if protocol == 2 else
                                   [b"q", b"x"], b"2"]
