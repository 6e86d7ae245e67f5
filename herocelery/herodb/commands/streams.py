"""Streams (Redis 7.0): XADD XLEN XRANGE XREVRANGE XREAD XDEL XTRIM XSETID XGROUP XREADGROUP
XACK XPENDING XCLAIM XAUTOCLAIM XINFO, with Redis' argument checks and error texts.

Writes whose effect depends on time or on the node layout are logged as their effect: XADD
with ``*`` as the ID it made, approximate trims as an exact ``MAXLEN =``, deliveries to a
consumer (XREADGROUP, XCLAIM, XAUTOCLAIM) as ``XCLAIM … TIME t RETRYCOUNT n FORCE JUSTID`` and
``XGROUP SETID … ENTRIESREAD n``, as Redis propagates them. Blocked ``XREAD``/``XREADGROUP``
are woken by any write to their keys (XADD, RENAME into place, XGROUP DESTROY).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from ..engine import block_or_timeout
from ..errors import NOT_INTEGER, SYNTAX, WRONGTYPE, CommandError
from ..keyspace import Database, now_ms
from ..notify import STM
from ..protocol import NULL_ARRAY, OK
from ..stream import (
    INVALID_READ,
    MAX64,
    MAX_ID,
    ZERO,
    Group,
    Nack,
    Stream,
    StreamID,
    decr_id,
    format_id,
    incr_id,
)
from .base import INT64_MAX, Command, registrar, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

INVALID_ID = "ERR Invalid stream ID specified as stream command argument"
NOKEY = "ERR no such key"
XREAD_BLOCKED_COUNT = 1000
_ULL = re.compile(rb"[ \t\n\v\f\r]*([+-]?)([0-9]+)\Z")


# ---- parsing ---------------------------------------------------------------------------------
def _ull(raw: bytes) -> int | None:
    """Redis' string2ull: a strict int64 >= 0, else what strtoull accepts."""
    if raw.isdigit() and (raw[:1] != b"0" or len(raw) == 1) and len(raw) < 20:
        return int(raw)
    m = _ULL.match(raw)
    if m is None:
        return None
    value = int(m.group(2))
    if value > MAX64:
        return None
    if m.group(1) == b"-":
        strict = raw.lstrip(b"-")
        if strict.isdigit() and strict[:1] != b"0" and len(raw) == len(strict) + 1 \
                and value <= 2 ** 63:
            return None  # string2ll took it: negative is out of range
        value = (-value) % (MAX64 + 1)
    return value


def parse_id(raw: bytes, missing_seq: int = 0, strict: bool = False,
             seq_star: bool = False) -> tuple[StreamID, bool]:
    """streamGenericParseIDOrReply: (id, seq given). ``strict`` refuses ``-``/``+``;
    ``seq_star`` allows ``<ms>-*`` (XADD)."""
    if len(raw) > 127:
        raise CommandError(INVALID_ID)
    if raw == b"-" or raw == b"+":
        if strict:
            raise CommandError(INVALID_ID)
        return (ZERO if raw == b"-" else MAX_ID), True
    raw = raw.split(b"\0", 1)[0]
    ms_raw, dash, seq_raw = raw.partition(b"-")
    ms = _ull(ms_raw)
    if ms is None:
        raise CommandError(INVALID_ID)
    if not dash:
        return (ms, missing_seq), True
    if seq_star and seq_raw == b"*":
        return (ms, 0), False
    seq = _ull(seq_raw)
    if seq is None:
        raise CommandError(INVALID_ID)
    return (ms, seq), True


def parse_interval(raw: bytes, missing_seq: int, start: bool) -> StreamID:
    """An XRANGE/XPENDING bound, ``(`` making it exclusive."""
    if len(raw) > 1 and raw[:1] == b"(":
        sid, _ = parse_id(raw[1:], missing_seq, strict=True)
        moved = incr_id(sid) if start else decr_id(sid)
        if moved is None:
            raise CommandError("ERR invalid start ID for the interval" if start
                               else "ERR invalid end ID for the interval")
        return moved
    return parse_id(raw, missing_seq)[0]


def get_stream(store: Database, key: bytes) -> Stream | None:
    return store.get_typed(key, Stream)


def _cfg(c: Any, name: str, default: int) -> int:
    try:
        return _as_int(c.engine.config.values[name])
    except (TypeError, ValueError, KeyError, AttributeError):
        return default


@lru_cache(maxsize=64)
def _as_int(text: str) -> int:
    return int(text)


def _emit(c: Any, event: str, key: bytes, db: int | None = None) -> None:
    n = c.engine.notifier
    if n.flags:
        n.emit(STM, event, key, c.db if db is None else db)


def entry_reply(sid: StreamID, flat: list[bytes]) -> list[Any]:
    return [format_id(sid), flat]


# ---- trimming options (XADD and XTRIM) -------------------------------------------------------
class Trim:
    __slots__ = (
        "approx",
        "id",
        "id_given",
        "limit",
        "maxlen",
        "minid",
        "nomkstream",
        "seq_given",
    )

    def __init__(self) -> None:
        self.maxlen: int | None = None
        self.minid: StreamID | None = None
        self.approx = False
        self.limit = 0
        self.nomkstream = False
        self.id: StreamID = ZERO
        self.seq_given = True
        self.id_given = False

    @property
    def active(self) -> bool:
        return self.maxlen is not None or self.minid is not None


