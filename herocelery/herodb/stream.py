"""The stream value type (Redis 7.0 streams): entries by ID, consumer groups, pending lists.

An ID is a pair of unsigned 64-bit integers ``(ms, seq)``. Entries live in a sorted mapping
ID -> flat ``[field, value, ...]`` list. Alongside, ``nodes`` mirrors how Redis groups entries
into listpack nodes (``stream-node-max-entries`` / ``stream-node-max-bytes``, the byte size
estimated as a listpack would encode it), because approximate trimming (``MAXLEN ~``,
``MINID ~``) removes whole nodes only: keeping the same boundaries gives the same answers.
Pure data: no command parsing here (see ``commands/streams.py``).
"""
from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from sortedcontainers import SortedDict

MAX64 = 2 ** 64 - 1
StreamID = tuple[int, int]
ZERO: StreamID = (0, 0)
MAX_ID: StreamID = (MAX64, MAX64)
LISTPACK_MAX = 1 << 30  # STREAM_LISTPACK_MAX_SIZE
INVALID_READ = -1       # SCG_INVALID_ENTRIES_READ


def format_id(sid: StreamID) -> bytes:
    return b"%d-%d" % sid


def incr_id(sid: StreamID) -> StreamID | None:
    ms, seq = sid
    if seq == MAX64:
        if ms == MAX64:
            return None
        return (ms + 1, 0)
    return (ms, seq + 1)


def decr_id(sid: StreamID) -> StreamID | None:
    ms, seq = sid
    if seq == 0:
        if ms == 0:
            return None
        return (ms - 1, MAX64)
    return (ms, seq - 1)


# ---- listpack sizes (only to decide node boundaries as Redis does) --------------------------
def _lp_int(raw: bytes) -> int | None:
    """The int64 a listpack would store ``raw`` as (lpStringToInt64), or None."""
    if not raw or len(raw) > 20:
        return None
    body = raw[1:] if raw[:1] == b"-" else raw
    if not body.isdigit() or (body[:1] == b"0" and len(raw) > 1):
        return None
    v = int(raw)
    return v if -(2 ** 63) <= v < 2 ** 63 else None


def _backlen(n: int) -> int:
    return 1 if n <= 127 else 2 if n < 16383 else 3 if n < 2097151 else 4 if n < 268435455 else 5


def _int_size(v: int) -> int:
    if 0 <= v <= 127:
        n = 1
    elif -4096 <= v <= 4095:
        n = 2
    elif -32768 <= v <= 32767:
        n = 3
    elif -8388608 <= v <= 8388607:
        n = 4
    elif -2 ** 31 <= v < 2 ** 31:
        n = 5
    else:
        n = 9
    return n + _backlen(n)


def _str_size(raw: bytes) -> int:
    v = _lp_int(raw)
    if v is not None:
        return _int_size(v)
    n = len(raw)
    n += 1 if n <= 63 else 2 if n <= 4095 else 5
    return n + _backlen(n)


class Node:
    """One listpack node of Redis' stream: its master ID and fields, live/deleted counts."""

    __slots__ = ("deleted", "fields", "last", "live", "master", "nbytes")

    def __init__(self, master: StreamID, fields: tuple[bytes, ...]) -> None:
        self.master = master
        self.fields = fields
        self.live = 0
        self.deleted = 0
        # header + end byte + master entry (count, deleted, num-fields, fields..., 0)
        self.nbytes = 7 + 3 * 2 + _int_size(len(fields)) + sum(_str_size(f) for f in fields)
        self.last = master

    def add(self, sid: StreamID, flat: list[bytes]) -> None:
        fields = tuple(flat[0::2])
        size = 2 + _int_size(sid[0] - self.master[0]) + _int_size(sid[1] - self.master[1])
        if fields == self.fields:
            size += sum(_str_size(v) for v in flat[1::2])
        else:
            size += _int_size(len(fields)) + sum(_str_size(x) for x in flat)
        self.nbytes += size + 2  # + lp-count
        self.live += 1
        self.last = sid


class Pel(dict[StreamID, "Nack"]):
    """A pending entries list: id -> Nack. A plain dict (deliveries come in ID order, so
    most inserts and every ack are O(1)); the ordered views sort on demand (Timsort on keys
    that are nearly in order)."""

    __slots__ = ()

    def sorted_items(self) -> list[tuple[StreamID, Nack]]:
        return [(k, self[k]) for k in sorted(self)]

    def irange(self, minimum: StreamID = ZERO, maximum: StreamID = MAX_ID) -> list[StreamID]:
        keys = sorted(self)
        return keys[bisect_left(keys, minimum):bisect_right(keys, maximum)]

    def first(self) -> StreamID:
        return min(self)

    def last(self) -> StreamID:
        return max(self)


