"""Vector sets of one database: exact search for small sets, HNSW (usearch) for large ones.

A `VecSet` keeps its vectors and their metadata (what VEC.ADD wrote: the truth the log
recreates) and, once it holds more than `EXACT_MAX` vectors, a usearch HNSW index built from
them. Like the full-text indexes (fulltext.py) the ANN index is derived state: VEC.CREATE and
VEC.ADD are logged as commands (compaction dumps each vector as a float32 blob), and the index
is rebuilt lazily, so a restart replays the log at full speed. The build runs in a background
thread (usearch releases the GIL), started by the first search that needs it: the server keeps
serving, and searches meanwhile are exact (brute force, slower but never wrong); writes made
during the build are applied when it is adopted. A later burst of more than `REBUILD_PENDING`
unindexed writes is rebuilt the same way; smaller ones are added at the next search. The
index lives in memory only, so an encrypted database writes no vector in the clear.

Distances (smaller is nearer): cosine `1 - cos(a, b)`, l2 the squared Euclidean distance,
ip `1 - a·b`; the exact and the ANN path compute the same measure. HeroDB computes no
embeddings: vectors are the caller's (no embedding service is reachable from here).
"""
from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from . import ftquery as q

METRICS = {"cosine": "cos", "l2": "l2sq", "ip": "ip"}
MAX_DIM = 65536
EXACT_MAX = 1000          # up to this many vectors: brute force, exact (and no index to build)
EXACT_FILTERED = 20_000   # a FILTER leaving at most this many candidates: exact over them
REBUILD_PENDING = 10_000  # more unindexed writes than this: rebuild in the background
CONNECTIVITY, EXPANSION_ADD, EXPANSION_SEARCH = 16, 128, 128

Predicate = Callable[[dict[str, Any]], bool]


class VecError(ValueError):
    """Bad input for a vector set (wrong dimension, not a vector, bad filter); nothing changed."""


