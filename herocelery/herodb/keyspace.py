"""Numbered databases of typed values with lazy and active expiry.

Value types: ``bytes`` (string), ``dict`` (hash), ``QList`` (list,
                                                             qlist.py), ``set`` (set), ``ZSet``
(sorted set), ``Stream`` (stream.py). Expiry times are absolute unix milliseconds. A key past
its time is never returned (lazy expiry) and is removed within a second or so by
``expire_cycle`` (active expiry).
"""
from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from sortedcontainers import SortedList

from .errors import WRONGTYPE, CommandError
from .qlist import QList
from .stream import Stream

DUMP_CHUNK = 512


def now_ms() -> int:
    return int(time.time() * 1000)


class ZSet:
    """A sorted set: member -> score, plus the (score, member) pairs kept in order."""

    __slots__ = ("scores", "order")

    def __init__(self) -> None:
        self.scores: dict[bytes, float] = {}
        self.order: SortedList[tuple[float, bytes]] = SortedList()

    def __len__(self) -> int:
        return len(self.scores)

    def add(self, member: bytes, score: float) -> bool:
        """Set a member's score; True when the member is new."""
        old = self.scores.get(member)
        if old is not None:
            if old == score:
                return False
            self.order.remove((old, member))
            self.scores[member] = score
            self.order.add((score, member))
            return False
        self.scores[member] = score
        self.order.add((score, member))
        return True

    def remove(self, member: bytes) -> bool:
        old = self.scores.pop(member, None)
        if old is None:
            return False
        self.order.remove((old, member))
        return True

    def rank(self, member: bytes) -> int | None:
        score = self.scores.get(member)
        if score is None:
            return None
        return int(self.order.index((score, member)))


TYPE_NAMES: dict[type, bytes] = {
    bytes: b"string", dict: b"hash", QList: b"list", set: b"set", ZSet: b"zset",
    Stream: b"stream",
}


class Database:
    """One numbered database: ``data`` key -> value, ``expires`` key -> absolute ms."""

    __slots__ = ("index", "data", "expires", "heap", "watched", "blocked", "extras", "on_expired")

    def __init__(self, index: int) -> None:
        self.index = index
        self.data: dict[bytes, Any] = {}
        self.expires: dict[bytes, int] = {}
        self.heap: list[tuple[int, bytes]] = []  # (when, key); stale entries are skipped
        self.watched: dict[bytes, set[Any]] = {}  # key -> connections WATCHing it
        self.blocked: dict[bytes, deque[Any]] = {}  # key -> waiters blocked on it, FIFO
        # state of the optional families that is not keys (full-text indexes, vector sets):
        # kind -> an object with dump() and close(); flushed, swapped and dumped with the keys
        self.extras: dict[str, Any] = {}
        self.on_expired: Any = None  # (db, key) -> None: a key expired (notifications)

    # ---- reading -------------------------------------------------------------------------
    def get(self, key: bytes) -> Any:
        """The live value of ``key`` or None (deletes it if it has expired)."""
        value = self.data.get(key)
        if value is not None and self.expires:
            when = self.expires.get(key)
            if when is not None and when <= now_ms():
                self.delete(key)
                if self.on_expired is not None:
                    self.on_expired(self.index, key)
                return None
        return value

    def get_typed(self, key: bytes, kind: type) -> Any:
        """The live value if it is of ``kind``; None when missing; WRONGTYPE otherwise."""
        value = self.get(key)
        if value is None or type(value) is kind:
            return value
        raise CommandError(WRONGTYPE)

    def get_or_create(self, key: bytes, kind: type) -> Any:
        value = self.get(key)
        if value is None:
            value = kind()
            self.data[key] = value
            return value
        if type(value) is not kind:
            raise CommandError(WRONGTYPE)
        return value

    def exists(self, key: bytes) -> bool:
        return self.get(key) is not None

    def ttl_ms(self, key: bytes) -> int | None:
        when = self.expires.get(key)
        return None if when is None else when - now_ms()

    def keys(self) -> list[bytes]:
        now = now_ms()
        exp = self.expires
        return [k for k in self.data if k not in exp or exp[k] > now]

    def size(self) -> int:
        return len(self.data)

    # ---- writing -------------------------------------------------------------------------
    def set(self, key: bytes, value: Any, keep_ttl: bool = False) -> None:
        self.data[key] = value
        if not keep_ttl and self.expires:
            self.expires.pop(key, None)

    def delete(self, key: bytes) -> bool:
        if self.data.pop(key, None) is None:
            return False
        if self.expires:
            self.expires.pop(key, None)
        return True

    def drop_if_empty(self, key: bytes, value: Any) -> None:
        """Containers never stay empty: Redis deletes a key whose last element went."""
        if not value:
            self.delete(key)

    def set_expire(self, key: bytes, when_ms: int) -> None:
        self.expires[key] = when_ms
        heapq.heappush(self.heap, (when_ms, key))

    def persist(self, key: bytes) -> bool:
        return self.expires.pop(key, None) is not None

    def flush(self) -> None:
        self.data.clear()
        self.expires.clear()
        self.heap.clear()
        for extra in self.extras.values():
            extra.close()
        self.extras.clear()

    def expire_cycle(self, now: int, budget: int = 2000) -> list[bytes]:
        """Remove keys whose time has come (at most ``budget`` per call); returns them."""
        gone: list[bytes] = []
        heap = self.heap
        while heap and heap[0][0] <= now and budget > 0:
            when, key = heapq.heappop(heap)
            budget -= 1
            if self.expires.get(key) == when:
                self.delete(key)
                gone.append(key)
                if self.on_expired is not None:
                    self.on_expired(self.index, key)
        if len(heap) > 2 * len(self.expires) + 1024:  # many stale entries: rebuild
            self.heap = [(w, k) for k, w in self.expires.items()]
            heapq.heapify(self.heap)
        return gone

    def swap_contents(self, other: Database) -> None:
        self.data, other.data = other.data, self.data
        self.expires, other.expires = other.expires, self.expires
        self.heap, other.heap = other.heap, self.heap
        self.extras, other.extras = other.extras, self.extras