def parse_trim(c: Any, argv: list[bytes], xadd: bool) -> tuple[Trim, int]:
    """streamParseAddOrTrimArgsOrReply: the options and the index of the ID (XADD)."""
    t = Trim()
    i = 2
    n = len(argv)
    limit_given = False
    both = "ERR syntax error, MAXLEN and MINID options at the same time are not compatible"
    while i < n:
        more = n - 1 - i
        opt = argv[i].upper()
        if xadd and argv[i] == b"*":
            break
        if opt == b"MAXLEN" and more:
            if t.active:
                raise CommandError(both)
            t.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt in (b"~", b"="):
                t.approx = nxt == b"~"
                i += 1
            value = to_int(argv[i + 1])
            if value < 0:
                raise CommandError("ERR The MAXLEN argument must be >= 0.")
            t.maxlen = value
            i += 2
            continue
        if opt == b"MINID" and more:
            if t.active:
                raise CommandError(both)
            t.approx = False
            nxt = argv[i + 1]
            if more >= 2 and nxt in (b"~", b"="):
                t.approx = nxt == b"~"
                i += 1
            t.minid = parse_id(argv[i + 1], strict=True)[0]
            i += 2
            continue
        if opt == b"LIMIT" and more:
            value = to_int(argv[i + 1])
            if value < 0:
                raise CommandError("ERR The LIMIT argument must be >= 0.")
            t.limit = value
            limit_given = True
            i += 2
            continue
        if xadd and opt == b"NOMKSTREAM":
            t.nomkstream = True
            i += 1
            continue
        if xadd:
            t.id, t.seq_given = parse_id(argv[i], strict=True, seq_star=True)
            t.id_given = True
            break
        raise CommandError(SYNTAX)
    if t.limit and not t.active:
        raise CommandError("ERR syntax error, LIMIT cannot be used without specifying a "
                           "trimming strategy")
    if not xadd and not t.active:
        raise CommandError("ERR syntax error, XTRIM must be called with a trimming strategy")
    if limit_given:
        if not t.approx:
            raise CommandError("ERR syntax error, LIMIT cannot be used without the special ~ "
                               "option")
    elif t.approx:
        t.limit = 100 * _cfg(c, "stream-node-max-entries", 100)
        if t.limit <= 0 or t.limit > 1000000:
            t.limit = 10000
    else:
        t.limit = 0
    return t, i


def _trim_effect(key: bytes, s: Stream) -> list[bytes]:
    return [b"XTRIM", key, b"MAXLEN", b"=", str(len(s)).encode()]


# ---- XADD XLEN XRANGE XREVRANGE XDEL XTRIM XSETID --------------------------------------------
@command("XADD", -5, "write fast denyoom", keys=(1, 1, 1))
def xadd(c: Any, argv: list[bytes]) -> Any:
    t, idpos = parse_trim(c, argv, True)
    fields = argv[idpos + 1:]
    if len(fields) < 2 or len(fields) % 2:
        raise CommandError("ERR wrong number of arguments for 'xadd' command")
    if t.id_given and t.seq_given and t.id == ZERO:
        raise CommandError("ERR The ID specified in XADD must be greater than 0-0")
    store = c.store
    key = argv[1]
    s = get_stream(store, key)
    if s is None:
        if t.nomkstream:
            c.effects = []
            return None
        s = Stream()
        created = True
    else:
        created = False
    if s.last_id == MAX_ID:
        raise CommandError("ERR The stream has exhausted the last possible ID, unable to add "
                           "more items")
    if t.id_given:
        if t.seq_given:
            sid = t.id
        elif s.last_id[0] == t.id[0]:
            if s.last_id[1] == MAX64:
                raise CommandError("ERR The ID specified in XADD is equal or smaller than the "
                                   "target stream top item")
            sid = (t.id[0], s.last_id[1] + 1)
        else:
            sid = t.id
        if sid <= s.last_id:
            raise CommandError("ERR The ID specified in XADD is equal or smaller than the "
                               "target stream top item")
    else:
        ms = now_ms()
        if ms > s.last_id[0]:
            sid = (ms, 0)
        else:
            nxt = incr_id(s.last_id)
            assert nxt is not None
            sid = nxt
    if created:
        store.data[key] = s
    s.append(sid, list(fields), _cfg(c, "stream-node-max-entries", 100),
             _cfg(c, "stream-node-max-bytes", 4096))
    _emit(c, "xadd", key)
    effects = [[b"XADD", key, format_id(sid), *fields]]
    if t.active and s.trim(t.maxlen, t.minid, t.approx, t.limit):
        _emit(c, "xtrim", key)
        effects.append(_trim_effect(key, s))
    c.effects = effects
    return format_id(sid)


@command("XLEN", 2, "read fast", keys=(1, 1, 1))
def xlen(c: Any, argv: list[bytes]) -> Any:
    s = get_stream(c.store, argv[1])
    return 0 if s is None else len(s)