def parse_vector(raw: bytes, dim: int) -> np.ndarray:
    """A float32 vector from a JSON array or `4 * dim` little-endian float32 bytes."""
    values: Any = None
    if raw[:1] == b"[" or raw.lstrip()[:1] == b"[":
        try:
            values = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            values = None
        if values is not None:
            if not isinstance(values, list) or not all(
                    isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise VecError("a JSON vector must be an array of numbers")
            if len(values) != dim:
                raise VecError(f"the vector has {len(values)} values, the set's dimension is "
                               f"{dim}")
            vec = np.asarray(values, dtype=np.float32)
    if values is None:
        if len(raw) != 4 * dim:
            raise VecError(f"a vector is a JSON array of {dim} numbers or {4 * dim} bytes of "
                           f"little-endian float32; got {len(raw)} bytes")
        vec = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    if not np.isfinite(vec).all():
        raise VecError("the vector holds NaN or infinity")
    return vec


def parse_meta(raw: bytes) -> dict[str, Any]:
    try:
        meta = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise VecError(f"META is not valid JSON: {exc}") from None
    if not isinstance(meta, dict):
        raise VecError("META must be a JSON object")
    return meta


def compile_filter(node: q.Node) -> Predicate:
    """A predicate over a vector's metadata from the FT query syntax (fields only):
    `@f:{a|b}` / `@f:word` f equals one of them (a list: holds one; case-insensitive),
    `@f:pre*` starts with, `@n:[lo hi]` a number in range, `-`, `|`, juxtaposition."""
    if isinstance(node, q.All):
        return lambda m: True
    if isinstance(node, (q.Word, q.Phrase, q.Tags)):
        if node.field is None:
            raise VecError("a FILTER condition names a metadata field: @field:value, "
                           "@field:{a|b} or @field:[low high]")
        field = node.field
        wanted = {v.lower() for v in (node.values if isinstance(node, q.Tags) else (node.text,))}
        return lambda m: any(_text(v) in wanted for v in _values(m.get(field)))
    if isinstance(node, q.Prefix):
        if node.field is None:
            raise VecError("a FILTER prefix names a metadata field: @field:pre*")
        field, start = node.field, node.text.lower()
        return lambda m: any(_text(v).startswith(start) for v in _values(m.get(field)))
    if isinstance(node, q.Range):
        field, rng = node.field, node
        return lambda m: any(_in_range(v, rng) for v in _values(m.get(field)))
    if isinstance(node, q.Not):
        inner = compile_filter(node.item)
        return lambda m: not inner(m)
    if isinstance(node, q.And):
        parts = [compile_filter(i) for i in node.items]
        return lambda m: all(p(m) for p in parts)
    if isinstance(node, q.Or):
        parts = [compile_filter(i) for i in node.items]
        return lambda m: any(p(m) for p in parts)
    raise VecError(f"unsupported filter {node!r}")  # pragma: no cover


def _values(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, list) else [v]


def _text(v: Any) -> str:
    return v.lower() if isinstance(v, str) else json.dumps(v)


def _in_range(v: Any, r: q.Range) -> bool:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return False
    low_ok = v >= r.low if r.low_inclusive else v > r.low
    high_ok = v <= r.high if r.high_inclusive else v < r.high
    return low_ok and high_ok


class VecSet:
    """One named vector set of fixed dimension and metric."""

    def __init__(self, name: bytes, dim: int, metric: str, m: int = CONNECTIVITY,
                 ef: int = EXPANSION_SEARCH) -> None:
        self.name, self.dim, self.metric = name, dim, metric
        self.m, self.ef = m, ef  # HNSW links per node, candidates per search (recall vs time)
        self.vectors: dict[bytes, np.ndarray] = {}
        self.meta: dict[bytes, bytes] = {}
        self.label_of: dict[bytes, int] = {}
        self.id_of: dict[int, bytes] = {}
        self.next_label = 0
        self.ann: Any = None
        self.unindexed: set[bytes] = set()  # in `vectors` but not yet in `ann`
        self._build: _Build | None = None    # a background build not adopted yet
        self._matrix: tuple[list[bytes], np.ndarray] | None = None  # for exact search of all

    # ---- writes ------------------------------------------------------------------------------
    def add(self, vec_id: bytes, vec: np.ndarray, meta: bytes | None) -> bool:
        """Add or replace a vector (and its metadata); True when the id is new."""
        if self.metric == "cosine" and not np.any(vec):
            raise VecError("a zero vector has no direction (metric cosine)")
        new = vec_id not in self.vectors
        if not new:
            self._unlabel(vec_id)
        label = self.next_label
        self.next_label += 1
        self.label_of[vec_id], self.id_of[label] = label, vec_id
        self.vectors[vec_id] = vec
        self._matrix = None
        if meta is None:
            self.meta.pop(vec_id, None)
        else:
            self.meta[vec_id] = meta
        if self.ann is not None:
            self.unindexed.add(vec_id)
        return new

    def delete(self, vec_id: bytes) -> bool:
        if vec_id not in self.vectors:
            return False
        self._unlabel(vec_id)
        del self.vectors[vec_id]
        self._matrix = None
        self.meta.pop(vec_id, None)
        return True

    def _unlabel(self, vec_id: bytes) -> None:
        label = self.label_of.pop(vec_id)
        del self.id_of[label]
        if vec_id in self.unindexed:
            self.unindexed.discard(vec_id)
        elif self.ann is not None:
            self.ann.remove(label)

    def close(self) -> None:
        self.ann = None
        self._build = None  # a running build finishes into nothing

    # ---- reads -------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int, where: Predicate | None = None
               ) -> list[tuple[bytes, float]]:
        """The k nearest vectors (id, distance), nearest first; exact below EXACT_MAX
        vectors or EXACT_FILTERED filtered candidates, HNSW above."""
        if k <= 0 or not self.vectors:
            return []
        if where is not None:
            candidates = [i for i in self.vectors if where(self._meta(i))]
            if len(candidates) <= EXACT_FILTERED or len(self.vectors) <= EXACT_MAX:
                return self.exact(query, k, candidates)
            return self._ann_filtered(query, k, where, len(candidates))
        if len(self.vectors) <= EXACT_MAX or self._index() is None:
            return self.exact(query, k)
        return self._ann(query, k)

    def exact(self, query: np.ndarray, k: int, ids: list[bytes] | None = None
              ) -> list[tuple[bytes, float]]:
        """Brute force over `ids` (default: every vector, from a cached matrix); the reference
        the ANN path is measured against."""
        if ids is None:
            if not self.vectors:
                return []
            if self._matrix is None:
                every = list(self.vectors)
                self._matrix = (every, np.stack([self.vectors[i] for i in every]))
            ids, matrix = self._matrix
        elif not ids:
            return []
        else:
            matrix = np.stack([self.vectors[i] for i in ids])
        dist = distances(matrix, query, self.metric)
        k = min(k, len(ids))
        top = np.argpartition(dist, k - 1)[:k] if k < len(ids) else np.arange(len(ids))
        top = top[np.lexsort((top, dist[top]))]
        return [(ids[int(j)], float(dist[int(j)])) for j in top]

    def _ann(self, query: np.ndarray, k: int) -> list[tuple[bytes, float]]:
        found = self.ann.search(query, k)
        return [(self.id_of[int(key)], float(d))
                for key, d in zip(found.keys, found.distances, strict=False)
                if int(key) in self.id_of]

    def _ann_filtered(self, query: np.ndarray, k: int, where: Predicate, matching: int
                      ) -> list[tuple[bytes, float]]:
        """Over-fetch from the index until k neighbours pass the filter (exact at worst)."""
        n = len(self.vectors)
        if self._index() is None:
            return self.exact(query, k, [i for i in self.vectors if where(self._meta(i))])
        fetch = min(n, max(k * 2, int(k * n / max(matching, 1) * 2)))
        while True:
            hits = [(i, d) for i, d in self._ann(query, fetch) if where(self._meta(i))]
            if len(hits) >= k or fetch >= n:
                break
            fetch = min(n, fetch * 4)
        if len(hits) < k and matching > len(hits):
            return self.exact(query, k, [i for i in self.vectors if where(self._meta(i))])
        return hits[:k]

    def _index(self) -> Any:
        """The HNSW index, up to date; None while a background build runs (search exactly)."""
        build = self._build
        if build is not None:
            if not build.done.is_set():
                return None
            self._adopt(build)
        if self.ann is None or len(self.unindexed) > REBUILD_PENDING:
            self.ann, self.unindexed = None, set()
            self._build = _Build(self, list(self.id_of.items()))
            return None
        if self.unindexed:
            ids = list(self.unindexed)
            self.ann.add(np.array([self.label_of[i] for i in ids], dtype=np.uint64),
                         np.stack([self.vectors[i] for i in ids]))
            self.unindexed.clear()
        return self.ann

    def _adopt(self, build: _Build) -> None:
        """Take a finished build; apply the writes made while it ran."""
        self._build = None
        if build.error is not None:
            raise VecError(f"building the HNSW index failed: {build.error}")
        index, built = build.index, build.labels
        for label in built - self.id_of.keys():
            index.remove(label)  # deleted or replaced meanwhile
        self.ann = index
        self.unindexed = {i for label, i in self.id_of.items() if label not in built}

    def _meta(self, vec_id: bytes) -> dict[str, Any]:
        raw = self.meta.get(vec_id)
        return json.loads(raw) if raw else {}

    # ---- description -------------------------------------------------------------------------
    def info(self) -> list[Any]:
        kind = "hnsw (usearch)" if len(self.vectors) > EXACT_MAX else "exact"
        if self._build is not None and self._build.done.is_set():
            self._index()
        return [b"name", self.name, b"dim", self.dim, b"metric", self.metric.encode(),
                b"m", self.m, b"ef", self.ef,
                b"count", len(self.vectors), b"search", kind.encode(),
                b"index_built", int(self.ann is not None),
                b"index_building", int(self._build is not None)]

    def dump(self) -> Iterator[list[bytes]]:
        yield [b"VEC.CREATE", self.name, b"DIM", str(self.dim).encode(), b"METRIC",
               self.metric.encode(), b"M", str(self.m).encode(), b"EF", str(self.ef).encode()]
        for vec_id, vec in self.vectors.items():
            argv = [b"VEC.ADD", self.name, vec_id, vec.astype("<f4").tobytes()]
            if vec_id in self.meta:
                argv += [b"META", self.meta[vec_id]]
            yield argv


