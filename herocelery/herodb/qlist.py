"""The list value type: a packed list (Redis' quicklist idea) with deque's interface.

A plain ``deque`` of ``bytes`` costs ~50 bytes per element (the bytes object and its slot);
Redis' listpacks cost ~2 bytes plus the data. ``QList`` keeps the elements near both ends as
ordinary ``bytes`` in two short Python lists (``head`` reversed, ``tail`` in order), so pushes
and pops stay list appends and pops; everything between them is packed into chunks of
``CHUNK`` elements: one ``bytes`` blob of the data and an ``array`` of the lengths (1, 2 or 4
bytes each). A 1M-element list of small values costs about what the data plus its lengths
cost. Indexing skips whole chunks by their counts. The C request loop (``_fastpath.c``) calls
``append``/``appendleft``/``pop``/``popleft`` and ``len`` like a deque's.
"""
from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Iterator
from itertools import accumulate

CHUNK = 128


def _pack(items: list[bytes]) -> tuple[array[int], bytes]:
    lengths = [len(x) for x in items]
    top = max(lengths, default=0)
    code = "B" if top < 256 else "H" if top < 65536 else "I"
    return array(code, lengths), b"".join(items)


def _unpack(chunk: tuple[array[int], bytes]) -> list[bytes]:
    lengths, data = chunk
    ends = list(accumulate(lengths))
    starts = [0, *ends[:-1]]
    return [data[a:b] for a, b in zip(starts, ends, strict=False)]


