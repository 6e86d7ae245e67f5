"""Vector search commands: VEC.CREATE VEC.ADD VEC.DEL VEC.SEARCH VEC.INFO VEC.DROP VEC.LIST.

Vector sets belong to the selected database and are kept in `Database.extras["vec"]` (so
FLUSHDB, SWAPDB and HERODB DBDELETE act on them); writes are logged as commands and
compaction dumps every vector, so the log alone recreates a set (vectors.py says why the HNSW
index is rebuilt rather than stored). Without `numpy`/`usearch` the server still starts and
these commands answer one error naming the packages. Errors change nothing.
"""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from ..ftquery import QueryError, parse
from .base import Command, registrar, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

MISSING = ("ERR vector search needs the 'usearch' and 'numpy' packages, which are not "
           "installed (pip install 'usearch>=2.9' numpy)")
NO_SET = "ERR Unknown vector set '{}'"
EXISTS = "ERR vector set already exists"
CREATE_USAGE = "ERR usage: VEC.CREATE <name> DIM <n> [METRIC cosine|l2|ip] [M <links>] [EF <n>]"
MAX_K = 10_000
KIND = "vec"


def _module() -> Any:
    try:
        import usearch.index  # noqa: F401  (the ANN library; checked here so errors are early)

        from .. import vectors
    except ImportError:
        raise CommandError(MISSING) from None
    return vectors


def _sets(c: Any, create: bool = False) -> Any:
    extras = c.store.extras
    found = extras.get(KIND)
    if found is None and create:
        found = extras[KIND] = _module().VecSets()
    return found


def _set(c: Any, name: bytes) -> Any:
    _module()
    sets = _sets(c)
    vs = sets.get(name) if sets is not None else None
    if vs is None:
        raise CommandError(NO_SET.format(name.decode(errors="replace")))
    return vs


@command("VEC.CREATE", -4, "write denyoom")
def vec_create(c: Any, argv: list[bytes]) -> Any:
    vec = _module()
    dim, metric = None, "cosine"
    m, ef = vec.CONNECTIVITY, vec.EXPANSION_SEARCH
    i = 2
    while i < len(argv):
        word = argv[i].upper()
        if word == b"DIM" and i + 1 < len(argv):
            dim = to_int(argv[i + 1])
            i += 2
        elif word == b"METRIC" and i + 1 < len(argv):
            metric = argv[i + 1].decode(errors="replace").lower()
            if metric not in vec.METRICS:
                raise CommandError(f"ERR unknown METRIC '{metric}' (cosine, l2 or ip)")
            i += 2
        elif word in (b"M", b"EF") and i + 1 < len(argv):
            value = to_int(argv[i + 1])
            if not 2 <= value <= 4096:
                raise CommandError(f"ERR {word.decode()} must be 2..4096")
            if word == b"M":
                m = value
            else:
                ef = value
            i += 2
        else:
            raise CommandError(CREATE_USAGE)
    if dim is None:
        raise CommandError(CREATE_USAGE)
    if not 1 <= dim <= vec.MAX_DIM:
        raise CommandError(f"ERR DIM must be 1..{vec.MAX_DIM}")
    sets = _sets(c, create=True)
    if argv[1] in sets:
        raise CommandError(EXISTS)
    sets[argv[1]] = vec.VecSet(argv[1], dim, metric, m, ef)
    return "OK"


@command("VEC.ADD", -4, "write denyoom")
def vec_add(c: Any, argv: list[bytes]) -> Any:
    vec = _module()
    vs = _set(c, argv[1])
    meta = None
    if len(argv) == 6 and argv[4].upper() == b"META":
        meta = argv[5]
    elif len(argv) != 4:
        raise CommandError("ERR usage: VEC.ADD <name> <id> <vector> [META <json>]")
    try:
        vector = vec.parse_vector(argv[3], vs.dim)
        if meta is not None:
            vec.parse_meta(meta)
        return int(vs.add(argv[2], vector, meta))
    except vec.VecError as exc:
        raise CommandError(f"ERR vector set '{argv[1].decode(errors='replace')}': {exc}") from None


@command("VEC.DEL", 3, "write")
def vec_del(c: Any, argv: list[bytes]) -> Any:
    removed = _set(c, argv[1]).delete(argv[2])
    if not removed:
        c.effects = []
    return int(removed)


@command("VEC.SEARCH", -4, "read")
def vec_search(c: Any, argv: list[bytes]) -> Any:
    vec = _module()
    vs = _set(c, argv[1])
    k = to_int(argv[2])
    if not 1 <= k <= MAX_K:
        raise CommandError(f"ERR k must be 1..{MAX_K}")
    where = None
    if len(argv) == 6 and argv[4].upper() == b"FILTER":
        try:
            where = vec.compile_filter(parse(argv[5].decode(errors="replace")))
        except (QueryError, vec.VecError) as exc:
            raise CommandError(f"ERR FILTER: {exc}") from None
    elif len(argv) != 4:
        raise CommandError("ERR usage: VEC.SEARCH <name> <k> <vector> [FILTER <expr>]")
    try:
        query = vec.parse_vector(argv[3], vs.dim)
    except vec.VecError as exc:
        raise CommandError(f"ERR vector set '{argv[1].decode(errors='replace')}': {exc}") from None
    try:
        found = vs.search(query, k, where)
    except vec.VecError as exc:
        raise CommandError(f"ERR vector set '{argv[1].decode(errors='replace')}': {exc}") from None
    return [[vec_id, repr(dist).encode(), vs.meta.get(vec_id)] for vec_id, dist in found]


@command("VEC.INFO", 2, "read")
def vec_info(c: Any, argv: list[bytes]) -> Any:
    return _set(c, argv[1]).info()


@command("VEC.DROP", 2, "write")
def vec_drop(c: Any, argv: list[bytes]) -> Any:
    vs = _set(c, argv[1])
    vs.close()
    del _sets(c)[argv[1]]
    return "OK"


@command("VEC.LIST", 1, "read")
def vec_list(c: Any, argv: list[bytes]) -> Any:
    _module()
    sets = _sets(c)
    return sorted(sets) if sets else []