class _Build:
    """An HNSW index built in a background thread from a snapshot of (label, id) pairs; the
    vector arrays are never changed in place (a new VEC.ADD stores a new array), so reading
    them from the thread is safe."""

    def __init__(self, vs: VecSet, items: list[tuple[int, bytes]]) -> None:
        self.labels = {label for label, _ in items}
        self.index: Any = None
        self.error: BaseException | None = None
        self.done = threading.Event()
        arrays = [vs.vectors[i] for _, i in items]
        labels = np.fromiter((label for label, _ in items), dtype=np.uint64, count=len(items))
        spec = (vs.dim, METRICS[vs.metric], vs.m, vs.ef)
        threading.Thread(target=self._run, args=(spec, labels, arrays),
                         name="herodb-hnsw", daemon=True).start()

    def _run(self, spec: tuple[int, str, int, int], labels: np.ndarray,
             arrays: list[np.ndarray]) -> None:
        try:
            from usearch.index import Index
            dim, metric, m, ef = spec
            index = Index(ndim=dim, metric=metric, dtype="f32", connectivity=m,
                          expansion_add=max(EXPANSION_ADD, ef), expansion_search=ef)
            if arrays:
                index.add(labels, np.stack(arrays))
            self.index = index
        except BaseException as exc:  # reported by VecSet._adopt in the server's thread
            self.error = exc
        finally:
            self.done.set()


def distances(matrix: np.ndarray, query: np.ndarray, metric: str) -> np.ndarray:
    """The distance of every row of `matrix` to `query` (float64, smaller is nearer)."""
    m = matrix.astype(np.float64)
    v = query.astype(np.float64)
    if metric == "l2":
        diff = m - v
        return np.einsum("ij,ij->i", diff, diff)
    dots = m @ v
    if metric == "ip":
        return 1.0 - dots
    norms = np.linalg.norm(m, axis=1) * max(float(np.linalg.norm(v)), math.ulp(1.0))
    return 1.0 - dots / np.maximum(norms, math.ulp(1.0))


class VecSets(dict[bytes, "VecSet"]):
    """The vector sets of one database (name -> VecSet), kept in `Database.extras`."""

    def dump(self) -> Iterator[list[bytes]]:
        for vs in self.values():
            yield from vs.dump()

    def close(self) -> None:
        for vs in self.values():
            vs.close()
