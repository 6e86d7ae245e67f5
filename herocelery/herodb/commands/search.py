"""Full-text search commands: FT.CREATE FT.ADD FT.DEL FT.SEARCH FT.INFO FT.DROP FT._LIST.

Indexes belong to the selected database (another database's connection cannot see them) and
are kept in `Database.extras["ft"]`, so FLUSHDB, FLUSHALL, SWAPDB and HERODB DBDELETE act on
them like on keys. Writes are logged as the commands they are and compaction dumps every index
as FT.CREATE + FT.ADD, so the log alone recreates them (see fulltext.py for why the tantivy
index is rebuilt rather than stored). Without the `tantivy` package the server still starts and
these commands answer one error naming the package. Every error leaves the index unchanged.
"""
from __future__ import annotations

from typing import Any

from ..errors import CommandError
from ..ftquery import QueryError, parse
from .base import Command, registrar, to_float, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

MISSING = ("ERR full-text search needs the 'tantivy' package, which is not installed "
           "(pip install 'tantivy>=0.22')")
NO_INDEX = "ERR Unknown index name '{}'"
EXISTS = "ERR Index already exists"
CREATE_USAGE = "ERR usage: FT.CREATE <index> SCHEMA <field> TEXT|TAG|NUMERIC [SORTABLE] ..."
BAD_SCORE = "ERR document score must be a number >= 0"
MAX_RESULTS = 100_000
KIND = "ft"


def _module() -> Any:
    try:
        from .. import fulltext
    except ImportError as exc:
        if exc.name and exc.name.split(".")[0] == "tantivy":
            raise CommandError(MISSING) from None
        raise
    return fulltext


def _indexes(c: Any, create: bool = False) -> Any:
    extras = c.store.extras
    found = extras.get(KIND)
    if found is None and create:
        found = extras[KIND] = _module().Indexes()
    return found


def _index(c: Any, name: bytes) -> Any:
    _module()
    indexes = _indexes(c)
    index = indexes.get(name) if indexes is not None else None
    if index is None:
        raise CommandError(NO_INDEX.format(name.decode(errors="replace")))
    return index


def _fail(exc: Exception) -> CommandError:
    return CommandError(f"ERR {exc}")


@command("FT.CREATE", -3, "write denyoom")
def ft_create(c: Any, argv: list[bytes]) -> Any:
    ft = _module()
    if argv[2].upper() != b"SCHEMA":
        raise CommandError(CREATE_USAGE)
    try:
        fields = ft.parse_schema(argv[3:])
    except ft.FtError as exc:
        raise _fail(exc) from None
    indexes = _indexes(c, create=True)
    if argv[1] in indexes:
        raise CommandError(EXISTS)
    indexes[argv[1]] = ft.FtIndex(argv[1], fields)
    return "OK"


@command("FT.ADD", -4, "write denyoom")
def ft_add(c: Any, argv: list[bytes]) -> Any:
    ft = _module()
    index = _index(c, argv[1])
    try:
        score = to_float(argv[3], BAD_SCORE)
    except CommandError:
        raise CommandError(BAD_SCORE) from None
    if score < 0:
        raise CommandError(BAD_SCORE)
    rest = argv[4:]
    # RediSearch's spelling `FT.ADD idx id score [REPLACE] FIELDS f v ...` is accepted too
    while rest and rest[0].upper() in (b"REPLACE", b"FIELDS") and \
            rest[0].decode(errors="replace") not in index.by_name:
        rest = rest[1:]
    if len(rest) % 2:
        raise CommandError("ERR FT.ADD needs field value pairs after the score")
    try:
        fields = index.check(list(zip(rest[::2], rest[1::2], strict=True)))
    except ft.FtError as exc:
        raise _fail(exc) from None
    index.add(argv[2], score, fields)
    _schedule_commit(c, index)
    return "OK"


@command("FT.DEL", 3, "write")
def ft_del(c: Any, argv: list[bytes]) -> Any:
    index = _index(c, argv[1])
    removed = index.delete(argv[2])
    if not removed:
        c.effects = []  # nothing changed: nothing to log
    else:
        _schedule_commit(c, index)
    return int(removed)


def _schedule_commit(c: Any, index: Any) -> None:
    """One commit per burst of writes, soon, on the server's loop (fulltext.py)."""
    schedule = c.engine.schedule
    if schedule is None or index.commit_scheduled:
        return  # no loop (replay, embedded tests): the next FT.SEARCH commits
    index.commit_scheduled = True
    schedule(_module().COMMIT_DELAY_S, lambda: _quietly(index.idle_commit))