def _range(c: Any, argv: list[bytes], rev: bool) -> Any:
    start_raw, end_raw = (argv[3], argv[2]) if rev else (argv[2], argv[3])
    start = parse_interval(start_raw, 0, True)
    end = parse_interval(end_raw, MAX64, False)
    count = -1
    i = 4
    while i < len(argv):
        if argv[i].upper() == b"COUNT" and i + 1 < len(argv):
            count = max(to_int(argv[i + 1]), 0)
            i += 2
        else:
            raise CommandError(SYNTAX)
    s = get_stream(c.store, argv[1])
    if s is None:
        return []
    if count == 0:
        return NULL_ARRAY
    return [entry_reply(sid, flat) for sid, flat in s.range(start, end, max(count, 0), rev)]


@command("XRANGE", -4, "read", keys=(1, 1, 1))
def xrange(c: Any, argv: list[bytes]) -> Any:
    return _range(c, argv, False)


@command("XREVRANGE", -4, "read", keys=(1, 1, 1))
def xrevrange(c: Any, argv: list[bytes]) -> Any:
    return _range(c, argv, True)


@command("XDEL", -3, "write fast", keys=(1, 1, 1))
def xdel(c: Any, argv: list[bytes]) -> Any:
    s = get_stream(c.store, argv[1])
    if s is None:
        c.effects = []
        return 0
    ids = [parse_id(raw, strict=True)[0] for raw in argv[2:]]
    deleted = 0
    for sid in ids:
        if s.delete(sid):
            deleted += 1
    if deleted:
        s.update_first()
        _emit(c, "xdel", argv[1])
    else:
        c.effects = []
    return deleted


@command("XTRIM", -4, "write", keys=(1, 1, 1))
def xtrim(c: Any, argv: list[bytes]) -> Any:
    t, i = parse_trim(c, argv, False)
    if i < len(argv):
        raise CommandError(SYNTAX)
    s = get_stream(c.store, argv[1])
    if s is None:
        c.effects = []
        return 0
    deleted = s.trim(t.maxlen, t.minid, t.approx, t.limit)
    if deleted:
        _emit(c, "xtrim", argv[1])
        c.effects = [_trim_effect(argv[1], s)]
    else:
        c.effects = []
    return deleted


@command("XSETID", -3, "write fast denyoom", keys=(1, 1, 1))
def xsetid(c: Any, argv: list[bytes]) -> Any:
    sid = parse_id(argv[2], strict=True)[0]
    added = -1
    max_del = ZERO
    i = 3
    n = len(argv)
    while i < n:
        opt = argv[i].upper()
        if opt == b"ENTRIESADDED" and i + 1 < n:
            added = to_int(argv[i + 1])
            if added < 0:
                raise CommandError("ERR entries_added must be positive")
        elif opt == b"MAXDELETEDID" and i + 1 < n:
            max_del = parse_id(argv[i + 1], strict=True)[0]
            if sid < max_del:
                raise CommandError("ERR The ID specified in XSETID is smaller than the provided "
                                   "max_deleted_entry_id")
        else:
            raise CommandError(SYNTAX)
        i += 2
    s = get_stream(c.store, argv[1])
    if s is None:
        raise CommandError(NOKEY)
    if sid < s.max_deleted:
        raise CommandError("ERR The ID specified in XSETID is smaller than current "
                           "max_deleted_entry_id")
    if len(s):
        if sid < s.last_valid():
            raise CommandError("ERR The ID specified in XSETID is smaller than the target "
                               "stream top item")
        if added != -1 and len(s) > added:
            raise CommandError("ERR The entries_added specified in XSETID is smaller than the "
                               "target stream length")
    s.last_id = sid
    if added != -1:
        s.entries_added = added
    if max_del != ZERO:
        s.max_deleted = max_del
    _emit(c, "xsetid", argv[1])
    return OK


# ---- XGROUP ----------------------------------------------------------------------------------
XGROUP_ARITY = {b"CREATE": -5, b"SETID": -5, b"DESTROY": 4, b"CREATECONSUMER": 5,
                b"DELCONSUMER": 5, b"HELP": 2}
XGROUP_HELP = [
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Print this help.",
]


def _arity(name: bytes, sub: bytes, argv: list[bytes], table: dict[bytes, int]) -> None:
    want = table.get(sub)
    if want is None:
        raise CommandError(f"ERR unknown subcommand '{argv[1][:128].decode(errors='replace')}'. "
                           f"Try {name.decode()} HELP.")
    n = len(argv)
    if (want > 0 and n != want) or n < -want:
        raise CommandError(f"ERR wrong number of arguments for "
                           f"'{name.decode().lower()}|{sub.decode().lower()}' command")


def _xgroup_keys(argv: list[bytes]) -> list[bytes]:
    return argv[2:3] if len(argv) > 2 and argv[1].upper() != b"HELP" else []


def _subcommand_syntax(argv: list[bytes], name: str) -> CommandError:
    return CommandError(f"ERR unknown subcommand or wrong number of arguments for "
                        f"'{argv[1][:128].decode(errors='replace')}'. Try {name} HELP.")


