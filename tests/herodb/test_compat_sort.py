"""SORT / SORT_RO (issue 14.4) on HeroDB and redis-server: BY (keys, hash fields, nosort),
GET, LIMIT, ASC/DESC, ALPHA, STORE; and blocked pops woken by SORT … STORE, by LMOVE into
place and by RENAME."""
from __future__ import annotations

import pytest
from compat import E, P, Wire

SORT = [
    ('RPUSH l 3 1 2 10 1.5', 5),
    ('SORT l', [b'1', b'1.5', b'2', b'3', b'10']),
    ('SORT l DESC', [b'10', b'3', b'2', b'1.5', b'1']),
    ('SORT l ALPHA', [b'1', b'1.5', b'10', b'2', b'3']),
    ('SORT l ALPHA DESC', [b'3', b'2', b'10', b'1.5', b'1']),
    ('SORT l LIMIT 1 2', [b'1.5', b'2']),
    ('SORT l LIMIT -1 2', [b'1', b'1.5']),
    ('SORT l LIMIT 0 -1', [b'1', b'1.5', b'2', b'3', b'10']),
    ('SORT l LIMIT 10 5', []),
    ('SORT l LIMIT 1', E('ERR syntax error')),
    ('SORT l BOGUS', E('ERR syntax error')),
    ('SORT l STORE dst', 5),
    ('LRANGE dst 0 -1', [b'1', b'1.5', b'2', b'3', b'10']),
    ('SORT_RO l STORE dst', E('ERR syntax error')),
    ('SORT_RO l DESC LIMIT 0 2', [b'10', b'3']),
    ('RPUSH words b a c', 3),
    ('SORT words', E("ERR One or more scores can't be converted into double")),
    ('SORT words ALPHA', [b'a', b'b', b'c']),
    ('SADD s 5 3 9', 3),
    ('SORT s', [b'3', b'5', b'9']),
    ('SORT s DESC', [b'9', b'5', b'3']),
    ('SORT s BY nosort STORE dst2', 3),
    ('LRANGE dst2 0 -1', [b'3', b'5', b'9']),
    ('ZADD z 1 c 2 a 3 b', 3),
    ('SORT z ALPHA', [b'a', b'b', b'c']),
    ('SORT z BY nosort', [b'c', b'a', b'b']),
    ('SORT z BY nosort DESC', [b'b', b'a', b'c']),
    ('SORT z BY nosort LIMIT 1 1', [b'a']),
    ('SORT l BY nosort', [b'3', b'1', b'2', b'10', b'1.5']),
    ('SORT l BY nosort DESC', [b'1.5', b'10', b'2', b'1', b'3']),
    ('MSET w_3 30 w_1 10 w_2 20 w_10 5 w_1.5 15', 'OK'),
    ('SORT l BY w_*', [b'10', b'1', b'1.5', b'2', b'3']),
    ('SORT l BY w_* DESC', [b'3', b'2', b'1.5', b'1', b'10']),
    ('SORT l BY w_* GET # GET w_*',
     [b'10', b'5', b'1', b'10', b'1.5', b'15', b'2', b'20', b'3', b'30']),
    ('SORT l BY w_* GET nokey_*', [None, None, None, None, None]),
    ('SORT l GET w_* GET #', [b'10', b'1', b'15', b'1.5', b'20', b'2', b'30', b'3', b'5', b'10']),
    ('SORT l GET nostar', [None, None, None, None, None]),
    ('HSET h_3 f c', 1),
    ('HSET h_1 f a', 1),
    ('HSET h_2 f b', 1),
    ('SORT l BY h_*->f ALPHA', [b'10', b'1.5', b'1', b'2', b'3']),
    ('SORT l BY h_*->f', E("ERR One or more scores can't be converted into double")),
    ('SORT l BY h_*->f ALPHA GET h_*->f GET #',
     [None, b'10', None, b'1.5', b'a', b'1', b'b', b'2', b'c', b'3']),
    ('SORT l BY h_*->f ALPHA DESC', [b'3', b'2', b'1', b'10', b'1.5']),
    ('SORT l BY h_*->f ALPHA GET h_*->f STORE dst3', 5),
    ('LRANGE dst3 0 -1', [b'', b'', b'a', b'b', b'c']),
    ('SET str x', 'OK'),
    ('SORT str', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('SORT nokey', []),
    ('SORT nokey STORE dst', 0),
    ('EXISTS dst', 0),
    ('RPUSH bad a 1', 2),
    ('SORT bad', E("ERR One or more scores can't be converted into double")),
    ('SORT bad ALPHA', [b'1', b'a']),
    ('RPUSH ties 2 1 2 1', 4),
    ('SORT ties', [b'1', b'1', b'2', b'2']),
    ('MSET wa_1 x wa_2 y', 'OK'),
    ('SORT ties BY wa_*', E("ERR One or more scores can't be converted into double")),
    ('SORT', E("ERR wrong number of arguments for 'sort' command")),
]


def test_sort(run):
    run(SORT)


@pytest.mark.parametrize("how", [
    ["SORT", "src", "STORE", "q"],
    ["LMOVE", "src", "q", "LEFT", "RIGHT"],
    ["RENAME", "src", "q"],
])
def test_a_blocked_pop_is_woken_by(server, r, how: list[str]) -> None:
    r.rpush("src", "7")
    waiter = Wire(server.port, 2)
    waiter.send("BLPOP", "q", "10")
    from support import wait_for  # the waiter is blocked before the write comes
    wait_for(lambda: r.info("clients")["blocked_clients"] == 1, 10, what="the BLPOP to block")
    Wire(server.port, 2).call(*how)
    assert waiter.read() == [b"q", b"7"]
    assert r.exists("q") == 0
    waiter.close()


ZSET_COMBINE = [  # ZUNION ZINTER ZDIFF ZDIFFSTORE (the zset unit of Redis' suite needs them)
    ('ZADD a 1 x 2 y 3 z', 3),
    ('ZADD b 5 y 1 w', 2),
    ('SADD s x w', 2),
    ('ZUNION 2 a b', [b'w', b'x', b'z', b'y']),
    ('ZUNION 2 a b WITHSCORES', P([b'w', b'1', b'x', b'1', b'z', b'3', b'y', b'7'],
                                  [[b'w', 1.0], [b'x', 1.0], [b'z', 3.0], [b'y', 7.0]])),
    ('ZUNION 3 a b s WEIGHTS 1 2 3 AGGREGATE MAX WITHSCORES',
     P([b'w', b'3', b'x', b'3', b'z', b'3', b'y', b'10'],
       [[b'w', 3.0], [b'x', 3.0], [b'z', 3.0], [b'y', 10.0]])),
    ('ZINTER 2 a b WITHSCORES', P([b'y', b'7'], [[b'y', 7.0]])),
    ('ZINTER 2 a s AGGREGATE MIN', [b'x']),
    ('ZDIFF 2 a b', [b'x', b'z']),
    ('ZDIFF 2 a b WITHSCORES', P([b'x', b'1', b'z', b'3'], [[b'x', 1.0], [b'z', 3.0]])),
    ('ZDIFF 1 a WEIGHTS 1', E('ERR syntax error')),
    ('ZDIFFSTORE d 2 a b', 2),
    ('ZRANGE d 0 -1 WITHSCORES', P([b'x', b'1', b'z', b'3'], [[b'x', 1.0], [b'z', 3.0]])),
    ('ZDIFFSTORE d 2 nokey a', 0),
    ('EXISTS d', 0),
    ('ZUNION 0 a', E("ERR at least 1 input key is needed for 'zunion' command")),
    ('ZUNION 2 a', E('ERR syntax error')),
    ('ZUNIONSTORE u 2 a b WITHSCORES', E('ERR syntax error')),
    ('ZUNIONSTORE u 2 a b', 4),
    ('ZRANGE u 0 -1 WITHSCORES', P([b'w', b'1', b'x', b'1', b'z', b'3', b'y', b'7'],
                                   [[b'w', 1.0], [b'x', 1.0], [b'z', 3.0], [b'y', 7.0]])),
    ('SET str v', 'OK'),
    ('ZUNION 2 a str', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('ZINTERSTORE i 2 a b WEIGHTS 2 3', 1),
    ('ZRANGE i 0 -1 WITHSCORES', P([b'y', b'19'], [[b'y', 19.0]])),
]


def test_zset_combine(run):
    run(ZSET_COMBINE)