def _quietly(fn: Any) -> None:
    try:
        fn()
    except Exception:  # a failed background commit is retried by the next FT.SEARCH
        import logging
        logging.getLogger("herodb").exception("herodb: scheduled FT commit failed")


@command("FT.DROP", -2, "write")
def ft_drop(c: Any, argv: list[bytes]) -> Any:
    index = _index(c, argv[1])
    if len(argv) > 3 or (len(argv) == 3 and argv[2].upper() not in (b"DD", b"KEEPDOCS")):
        raise CommandError("ERR usage: FT.DROP <index>")
    index.close()
    del _indexes(c)[argv[1]]
    return "OK"


COMMANDS.append(Command("FT.DROPINDEX", -2, frozenset({"write"}), ft_drop, is_write=True))


@command("FT.INFO", 2, "read")
def ft_info(c: Any, argv: list[bytes]) -> Any:
    return _index(c, argv[1]).info()


@command("FT._LIST", 1, "read")
def ft_list(c: Any, argv: list[bytes]) -> Any:
    _module()
    indexes = _indexes(c)
    return sorted(indexes) if indexes else []


@command("FT.SEARCH", -3, "read")
def ft_search(c: Any, argv: list[bytes]) -> Any:
    ft = _module()
    index = _index(c, argv[1])
    opts = _search_options(argv[3:])
    try:
        tree = parse(argv[2].decode(errors="replace"))
        total, hits = index.search(tree, opts["offset"], max(opts["limit"], 1),
                                   opts["sortby"], opts["asc"])
    except (QueryError, ft.FtError) as exc:
        raise _fail(exc) from None
    if opts["limit"] == 0:
        hits = []
    out: list[Any] = [total]
    wanted = opts["return"]
    for doc_id, key in hits:
        out.append(doc_id)
        if opts["withscores"]:
            out.append(repr(float(key)).encode())
        if opts["nocontent"]:
            continue
        fields = index.docs[doc_id][1]
        names = wanted if wanted is not None else list(fields)
        row: list[bytes] = []
        for name in names:
            if name in fields:
                row += [name.encode(), fields[name].encode(errors="surrogateescape")]
        out.append(row)
    return out


def _search_options(args: list[bytes]) -> dict[str, Any]:
    opts: dict[str, Any] = {"offset": 0, "limit": 10, "sortby": None, "asc": True,
                            "return": None, "nocontent": False, "withscores": False}
    i = 0
    while i < len(args):
        word = args[i].upper()
        if word == b"LIMIT" and i + 2 < len(args):
            opts["offset"], opts["limit"] = to_int(args[i + 1]), to_int(args[i + 2])
            if opts["offset"] < 0 or opts["limit"] < 0:
                raise CommandError("ERR LIMIT offset and count must be >= 0")
            if opts["offset"] + opts["limit"] > MAX_RESULTS:
                raise CommandError(f"ERR LIMIT offset + count must be at most {MAX_RESULTS}")
            i += 3
        elif word == b"RETURN" and i + 1 < len(args):
            n = to_int(args[i + 1])
            if n < 0 or i + 2 + n > len(args):
                raise CommandError("ERR RETURN <n> must be followed by n field names")
            opts["return"] = [a.decode(errors="replace") for a in args[i + 2:i + 2 + n]]
            i += 2 + n
        elif word == b"SORTBY" and i + 1 < len(args):
            opts["sortby"] = args[i + 1].decode(errors="replace")
            i += 2
            if i < len(args) and args[i].upper() in (b"ASC", b"DESC"):
                opts["asc"] = args[i].upper() == b"ASC"
                i += 1
        elif word == b"NOCONTENT":
            opts["nocontent"] = True
            i += 1
        elif word == b"WITHSCORES":
            opts["withscores"] = True
            i += 1
        else:
            raise CommandError(f"ERR FT.SEARCH: unknown or incomplete option "
                               f"'{args[i].decode(errors='replace')}' (LIMIT off n, RETURN n "
                               "f ..., SORTBY f [ASC|DESC], NOCONTENT, WITHSCORES)")
    if opts["withscores"] and opts["sortby"] is not None:
        raise CommandError("ERR WITHSCORES cannot be combined with SORTBY (results sorted by "
                           "a field have no relevance score)")
    return opts