class Consumer:
    __slots__ = ("name", "pel", "seen")

    def __init__(self, name: bytes, now: int) -> None:
        self.name = name
        self.seen = now
        self.pel = Pel()  # id -> Nack


class Nack:
    __slots__ = ("consumer", "count", "time")

    def __init__(self, consumer: Consumer | None, now: int) -> None:
        self.consumer = consumer
        self.time = now
        self.count = 1


class Group:
    __slots__ = ("consumers", "entries_read", "last_id", "name", "pel")

    def __init__(self, name: bytes, last_id: StreamID, entries_read: int) -> None:
        self.name = name
        self.last_id = last_id
        self.entries_read = entries_read
        self.pel = Pel()                          # id -> Nack
        self.consumers: dict[bytes, Consumer] = {}

    def consumer(self, name: bytes, now: int) -> tuple[Consumer, bool]:
        """The named consumer (seen now), created if missing: (consumer, created)."""
        got = self.consumers.get(name)
        if got is not None:
            got.seen = now
            return got, False
        got = self.consumers[name] = Consumer(name, now)
        return got, True

    def remove_nack(self, sid: StreamID) -> None:
        nack = self.pel.pop(sid, None)
        if nack is not None and nack.consumer is not None:
            nack.consumer.pel.pop(sid, None)


