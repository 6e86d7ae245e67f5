"""Long lists (issue 14: lists are packed, qlist.py): lists of thousands of elements, most of
them in packed chunks, answer every list command as redis-server does (random operations at
both ends and in the middle, compared live), and QList behaves as a deque under a random
model check."""
from __future__ import annotations

import random
from collections import deque

from compat import Wire

from herocelery.herodb.qlist import QList


def test_long_lists_answer_as_redis(pair) -> None:
    hero, oracle = Wire(pair[0]), Wire(pair[1])
    for w in (hero, oracle):
        w.call("FLUSHALL")
        w.call("RPUSH", "l", *(f"v{i % 97}" for i in range(3000)))
    rnd = random.Random(11)
    for step in range(400):
        n = 3000
        i, j = rnd.randrange(-n, n), rnd.randrange(-n, n)
        v = f"v{rnd.randrange(97)}"
        args = rnd.choice([
            ["LPUSH", "l", v, v + "x"], ["RPUSH", "l", v], ["LPOP", "l"], ["RPOP", "l", "3"],
            ["LINDEX", "l", str(i)], ["LSET", "l", str(i), v * rnd.randrange(1, 300)],
            ["LRANGE", "l", str(i), str(j)], ["LRANGE", "l", "0", "-1"],
            ["LINSERT", "l", rnd.choice(["BEFORE", "AFTER"]), v, "ins"],
            ["LREM", "l", str(rnd.randrange(-3, 4)), v], ["LPOS", "l", v, "RANK", "-2"],
            ["LPOS", "l", v, "COUNT", "0"], ["LLEN", "l"],
            ["LMOVE", "l", "l", rnd.choice(["LEFT", "RIGHT"]), rnd.choice(["LEFT", "RIGHT"])],
            ["LTRIM", "l", str(rnd.randrange(0, 40)), str(-rnd.randrange(1, 40))],
            ["RPUSH", "l", *(f"w{k}" for k in range(300))],
        ])
        got, want = hero.call(*args), oracle.call(*args)
        assert got == want, f"step {step}: {args[:4]}: herodb {got!r:.200}, redis {want!r:.200}"
    assert hero.call("LRANGE", "l", "0", "-1") == oracle.call("LRANGE", "l", "0", "-1")
    hero.close()
    oracle.close()


def test_qlist_behaves_as_a_deque() -> None:
    rnd = random.Random(1)
    for _ in range(150):
        q, d = QList(), deque()
        for _ in range(rnd.choice([10, 300, 2000])):
            op = rnd.random()
            v = str(rnd.randrange(1000)).encode() * rnd.choice([1, 1, 100])
            if op < 0.3:
                q.append(v)
                d.append(v)
            elif op < 0.6:
                q.appendleft(v)
                d.appendleft(v)
            elif op < 0.7 and d:
                assert q.pop() == d.pop()
            elif op < 0.8 and d:
                assert q.popleft() == d.popleft()
            elif op < 0.85 and d:
                i = rnd.randrange(-len(d), len(d))
                assert q[i] == d[i]
                q[i] = d[i] = v
            elif op < 0.87 and d:
                a = rnd.randrange(len(d))
                b = rnd.randrange(a, len(d) + 1)
                assert q.slice(a, b) == list(d)[a:b]
            elif op < 0.875 and d:
                a = rnd.randrange(len(d))
                b = rnd.randrange(a, len(d) + 1)
                q.keep(a, b)
                d = deque(list(d)[a:b])
            elif op < 0.88:
                i = rnd.randrange(len(d) + 1)
                q.insert(i, v)
                d.insert(i, v)
            assert len(q) == len(d)
        assert list(q) == list(d)
        assert list(reversed(q)) == list(reversed(d))
        assert q.copy() == d
