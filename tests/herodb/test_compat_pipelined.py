"""A pipeline sent in one write gets, byte for byte, the replies redis-server sends: HeroDB's
batch path (one loop per read) keeps each request's semantics, mode switches included."""
from __future__ import annotations

import socket


def frame(*args: str) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a.encode()
        parts.append(b"$%d\r\n%b\r\n" % (len(b), b))
    return b"".join(parts)


def replies(port: int, payload: bytes) -> bytes:
    """Everything the server sends back until it closes (the pipeline ends with QUIT)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(payload)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data
            data += chunk


PIPELINE = [
    ("FLUSHALL",), ("SET", "k", "v"), ("GET", "k"), ("GET", "missing"), ("INCR", "n"),
    ("INCRBY", "n", "5000"), ("SET", "k"), ("NOSUCH", "x"), ("LPUSH", "k", "a"),
    ("LPUSH", "l", "a", "b"), ("RPOP", "l"), ("RPOP", "l"), ("RPOP", "l"),
    ("MULTI",), ("INCR", "n"), ("GET", "k"), ("EXEC",),
    ("EVAL", "return redis.call('INCR', KEYS[1])", "1", "n"),
    ("BLPOP", "empty", "0.01"),
    ("SUBSCRIBE", "ch"), ("PING",), ("GET", "k"), ("UNSUBSCRIBE", "ch"), ("PING",),
    ("QUIT",), ("GET", "k"),
]


def test_a_pipeline_in_one_write_gets_redis_servers_bytes(pair: tuple[int, int]) -> None:
    payload = b"".join(frame(*argv) for argv in PIPELINE)
    hero, oracle = replies(pair[0], payload), replies(pair[1], payload)
    assert hero == oracle