class Stream:
    """A stream value (``TYPE`` answers ``stream``)."""

    __slots__ = (
        "entries",
        "entries_added",
        "first_id",
        "groups",
        "last_id",
        "max_deleted",
        "nodes",
    )

    def __init__(self) -> None:
        self.entries: SortedDict[StreamID, list[bytes]] = SortedDict()  # [field, value, ...]
        self.nodes: SortedDict[StreamID, Node] = SortedDict()  # by master id
        self.last_id: StreamID = ZERO
        self.first_id: StreamID = ZERO
        self.max_deleted: StreamID = ZERO
        self.entries_added = 0
        self.groups: dict[bytes, Group] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:  # an empty stream is still a key (Redis never drops it)
        return True

    # ---- adding --------------------------------------------------------------------------
    def append(self, sid: StreamID, flat: list[bytes], max_entries: int, max_bytes: int) -> None:
        """Add an entry whose ID the caller checked is greater than ``last_id``."""
        node = self.nodes.peekitem(-1)[1] if self.nodes else None
        if node is not None:
            limit = max_bytes if 0 < max_bytes <= LISTPACK_MAX else LISTPACK_MAX
            total = sum(len(x) for x in flat)
            if node.nbytes + total >= limit or (
                    max_entries and node.live + node.deleted >= max_entries):
                node = None
        if node is None:
            node = Node(sid, tuple(flat[0::2]))
            self.nodes[sid] = node
        node.add(sid, flat)
        self.entries[sid] = flat
        self.last_id = sid
        self.entries_added += 1
        if len(self.entries) == 1:
            self.first_id = sid

    # ---- deleting ------------------------------------------------------------------------
    def _node_of(self, sid: StreamID) -> Node | None:
        i = self.nodes.bisect_right(sid) - 1
        return self.nodes.peekitem(i)[1] if i >= 0 else None

    def delete(self, sid: StreamID) -> bool:
        if self.entries.pop(sid, None) is None:
            return False
        node = self._node_of(sid)
        if node is not None:
            node.live -= 1
            node.deleted += 1
            if node.live == 0:
                del self.nodes[node.master]
        self.max_deleted = max(self.max_deleted, sid)
        return True

    def update_first(self) -> None:
        self.first_id = self.entries.peekitem(0)[0] if self.entries else ZERO

    def trim(self, maxlen: int | None, minid: StreamID | None, approx: bool, limit: int) -> int:
        """streamTrim: remove the oldest entries past MAXLEN / below MINID; with ``approx``
        only whole nodes, at most ``limit`` entries (0 = no limit). Returns how many."""
        deleted = 0
        entries = self.entries
        while self.nodes:
            if maxlen is not None and len(entries) <= maxlen:
                break
            master, node = self.nodes.peekitem(0)
            if limit and deleted + node.live > limit:
                break
            if maxlen is not None:
                whole = len(entries) - node.live >= maxlen
            else:
                assert minid is not None
                whole = node.last < minid
            if whole:
                for sid in list(entries.irange(master, node.last)):
                    del entries[sid]
                deleted += node.live
                del self.nodes[master]
                continue
            if approx:
                break
            for sid in list(entries.irange(master, node.last)):
                if maxlen is not None:
                    if len(entries) <= maxlen:
                        break
                elif minid is not None and sid >= minid:
                    break
                del entries[sid]
                node.live -= 1
                node.deleted += 1
                deleted += 1
            break
        self.update_first()
        return deleted

    # ---- reading -------------------------------------------------------------------------
    def range(self, start: StreamID, end: StreamID, count: int = 0, rev: bool = False
              ) -> Iterator[tuple[StreamID, list[bytes]]]:
        if start > end:
            return
        entries = self.entries
        for n, sid in enumerate(entries.irange(start, end, reverse=rev), 1):
            yield sid, entries[sid]
            if count and n >= count:
                return

    def after(self, start: StreamID, count: int) -> list[tuple[StreamID, list[bytes]]]:
        """Up to ``count`` (0: all) entries from ``start`` on (the XREAD/XREADGROUP path)."""
        entries = self.entries
        i = entries.bisect_left(start)
        n = len(entries)
        if i >= n:
            return []
        if count == 1:
            sid = entries.keys()[i]
            return [(sid, entries[sid])]
        stop = n if not count else min(n, i + count)
        return [(sid, entries[sid]) for sid in entries.islice(i, stop)]

    def last_valid(self) -> StreamID:
        """streamLastValidID: the last live entry's ID (0-0 when empty)."""
        return self.entries.peekitem(-1)[0] if self.entries else ZERO

    # ---- consumer-group counters (Redis 7.0) ---------------------------------------------
    def has_tombstones(self, start: StreamID | None, end: StreamID | None = None) -> bool:
        if not self.entries or self.max_deleted == ZERO:
            return False
        if self.first_id > self.max_deleted:
            return False
        lo = start if start is not None else ZERO
        hi = end if end is not None else MAX_ID
        return lo <= self.max_deleted <= hi

    def estimate_read(self, sid: StreamID) -> int:
        """streamEstimateDistanceFromFirstEverEntry."""
        if not self.entries_added:
            return 0
        if not self.entries and sid <= self.last_id:
            return self.entries_added
        if sid == self.last_id:
            return self.entries_added
        if sid > self.last_id:
            return INVALID_READ
        if self.max_deleted == ZERO or self.max_deleted < self.first_id:
            if sid < self.first_id:
                return self.entries_added - len(self.entries)
            if sid == self.first_id:
                return self.entries_added - len(self.entries) + 1
        return INVALID_READ

    def lag(self, g: Group) -> int | None:
        if not self.entries_added:
            return 0
        if g.entries_read != INVALID_READ and not self.has_tombstones(g.last_id):
            return self.entries_added - g.entries_read
        read = self.estimate_read(g.last_id)
        return None if read == INVALID_READ else self.entries_added - read

    def advance_group(self, g: Group, sid: StreamID) -> None:
        """A group delivered ``sid`` (beyond its last ID): update last ID and read counter."""
        if sid > g.last_id:
            if g.entries_read != INVALID_READ and not self.has_tombstones(sid):
                g.entries_read += 1
            elif self.entries_added:
                g.entries_read = self.estimate_read(sid)
            g.last_id = sid

    def copy(self) -> Stream:
        new = Stream()
        new.entries = SortedDict(self.entries)
        for master, node in self.nodes.items():
            n = Node(node.master, node.fields)
            n.live, n.deleted, n.nbytes, n.last = node.live, node.deleted, node.nbytes, node.last
            new.nodes[master] = n
        new.last_id, new.first_id = self.last_id, self.first_id
        new.max_deleted, new.entries_added = self.max_deleted, self.entries_added
        for name, g in self.groups.items():
            ng = new.groups[name] = Group(name, g.last_id, g.entries_read)
            for cname, cons in g.consumers.items():
                ng.consumers[cname] = Consumer(cname, cons.seen)
            for sid, nack in g.pel.sorted_items():
                owner = ng.consumers.get(nack.consumer.name) if nack.consumer else None
                nn = Nack(owner, nack.time)
                nn.count = nack.count
                ng.pel[sid] = nn
                if owner is not None:
                    owner.pel[sid] = nn
        return new

    def dump(self, key: bytes) -> Iterator[list[bytes]]:
        """Commands that recreate this stream (the log's rewrite)."""
        for sid, flat in self.entries.items():
            yield [b"XADD", key, format_id(sid), *flat]
        if not self.entries:
            yield [b"XADD", key, b"MAXLEN", b"0", b"1-1", b"x", b"y"]
        yield [b"XSETID", key, format_id(self.last_id), b"ENTRIESADDED",
               str(self.entries_added).encode(), b"MAXDELETEDID", format_id(self.max_deleted)]
        for name, g in self.groups.items():
            yield [b"XGROUP", b"CREATE", key, name, format_id(g.last_id), b"ENTRIESREAD",
                   str(g.entries_read).encode()]
            for cname in g.consumers:
                yield [b"XGROUP", b"CREATECONSUMER", key, name, cname]
            for sid, nack in g.pel.sorted_items():
                if nack.consumer is None:
                    continue
                yield [b"XCLAIM", key, name, nack.consumer.name, b"0", format_id(sid), b"TIME",
                       str(nack.time).encode(), b"RETRYCOUNT", str(nack.count).encode(),
                       b"FORCE", b"JUSTID"]