@command("XGROUP", -2, "write", key_fn=_xgroup_keys)
def xgroup(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    _arity(b"XGROUP", sub, argv, XGROUP_ARITY)
    if sub == b"HELP":
        c.effects = []
        return XGROUP_HELP
    store = c.store
    key, gname = argv[2], argv[3]
    mkstream = False
    entries_read = INVALID_READ
    if sub in (b"CREATE", b"SETID"):
        i = 5
        while i < len(argv):
            opt = argv[i].upper()
            if sub == b"CREATE" and opt == b"MKSTREAM":
                mkstream = True
                i += 1
            elif opt == b"ENTRIESREAD" and i + 1 < len(argv):
                entries_read = to_int(argv[i + 1])
                if entries_read < 0 and entries_read != INVALID_READ:
                    raise CommandError("ERR value for ENTRIESREAD must be positive or -1")
                i += 2
            else:
                raise _subcommand_syntax(argv, "XGROUP")
    s = get_stream(store, key)
    g = None
    if not mkstream:
        if s is None:
            raise CommandError("ERR The XGROUP subcommand requires the key to exist. Note that "
                               "for CREATE you may want to use the MKSTREAM option to create "
                               "an empty stream automatically.")
        g = s.groups.get(gname)
        if g is None and sub in (b"SETID", b"CREATECONSUMER", b"DELCONSUMER"):
            raise CommandError(f"NOGROUP No such consumer group '{gname.decode(errors='replace')}'"
                               f" for key name '{key.decode(errors='replace')}'")
    elif s is not None:
        g = s.groups.get(gname)
    if sub == b"CREATE":
        if argv[4] == b"$":
            sid = s.last_id if s is not None else ZERO
        else:
            sid = parse_id(argv[4], strict=True)[0]
        if s is None:
            s = Stream()
            store.data[key] = s
        if gname in s.groups:
            raise CommandError("BUSYGROUP Consumer Group name already exists")
        s.groups[gname] = Group(gname, sid, entries_read)
        c.effects = [[b"XGROUP", b"CREATE", key, gname, format_id(sid), b"MKSTREAM",
                      b"ENTRIESREAD", str(entries_read).encode()]]
        _emit(c, "xgroup-create", key)
        return OK
    assert s is not None
    if sub == b"SETID":
        assert g is not None
        sid = s.last_id if argv[4] == b"$" else parse_id(argv[4])[0]
        g.last_id = sid
        g.entries_read = entries_read
        c.effects = [[b"XGROUP", b"SETID", key, gname, format_id(sid), b"ENTRIESREAD",
                      str(entries_read).encode()]]
        _emit(c, "xgroup-setid", key)
        return OK
    if sub == b"DESTROY":
        if g is None:
            c.effects = []
            return 0
        del s.groups[gname]
        _emit(c, "xgroup-destroy", key)
        return 1
    assert g is not None
    if sub == b"CREATECONSUMER":
        _, created = g.consumer(argv[4], now_ms())
        if not created:
            c.effects = []
            return 0
        _emit(c, "xgroup-createconsumer", key)
        return 1
    # DELCONSUMER
    cons = g.consumers.pop(argv[4], None)
    if cons is None:
        c.effects = []
        return 0
    for sid in cons.pel:
        g.pel.pop(sid, None)
    _emit(c, "xgroup-delconsumer", key)
    return len(cons.pel)


# ---- XREAD / XREADGROUP ----------------------------------------------------------------------
GT = MAX_ID  # the ">" ID


def _parse_timeout_ms(raw: bytes) -> float:
    value = to_int(raw, "ERR timeout is not an integer or out of range")
    if value < 0:
        raise CommandError("ERR timeout is negative")
    if value > 0 and value + now_ms() > INT64_MAX:
        raise CommandError("ERR timeout is out of range")
    return value / 1000.0


def _deliver(c: Any, store: Database, key: bytes, s: Stream, g: Group, consumer: bytes,
             start: StreamID, count: int, noack: bool, effects: list[list[bytes]]) -> list[Any]:
    """Serve new entries (after ``start``) to a consumer of a group: PEL, last ID, effects."""
    now = now_ms()
    cons, created = g.consumer(consumer, now)
    if created:
        effects.append([b"XGROUP", b"CREATECONSUMER", key, g.name, consumer])
        _emit(c, "xgroup-createconsumer", key, store.index)
    out: list[Any] = []
    before = g.last_id
    for sid, flat in s.after(start, count):
        s.advance_group(g, sid)
        out.append(entry_reply(sid, flat))
        if noack:
            continue
        nack = g.pel.get(sid)
        if nack is None:
            nack = Nack(cons, now)
            g.pel[sid] = nack
        else:
            if nack.consumer is not None:
                nack.consumer.pel.pop(sid, None)
            nack.consumer = cons
            nack.time = now
            nack.count = 1
        cons.pel[sid] = nack
        effects.append([b"XCLAIM", key, g.name, consumer, b"0", format_id(sid), b"TIME",
                        str(now).encode(), b"RETRYCOUNT", b"1", b"FORCE", b"JUSTID"])
    if g.last_id != before:
        effects.append([b"XGROUP", b"SETID", key, g.name, format_id(g.last_id), b"ENTRIESREAD",
                        str(g.entries_read).encode()])
    return out


def _history(c: Any, s: Stream, g: Group, key: bytes, consumer: bytes, start: StreamID,
             count: int, effects: list[list[bytes]]) -> list[Any]:
    """XREADGROUP with an ID: the consumer's own pending entries after it."""
    cons, created = g.consumer(consumer, now_ms())
    if created:
        effects.append([b"XGROUP", b"CREATECONSUMER", key, g.name, consumer])
        _emit(c, "xgroup-createconsumer", key)
    out: list[Any] = []
    now = now_ms()
    for sid in cons.pel.irange(minimum=start):
        flat = s.entries.get(sid)
        if flat is None:
            out.append([format_id(sid), NULL_ARRAY])
        else:
            nack = cons.pel[sid]
            nack.time = now
            nack.count += 1
            out.append(entry_reply(sid, flat))
        if count and len(out) >= count:
            break
    return out


def _xread(c: Any, argv: list[bytes], group_mode: bool) -> Any:
    name = argv[0].decode(errors="replace")
    timeout: float | None = None
    count = 0
    noack = False
    gname: bytes | None = None
    consumer = b""
    streams_arg = 0
    n = len(argv)
    i = 1
    while i < n:
        more = n - i - 1
        opt = argv[i].upper()
        if opt == b"BLOCK" and more:
            if c.in_script:
                raise CommandError(f"ERR {name} command is not allowed with BLOCK option from "
                                   "scripts")
            timeout = _parse_timeout_ms(argv[i + 1])
            i += 2
        elif opt == b"COUNT" and more:
            count = max(to_int(argv[i + 1]), 0)
            i += 2
        elif opt == b"STREAMS" and more:
            streams_arg = i + 1
            if (n - streams_arg) % 2:
                symbol = ">" if group_mode else "$"
                raise CommandError(f"ERR Unbalanced '{'xreadgroup' if group_mode else 'xread'}' "
                                   f"list of streams: for each stream key an ID or '{symbol}' "
                                   "must be specified.")
            break
        elif opt == b"GROUP" and more >= 2:
            if not group_mode:
                raise CommandError("ERR The GROUP option is only supported by XREADGROUP. You "
                                   "called XREAD instead.")
            gname, consumer = argv[i + 1], argv[i + 2]
            i += 3
        elif opt == b"NOACK":
            if not group_mode:
                raise CommandError("ERR The NOACK option is only supported by XREADGROUP. You "
                                   "called XREAD instead.")
            noack = True
            i += 1
        else:
            raise CommandError(SYNTAX)
    if not streams_arg:
        raise CommandError(SYNTAX)
    if group_mode and gname is None:
        raise CommandError("ERR Missing GROUP option for XREADGROUP")
    half = (n - streams_arg) // 2
    keys = argv[streams_arg:streams_arg + half]
    store = c.store
    ids: list[StreamID] = []
    groups: list[Group | None] = []
    for key, raw in zip(keys, argv[streams_arg + half:], strict=False):
        s = get_stream(store, key)
        g = None
        if gname is not None:
            g = s.groups.get(gname) if s is not None else None
            if g is None:
                raise CommandError(
                    f"NOGROUP No such key '{key.decode(errors='replace')}' or consumer group "
                    f"'{gname.decode(errors='replace')}' in XREADGROUP with GROUP option")
        groups.append(g)
        if raw == b"$":
            if group_mode:
                raise CommandError(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read "
                    "the history of this consumer by specifying a proper ID, or use the > ID to "
                    "get new messages. The $ ID would just return an empty result set.")
            ids.append(s.last_id if s is not None else ZERO)
            continue
        if raw == b">":
            if not group_mode:
                raise CommandError("ERR The > ID can be specified only when calling XREADGROUP "
                                   "using the GROUP <group> <consumer> option.")
            ids.append(GT)
            continue
        ids.append(parse_id(raw, strict=True)[0])
    effects: list[list[bytes]] = []
    result: dict[bytes, Any] = {}
    for key, gt, g in zip(keys, ids, groups, strict=False):
        s = get_stream(store, key)
        if s is None:
            continue
        if g is not None:
            if gt != GT:
                result[key] = _history(c, s, g, key, consumer, incr_id(gt) or MAX_ID, count,
                                       effects)
                continue
            if len(s) and s.last_valid() > g.last_id:
                result[key] = _deliver(c, store, key, s, g, consumer,
                                       incr_id(g.last_id) or MAX_ID, count, noack, effects)
            continue
        if len(s) and s.last_valid() > gt:
            start = incr_id(gt)
            result[key] = [entry_reply(sid, flat) for sid, flat in s.after(start or MAX_ID, count)]
    if group_mode:
        c.effects = effects
    if result:
        return result if c.proto == 3 and not c.in_script else [[k, v] for k, v in result.items()]
    if timeout is None:
        return NULL_ARRAY
    wait_count = count or XREAD_BLOCKED_COUNT
    positions = dict(zip(keys, ids, strict=False))

    def serve(st: Database, key: bytes) -> Any:
        stream = st.data.get(key)
        if type(stream) is not Stream:
            if gname is not None:  # Redis 7.0 unblocks a group reader whose key went
                return CommandErrorReply("UNBLOCKED the stream key no longer exists"), []
            return None
        gt = positions.get(key, ZERO)
        eff: list[list[bytes]] = []
        if gname is not None:
            grp = stream.groups.get(gname)
            if grp is None:
                return CommandErrorReply("NOGROUP the consumer group this client was blocked "
                                         "on no longer exists"), []
            gt = grp.last_id
            if not stream.last_id > gt:
                return None
            items = _deliver(c, st, key, stream, grp, consumer, incr_id(gt) or MAX_ID,
                             wait_count, noack, eff)
        else:
            if not stream.last_id > gt:
                return None
            items = [entry_reply(sid, flat)
                     for sid, flat in stream.range(incr_id(gt) or MAX_ID, MAX_ID, wait_count)]
        reply = {key: items} if c.proto == 3 else [[key, items]]
        return reply, eff

    c_effects = c.effects
    out = block_or_timeout(c, list(keys), timeout, serve)
    if group_mode:
        c.effects = c_effects
    else:
        c.effects = None
    return out


def CommandErrorReply(text: str) -> Any:
    from ..protocol import ReplyError
    return ReplyError(text)


@command("XREAD", -4, "read", key_fn=lambda argv: _stream_keys(argv))
def xread(c: Any, argv: list[bytes]) -> Any:
    return _xread(c, argv, False)


@command("XREADGROUP", -7, "write", key_fn=lambda argv: _stream_keys(argv))
def xreadgroup(c: Any, argv: list[bytes]) -> Any:
    return _xread(c, argv, True)


def _stream_keys(argv: list[bytes]) -> list[bytes]:
    for i, a in enumerate(argv):
        if a.upper() == b"STREAMS":
            rest = argv[i + 1:]
            return rest[:len(rest) // 2]
    return []


# ---- XACK XPENDING XCLAIM XAUTOCLAIM ---------------------------------------------------------
def _nogroup(key: bytes, gname: bytes) -> CommandError:
    return CommandError(f"NOGROUP No such key '{key.decode(errors='replace')}' or consumer group "
                        f"'{gname.decode(errors='replace')}'")


@command("XACK", -4, "write fast", keys=(1, 1, 1))
def xack(c: Any, argv: list[bytes]) -> Any:
    s = get_stream(c.store, argv[1])
    g = s.groups.get(argv[2]) if s is not None else None
    if g is None:
        c.effects = []
        return 0
    ids = [parse_id(raw, strict=True)[0] for raw in argv[3:]]
    acked = 0
    for sid in ids:
        if sid in g.pel:
            g.remove_nack(sid)
            acked += 1
    if not acked:
        c.effects = []
    return acked


@command("XPENDING", -3, "read", keys=(1, 1, 1))
def xpending(c: Any, argv: list[bytes]) -> Any:
    n = len(argv)
    if n != 3 and not 6 <= n <= 9:
        raise CommandError(SYNTAX)
    minidle = 0
    count = 0
    start, end = ZERO, MAX_ID
    consumer: bytes | None = None
    if n >= 6:
        idx = 3
        if argv[3].upper() == b"IDLE":
            minidle = to_int(argv[4])
            if n < 8:
                raise CommandError(SYNTAX)
            idx += 2
        count = max(to_int(argv[idx + 2]), 0)
        start = parse_interval(argv[idx], 0, True)
        end = parse_interval(argv[idx + 1], MAX64, False)
        if idx + 3 < n:
            consumer = argv[idx + 3]
    s = get_stream(c.store, argv[1])
    g = s.groups.get(argv[2]) if s is not None else None
    if g is None:
        raise _nogroup(argv[1], argv[2])
    if n == 3:
        if not g.pel:
            return [0, None, None, NULL_ARRAY]
        owners = [[name, str(len(cons.pel)).encode()]
                  for name, cons in sorted(g.consumers.items()) if cons.pel]
        return [len(g.pel), format_id(g.pel.first()), format_id(g.pel.last()),
                owners]
    pel = g.pel
    if consumer is not None:
        cons = g.consumers.get(consumer)
        if cons is None:
            return []
        pel = cons.pel
    now = now_ms()
    out: list[Any] = []
    if count and start <= end:
        for sid in pel.irange(start, end):
            nack = pel[sid]
            if minidle and now - nack.time < minidle:
                continue
            owner = nack.consumer.name if nack.consumer is not None else b""
            out.append([format_id(sid), owner, max(now - nack.time, 0), nack.count])
            if len(out) >= count:
                break
    return out


def _claim_effect(key: bytes, gname: bytes, sid: StreamID, nack: Nack, name: bytes
                  ) -> list[bytes]:
    return [b"XCLAIM", key, gname, name, b"0", format_id(sid), b"TIME", str(nack.time).encode(),
            b"RETRYCOUNT", str(nack.count).encode(), b"FORCE", b"JUSTID"]


def _drop_effect(key: bytes, gname: bytes, sid: StreamID) -> list[bytes]:
    # an XCLAIM of an entry that no longer exists drops its pending record on replay too
    return [b"XCLAIM", key, gname, b"x", b"0", format_id(sid), b"JUSTID"]


@command("XCLAIM", -6, "write fast", keys=(1, 1, 1))
def xclaim(c: Any, argv: list[bytes]) -> Any:
    key, gname, name = argv[1], argv[2], argv[3]
    s = get_stream(c.store, key)
    g = s.groups.get(gname) if s is not None else None
    if s is None or g is None:
        raise _nogroup(key, gname)
    minidle = max(to_int(argv[4], "ERR Invalid min-idle-time argument for XCLAIM"), 0)
    ids: list[StreamID] = []
    j = 5
    while j < len(argv):
        try:
            ids.append(parse_id(argv[j], strict=True)[0])
        except CommandError:
            break
        j += 1
    now = now_ms()
    delivery = -1
    retry = -1
    force = justid = False
    last_id = ZERO
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].upper()
        if opt == b"FORCE":
            force = True
        elif opt == b"JUSTID":
            justid = True
        elif opt == b"IDLE" and more:
            j += 1
            delivery = now - to_int(argv[j], "ERR Invalid IDLE option argument for XCLAIM")
        elif opt == b"TIME" and more:
            j += 1
            delivery = to_int(argv[j], "ERR Invalid TIME option argument for XCLAIM")
        elif opt == b"RETRYCOUNT" and more:
            j += 1
            retry = to_int(argv[j], "ERR Invalid RETRYCOUNT option argument for XCLAIM")
        elif opt == b"LASTID" and more:
            j += 1
            last_id = parse_id(argv[j], strict=True)[0]
        else:
            option = argv[j].decode(errors="replace")
            raise CommandError(f"ERR Unrecognized XCLAIM option '{option}'")
        j += 1
    effects: list[list[bytes]] = []
    if last_id > g.last_id:
        g.last_id = last_id
        effects.append([b"XGROUP", b"SETID", key, gname, format_id(last_id), b"ENTRIESREAD",
                        str(g.entries_read).encode()])
    if delivery == -1 or delivery < 0 or delivery > now:
        delivery = now
    out: list[Any] = []
    cons = None
    for sid in ids:
        nack = g.pel.get(sid)
        if sid not in s.entries:
            if nack is not None:
                g.remove_nack(sid)
                effects.append(_drop_effect(key, gname, sid))
            continue
        if force and nack is None:
            nack = Nack(None, now)
            g.pel[sid] = nack
        if nack is None:
            continue
        if nack.consumer is not None and minidle and now - nack.time < minidle:
            continue
        if cons is None:
            cons, created = g.consumer(name, now)
            if created:
                _emit(c, "xgroup-createconsumer", key)
        if nack.consumer is not cons and nack.consumer is not None:
            nack.consumer.pel.pop(sid, None)
        nack.time = delivery
        if retry >= 0:
            nack.count = retry
        elif not justid:
            nack.count += 1
        nack.consumer = cons
        cons.pel[sid] = nack
        out.append(format_id(sid) if justid else entry_reply(sid, s.entries[sid]))
        effects.append(_claim_effect(key, gname, sid, nack, name))
    c.effects = effects
    return out


@command("XAUTOCLAIM", -6, "write fast", keys=(1, 1, 1))
def xautoclaim(c: Any, argv: list[bytes]) -> Any:
    key, gname, name = argv[1], argv[2], argv[3]
    minidle = max(to_int(argv[4], "ERR Invalid min-idle-time argument for XAUTOCLAIM"), 0)
    start = parse_interval(argv[5], 0, True)
    count = 100
    justid = False
    j = 6
    while j < len(argv):
        more = len(argv) - 1 - j
        opt = argv[j].upper()
        if opt == b"COUNT" and more:
            count = to_int(argv[j + 1], "ERR COUNT must be > 0")
            if count < 1 or count > (2 ** 63 - 1) // 16:
                raise CommandError("ERR COUNT must be > 0")
            j += 1
        elif opt == b"JUSTID":
            justid = True
        else:
            raise CommandError(SYNTAX)
        j += 1
    s = get_stream(c.store, key)
    g = s.groups.get(gname) if s is not None else None
    if s is None or g is None:
        raise _nogroup(key, gname)
    attempts = count * 10
    now = now_ms()
    out: list[Any] = []
    deleted: list[bytes] = []
    effects: list[list[bytes]] = []
    cons = None
    pel = g.pel
    keys = list(pel.irange(minimum=start))
    pos = 0
    while attempts and count and pos < len(keys):
        attempts -= 1
        sid = keys[pos]
        pos += 1
        nack = pel[sid]
        if sid not in s.entries:
            g.remove_nack(sid)
            deleted.append(format_id(sid))
            effects.append(_drop_effect(key, gname, sid))
            count -= 1
            continue
        if minidle and now - nack.time < minidle:
            continue
        if cons is None:
            cons, created = g.consumer(name, now)
            if created:
                _emit(c, "xgroup-createconsumer", key)
        if nack.consumer is not cons and nack.consumer is not None:
            nack.consumer.pel.pop(sid, None)
        nack.time = now
        if not justid:
            nack.count += 1
        nack.consumer = cons
        cons.pel[sid] = nack
        out.append(format_id(sid) if justid else entry_reply(sid, s.entries[sid]))
        effects.append(_claim_effect(key, gname, sid, nack, name))
        count -= 1
    cursor = format_id(keys[pos]) if pos < len(keys) else b"0-0"
    c.effects = effects
    return [cursor, out, deleted]


# ---- XINFO -----------------------------------------------------------------------------------
XINFO_ARITY = {b"STREAM": -3, b"GROUPS": 3, b"CONSUMERS": 4, b"HELP": 2}
XINFO_HELP = [
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Print this help.",
]


def _xinfo_keys(argv: list[bytes]) -> list[bytes]:
    return argv[2:3] if len(argv) > 2 else []


@command("XINFO", -2, "read", key_fn=_xinfo_keys)
def xinfo(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    _arity(b"XINFO", sub, argv, XINFO_ARITY)
    if sub == b"HELP":
        return XINFO_HELP
    s = get_stream(c.store, argv[2])
    if s is None:
        raise CommandError(NOKEY)
    now = now_ms()
    if sub == b"CONSUMERS":
        g = s.groups.get(argv[3])
        if g is None:
            raise CommandError(f"NOGROUP No such consumer group "
                               f"'{argv[3].decode(errors='replace')}' for key name "
                               f"'{argv[2].decode(errors='replace')}'")
        return [{b"name": cons.name, b"pending": len(cons.pel), b"idle": max(now - cons.seen, 0)}
                for _, cons in sorted(g.consumers.items())]
    if sub == b"GROUPS":
        return [{b"name": g.name, b"consumers": len(g.consumers), b"pending": len(g.pel),
                 b"last-delivered-id": format_id(g.last_id),
                 b"entries-read": None if g.entries_read == INVALID_READ else g.entries_read,
                 b"lag": s.lag(g)} for _, g in sorted(s.groups.items())]
    opts = argv[3:]
    full = bool(opts)
    count = 10
    if opts:
        if len(opts) not in (1, 3) or opts[0].upper() != b"FULL":
            raise _subcommand_syntax(argv, "XINFO")
        if len(opts) == 3:
            if opts[1].upper() != b"COUNT":
                raise _subcommand_syntax(argv, "XINFO")
            count = to_int(opts[2])
            if count < 0:
                count = 10
    info: dict[bytes, Any] = {
        b"length": len(s), b"radix-tree-keys": len(s.nodes),
        b"radix-tree-nodes": rax_nodes([_key128(m) for m in s.nodes]),
        b"last-generated-id": format_id(s.last_id),
        b"max-deleted-entry-id": format_id(s.max_deleted),
        b"entries-added": s.entries_added,
        b"recorded-first-entry-id": format_id(s.first_id),
    }
    if not full:
        info[b"groups"] = len(s.groups)
        first = next(s.range(ZERO, MAX_ID, 1), None)
        last = next(s.range(ZERO, MAX_ID, 1, rev=True), None)
        info[b"first-entry"] = entry_reply(*first) if first else None
        info[b"last-entry"] = entry_reply(*last) if last else None
        return info
    info[b"entries"] = [entry_reply(sid, flat) for sid, flat in s.range(ZERO, MAX_ID, count)]
    groups = []
    for _, g in sorted(s.groups.items()):
        pending: list[Any] = []
        for sid, nack in g.pel.sorted_items():
            if count and len(pending) >= count:
                break
            pending.append([format_id(sid), nack.consumer.name if nack.consumer else b"",
                            nack.time, nack.count])
        consumers = []
        for _, cons in sorted(g.consumers.items()):
            cpend: list[Any] = []
            for sid, nack in cons.pel.sorted_items():
                if count and len(cpend) >= count:
                    break
                cpend.append([format_id(sid), nack.time, nack.count])
            consumers.append({b"name": cons.name, b"seen-time": cons.seen,
                              b"pel-count": len(cons.pel), b"pending": cpend})
        groups.append({b"name": g.name, b"last-delivered-id": format_id(g.last_id),
                       b"entries-read": None if g.entries_read == INVALID_READ else g.entries_read,
                       b"lag": s.lag(g), b"pel-count": len(g.pel), b"pending": pending,
                       b"consumers": consumers})
    info[b"groups"] = groups
    return info


def _key128(sid: StreamID) -> bytes:
    return sid[0].to_bytes(8, "big") + sid[1].to_bytes(8, "big")


def rax_nodes(keys: list[bytes], depth: int = 0) -> int:
    """How many nodes Redis' radix tree has for these sorted, equal-length keys (the
    compressed form: a run of shared bytes is one node, a fork one node, each key a leaf)."""
    if not keys:
        return 1  # the empty root
    end = len(keys[0])
    if depth == end:
        return 1
    first, last = keys[0], keys[-1]
    cp = 0
    while depth + cp < end and first[depth + cp] == last[depth + cp]:
        cp += 1
    if cp:
        return 1 + rax_nodes(keys, depth + cp)
    total = 1
    i = 0
    while i < len(keys):
        j = i
        b = keys[i][depth]
        while j < len(keys) and keys[j][depth] == b:
            j += 1
        total += rax_nodes(keys[i:j], depth + 1)
        i = j
    return total


__all__ = ["COMMANDS", "NOT_INTEGER", "WRONGTYPE", "Stream"]
