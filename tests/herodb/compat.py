"""Tables of cases for the compatibility suite: a wire-exact RESP client and expectations.

`Wire` speaks RESP2 or RESP3 over a real socket and keeps reply types apart (a simple string
is `str`, a bulk string `bytes`, an error `Err`, a RESP3 double `float`, a map `dict`, a set
`Set`, a push `Push`), so tables compare exactly what a server sent, error texts included.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Err:
    """An error reply as sent (e.g. "WRONGTYPE Operation against ...")."""

    text: str


class Set(list):
    """A RESP3 set reply (`~`)."""


class Push(list):
    """A RESP3 push frame (`>`)."""


class Wire:
    """One connection speaking RESP `protocol` (3 sends HELLO 3 first)."""

    def __init__(self, port: int, protocol: int = 2, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.protocol = protocol
        if protocol == 3:
            hello = self.call("HELLO", "3")
            assert isinstance(hello, dict), hello

    def close(self) -> None:
        self.sock.close()

    def send(self, *args: Any) -> None:
        parts = [b"*%d\r\n" % len(args)]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))

    def call(self, *args: Any) -> Any:
        self.send(*args)
        return self.read()

    def _line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n: int) -> bytes:
        while len(self.buf) < n + 2:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buf += chunk

    def read(self) -> Any:
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            return Err(rest.decode())
        if kind == b":":
            return int(rest)
        if kind in (b"$", b"="):
            n = int(rest)
            if n < 0:
                return None
            data = self._exact(n)
            return data[4:] if kind == b"=" else data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        if kind == b"%":
            return {_hashable(self.read()): self.read() for _ in range(int(rest))}
        if kind == b"~":
            return Set(self.read() for _ in range(int(rest)))
        if kind == b">":
            return Push(self.read() for _ in range(int(rest)))
        if kind == b"_":
            return None
        if kind == b",":
            return float(rest.decode().replace("inf", "inf"))
        if kind == b"#":
            return rest == b"t"
        if kind == b"(":
            return int(rest)
        if kind == b"|":
            for _ in range(int(rest)):
                self.read(), self.read()
            return self.read()
        raise ValueError(f"bad reply type {line!r}")


def _hashable(v: Any) -> Any:
    return tuple(v) if isinstance(v, list) else v


@dataclass(frozen=True)
class E:
    """An error reply starting with `prefix` (e.g. "WRONGTYPE", "ERR syntax error")."""

    prefix: str


@dataclass(frozen=True)
class P:
    """A reply that differs by protocol: RESP2 `v2`, RESP3 `v3`."""

    v2: Any
    v3: Any


@dataclass(frozen=True)
class U:
    """An array (or RESP3 set) reply whose order does not matter."""

    items: list[Any]


@dataclass(frozen=True)
class Check:
    """A reply accepted by a predicate (random members, times)."""

    test: Callable[[Any], bool]
    what: str


ANY = Check(lambda _: True, "anything")


def matches(reply: Any, expected: Any, protocol: int) -> bool:
    """Does one reply match an expectation of the tables (recursively)?"""
    if isinstance(expected, P):
        return matches(reply, expected.v2 if protocol == 2 else expected.v3, protocol)
    if isinstance(expected, E):
        return isinstance(reply, Err) and reply.text.startswith(expected.prefix)
    if isinstance(expected, Check):
        try:
            return bool(expected.test(reply))
        except (TypeError, ValueError, AttributeError, IndexError, KeyError):
            return False
    if isinstance(reply, Err):
        return False
    if isinstance(expected, U):
        if not isinstance(reply, list) or len(reply) != len(expected.items):
            return False
        left = list(expected.items)
        for item in reply:
            hit = next((i for i, e in enumerate(left) if matches(item, e, protocol)), None)
            if hit is None:
                return False
            left.pop(hit)
        return True
    if isinstance(expected, list):
        return (isinstance(reply, list) and len(reply) == len(expected)
                and all(matches(a, b, protocol) for a, b in zip(reply, expected, strict=False)))
    if isinstance(expected, dict):
        return (isinstance(reply, dict) and reply.keys() == expected.keys()
                and all(matches(reply[k], v, protocol) for k, v in expected.items()))
    if isinstance(expected, float) and isinstance(reply, float):
        return reply == expected
    return type(reply) is type(expected) and reply == expected
