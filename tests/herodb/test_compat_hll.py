"""HyperLogLog (issue 14.4) on HeroDB and redis-server: PFADD PFCOUNT PFMERGE give the same
replies and the same bytes (`GET` of the key: sparse opcodes, the dense registers, the cached
cardinality), through sparse updates, the promotion to dense and merges of both."""
from __future__ import annotations

import random
import shlex

import pytest
from compat import E, Wire

HLL = [
    ('PFADD h a b c', 1),
    ('GET h', b'HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ'),
    ('PFCOUNT h', 3),
    ('GET h', b'HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x00`\xf3\x80P\xb1\x84K\xfb\x80BZ'),
    ('PFADD h a', 0),
    ('PFADD h d', 1),
    ('GET h',
     b'HYLL\x01\x00\x00\x00\x03\x00\x00\x00\x00\x00\x00\x80\\{\x80Dv\x80P\xb1\x84K\xfb\x80BZ'),
    ('PFADD h2', 1),
    ('GET h2', b'HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\x7f\xff'),
    ('PFCOUNT h2', 0),
    ('PFCOUNT nokey', 0),
    ('PFCOUNT h h2 nokey', 4),
    ('PFMERGE h3 h h2', 'OK'),
    ('GET h3',
     b'HYLL\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x80\\{\x80Dv\x80P\xb1\x84K\xfb\x80BZ'),
    ('PFCOUNT h3', 4),
    ('SET s notanhll', 'OK'),
    ('PFADD s a', E('WRONGTYPE Key is not a valid HyperLogLog string value.')),
    ('PFCOUNT s', E('WRONGTYPE Key is not a valid HyperLogLog string value.')),
    ('PFMERGE s h', E('WRONGTYPE Key is not a valid HyperLogLog string value.')),
    ('PFMERGE h4 s', E('WRONGTYPE Key is not a valid HyperLogLog string value.')),
    ('LPUSH l a', 1),
    ('PFADD l a', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('PFCOUNT h l', E('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ('SET fake HYLL', 'OK'),
    ('PFCOUNT fake', E('WRONGTYPE Key is not a valid HyperLogLog string value.')),
]


def test_hll(run) -> None:
    run(HLL)


def test_the_same_bytes_as_redis_through_sparse_dense_and_merges(pair) -> None:
    hero, oracle = Wire(pair[0]), Wire(pair[1])
    for w in (hero, oracle):
        w.call("FLUSHALL")
    rnd = random.Random(7)
    for step in range(150):
        key = rnd.choice(["h1", "h2", "h3"])
        kind = rnd.choice(["PFADD", "PFADD", "PFADD", "PFMERGE", "PFCOUNT"])
        if kind == "PFADD":
            n = rnd.choice([1, 3, 10, 50, 200])
            args = ["PFADD", key, *(str(rnd.randrange(10 ** 6)) for _ in range(n))]
        elif kind == "PFMERGE":
            args = ["PFMERGE", key, *rnd.sample(["h1", "h2", "h3", "h4"], 2)]
        else:
            args = ["PFCOUNT", *rnd.sample(["h1", "h2", "h3"], rnd.choice([1, 2]))]
        got, want = hero.call(*args), oracle.call(*args)
        assert got == want, f"step {step}: {args[:3]}: herodb {got!r}, redis {want!r}"
        assert hero.call("GET", key) == oracle.call("GET", key), f"step {step}: bytes of {key}"
    sizes = {len(oracle.call("GET", k)) for k in ("h1", "h2", "h3")}
    assert sizes == {12304}  # every key went dense on the way
    hero.close()
    oracle.close()


PFDEBUG_STEPS = """
PFADD h a b c
PFDEBUG ENCODING h
PFDEBUG DECODE h
PFDEBUG encoding h extra
PFDEBUG BOGUS h
PFDEBUG ENCODING nokey
SET s x
PFDEBUG ENCODING s
LPUSH l a
PFDEBUG ENCODING l
PFDEBUG TODENSE h
PFDEBUG TODENSE h
PFDEBUG ENCODING h
PFDEBUG DECODE h
GET h
PFCOUNT h
PFADD h2 x
PFDEBUG GETREG h2
PFDEBUG ENCODING h2
GET h2
PFSELFTEST
"""


@pytest.mark.parametrize("protocol", [2, 3], ids=["resp2", "resp3"])
def test_pfdebug_and_pfselftest_answer_as_redis(pair, protocol: int) -> None:
    """PFDEBUG GETREG/DECODE/ENCODING/TODENSE (GETREG and TODENSE leave the key dense, byte
    for byte as redis-server does) and PFSELFTEST, compared live (GETREG's 16,384 registers)."""
    seen = []
    for port in pair:
        w = Wire(port, protocol)
        w.call("FLUSHALL")
        seen.append([w.call(*shlex.split(line)) for line in PFDEBUG_STEPS.strip().splitlines()])
        w.close()
    assert seen[0] == seen[1]
    assert len(seen[0][17]) == 16384 and seen[0][-1] == "OK"