class Keyspace:
    """All databases of one server; ``dump`` recreates every live key as commands."""

    def __init__(self, databases: int = 16) -> None:
        self.dbs = [Database(i) for i in range(databases)]

    def __len__(self) -> int:
        return len(self.dbs)

    def expire_cycle(self) -> list[tuple[int, bytes]]:
        now = now_ms()
        gone: list[tuple[int, bytes]] = []
        for db in self.dbs:
            if db.heap:
                gone.extend((db.index, k) for k in db.expire_cycle(now))
        return gone

    def dump(self) -> Iterator[tuple[int, list[bytes]]]:
        """(db, argv) records that recreate every live key with its TTL as PEXPIREAT."""
        for db in self.dbs:
            for key in db.keys():
                value = db.data.get(key)
                if value is None:
                    continue
                for argv in dump_value(key, value):
                    yield db.index, argv
                when = db.expires.get(key)
                if when is not None:
                    yield db.index, [b"PEXPIREAT", key, str(when).encode()]
            for extra in db.extras.values():
                for argv in extra.dump():
                    yield db.index, argv


def dump_value(key: bytes, value: Any) -> Iterator[list[bytes]]:
    t = type(value)
    if t is bytes:
        yield [b"SET", key, value]
        return
    if t is dict:
        flat: list[bytes] = [x for kv in value.items() for x in kv]
        items = flat
        cmd, step = b"HSET", 2 * DUMP_CHUNK
    elif t is QList:
        items = list(value)
        cmd, step = b"RPUSH", DUMP_CHUNK
    elif t is set:
        items = list(value)
        cmd, step = b"SADD", DUMP_CHUNK
    elif t is ZSet:
        items = [x for score, m in value.order for x in (repr(score).encode(), m)]
        cmd, step = b"ZADD", 2 * DUMP_CHUNK
    elif t is Stream:
        yield from value.dump(key)
        return
    else:
        return
    for i in range(0, len(items), step):
        yield [cmd, key, *items[i:i + step]]