class QList:
    """A list of ``bytes``: deque's methods, packed in the middle."""

    __slots__ = ("chunks", "head", "n", "tail")

    def __init__(self, items: Iterable[bytes] = ()) -> None:
        self.head: list[bytes] = []   # reversed: head[-1] is the first element
        self.tail: list[bytes] = []
        self.chunks: deque[tuple[array[int], bytes]] = deque()
        self.n = 0
        self.extend(items)

    # ---- size and order ------------------------------------------------------------------
    def __len__(self) -> int:
        return self.n

    def __bool__(self) -> bool:
        return self.n > 0

    def __iter__(self) -> Iterator[bytes]:
        yield from reversed(self.head)
        for chunk in self.chunks:
            yield from _unpack(chunk)
        yield from self.tail

    def __reversed__(self) -> Iterator[bytes]:
        yield from reversed(self.tail)
        for chunk in reversed(self.chunks):
            yield from reversed(_unpack(chunk))
        yield from self.head

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (QList, deque, list)):
            return len(self) == len(other) and all(a == b for a,
                                                   b in zip(self, other, strict=False))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"QList({list(self)!r})"

    # ---- the ends ------------------------------------------------------------------------
    def append(self, value: bytes) -> None:
        tail = self.tail
        tail.append(value)
        self.n += 1
        if len(tail) >= 2 * CHUNK:
            self.chunks.append(_pack(tail[:CHUNK]))
            del tail[:CHUNK]

    def appendleft(self, value: bytes) -> None:
        head = self.head
        head.append(value)
        self.n += 1
        if len(head) >= 2 * CHUNK:
            part = head[:CHUNK]
            part.reverse()
            self.chunks.appendleft(_pack(part))
            del head[:CHUNK]

    def extend(self, values: Iterable[bytes]) -> None:
        for v in values:
            self.append(v)

    def extendleft(self, values: Iterable[bytes]) -> None:
        for v in values:
            self.appendleft(v)

    def pop(self) -> bytes:
        if not self.tail:
            if self.chunks:
                self.tail = _unpack(self.chunks.pop())
            elif self.head:
                self.n -= 1
                return self.head.pop(0)
            else:
                raise IndexError("pop from an empty list")
        self.n -= 1
        return self.tail.pop()

    def popleft(self) -> bytes:
        if not self.head:
            if self.chunks:
                part = _unpack(self.chunks.popleft())
                part.reverse()
                self.head = part
            elif self.tail:
                self.n -= 1
                return self.tail.pop(0)
            else:
                raise IndexError("pop from an empty list")
        self.n -= 1
        return self.head.pop()

    def clear(self) -> None:
        self.head = []
        self.tail = []
        self.chunks.clear()
        self.n = 0

    # ---- by position ---------------------------------------------------------------------
    def _locate(self, index: int) -> tuple[str, int, int]:
        """("head" | "chunk" | "tail", chunk number, offset) of a 0-based index."""
        if index < len(self.head):
            return "head", 0, len(self.head) - 1 - index
        index -= len(self.head)
        for k, (lengths, _) in enumerate(self.chunks):
            if index < len(lengths):
                return "chunk", k, index
            index -= len(lengths)
        return "tail", 0, index

    def _norm(self, index: int) -> int:
        if index < 0:
            index += self.n
        if not 0 <= index < self.n:
            raise IndexError("list index out of range")
        return index

    def __getitem__(self, index: int) -> bytes:
        where, k, off = self._locate(self._norm(index))
        if where == "head":
            return self.head[off]
        if where == "tail":
            return self.tail[off]
        lengths, data = self.chunks[k]
        start = sum(lengths[:off])
        return data[start:start + lengths[off]]

    def __setitem__(self, index: int, value: bytes) -> None:
        where, k, off = self._locate(self._norm(index))
        if where == "head":
            self.head[off] = value
        elif where == "tail":
            self.tail[off] = value
        else:
            items = _unpack(self.chunks[k])
            items[off] = value
            self.chunks[k] = _pack(items)

    def slice(self, start: int, stop: int) -> list[bytes]:
        """Elements ``start`` .. ``stop - 1`` (0-based, in range), skipping whole chunks."""
        out: list[bytes] = []
        if start >= stop:
            return out
        pos = 0
        nh = len(self.head)
        if start < nh:
            hi = min(stop, nh)
            out.extend(self.head[nh - 1 - i] for i in range(start, hi))
        pos = nh
        for chunk in self.chunks:
            if pos >= stop:
                return out
            size = len(chunk[0])
            if pos + size > start:
                items = _unpack(chunk)
                out.extend(items[max(start - pos, 0):min(stop - pos, size)])
            pos += size
        if stop > pos:
            out.extend(self.tail[max(start - pos, 0):stop - pos])
        return out

    def index(self, value: bytes) -> int:
        for i, item in enumerate(self):
            if item == value:
                return i
        raise ValueError("value not in list")

    def insert(self, index: int, value: bytes) -> None:
        items = list(self)
        items.insert(index, value)
        self._replace(items)

    def _replace(self, items: list[bytes]) -> None:
        self.clear()
        self.extend(items)

    def keep(self, start: int, stop: int) -> None:
        """LTRIM: keep ``start`` .. ``stop - 1``, dropping whole chunks where it can."""
        drop = self.n - stop
        while drop > 0:
            if self.tail:
                k = min(drop, len(self.tail))
                del self.tail[len(self.tail) - k:]
            elif self.chunks:
                k = len(self.chunks[-1][0])
                if k > drop:
                    self.tail = _unpack(self.chunks.pop())
                    continue
                self.chunks.pop()
            else:
                k = min(drop, len(self.head))
                del self.head[:k]
            self.n -= k
            drop -= k
        drop = start
        while drop > 0:
            if self.head:
                k = min(drop, len(self.head))
                del self.head[len(self.head) - k:]
            elif self.chunks:
                k = len(self.chunks[0][0])
                if k > drop:
                    part = _unpack(self.chunks.popleft())
                    part.reverse()
                    self.head = part
                    continue
                self.chunks.popleft()
            else:
                k = min(drop, len(self.tail))
                del self.tail[:k]
            self.n -= k
            drop -= k

    def copy(self) -> QList:
        new = QList()
        new.head = list(self.head)
        new.tail = list(self.tail)
        new.chunks = deque(self.chunks)  # chunks are immutable (replaced, never changed)
        new.n = self.n
        return new
