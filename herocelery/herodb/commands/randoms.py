"""The random picks of SRANDMEMBER, HRANDFIELD and ZRANDMEMBER with a count.

A positive count picks distinct members (at most all of them); a negative one picks -count
members with repetition, as many as asked: up to 2**63-1 of them. Such a reply is never built
in memory: above ``LIST_MAX`` picks it is a long reply (``engine.long_reply``), written slice by
slice while other clients are served, from a snapshot of the members taken when the command ran.
"""
from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

from ..engine import long_reply
from ..protocol import encode

LIST_MAX = 10_000  # up to this many picks the reply is an ordinary list
SLICE = 2048       # picks encoded per chunk of a long reply

Item = Callable[[bytes], list[Any]]


def picks(c: Any, members: list[bytes], count: int, item: Item, flat: bool) -> Any:
    """The reply for ``count`` picks among ``members`` (not empty). ``item(member)`` gives what
    one pick adds to the reply: ``[member]``, or ``[member, value]`` (``flat``: spread into
    the array, as RESP2 does, else one pair per pick)."""
    if count >= 0:
        chosen = random.sample(members, min(count, len(members)))
    elif -count <= LIST_MAX:
        chosen = [random.choice(members) for _ in range(-count)]
    else:
        return long_reply(c, _stream(members, -count, item, flat, c.proto))
    out: list[Any] = []
    for m in chosen:
        parts = item(m)
        if len(parts) == 1:
            out.append(parts[0])
        elif flat:
            out.extend(parts)
        else:
            out.append(parts)
    return out


def _stream(members: list[bytes], n: int, item: Item, flat: bool, proto: int) -> Iterator[bytes]:
    width = len(item(members[0]))
    yield b"*%d\r\n" % (n * width if flat else n)
    choice = random.choice
    while n > 0:
        k = min(n, SLICE)
        n -= k
        parts: list[bytes] = []
        for _ in range(k):
            values = item(choice(members))
            if width == 1:
                v = values[0]
                parts.append(b"$%d\r\n%b\r\n" % (len(v), v))
            elif flat:
                parts.extend(encode(v, proto) for v in values)
            else:
                parts.append(encode(values, proto))
        yield b"".join(parts)
