"""Keyspace notifications (`notify-keyspace-events`): `__keyspace@<db>__:<key>` carries the
event name, `__keyevent@<db>__:<event>` the key, as Redis 7 publishes them.

The event of a write is decided from the command, its key arguments and which of them exist
before and after it ran (`before` / `after` around the handler): a command that changed
nothing (its handler recorded no effect) publishes nothing, a container the command emptied
also publishes `del`, a relative EXPIRE in the past publishes `del` instead of `expire`. Keys
removed by expiry publish `expired`. Only while notifications are on do these hooks run (and
the C fast path steps aside, see Engine.guarded).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

CLASSES = "g$lshzxetdKEmn"


def bit(ch: str) -> int:
    return 1 << CLASSES.index(ch)


K, E = bit("K"), bit("E")
G, STR, LST, SET_, HSH, ZST, XPR, STM = (bit(c) for c in "g$lshzxt")

# command -> (class, event): the event published for every key the command wrote
SIMPLE: dict[str, tuple[int, str]] = {
    **{n: (STR, "set") for n in ("SET", "SETNX", "GETSET", "MSET", "MSETNX", "SETEX", "PSETEX")},
    "APPEND": (STR, "append"), "INCR": (STR, "incrby"), "INCRBY": (STR, "incrby"),
    "DECR": (STR, "incrby"), "DECRBY": (STR, "incrby"), "INCRBYFLOAT": (STR, "incrbyfloat"),
    "SETRANGE": (STR, "setrange"), "SETBIT": (STR, "setbit"), "BITFIELD": (STR, "setbit"),
    "PFADD": (STR, "pfadd"), "PFMERGE": (STR, "pfadd"),
    "LPUSH": (LST, "lpush"), "LPUSHX": (LST, "lpush"), "RPUSH": (LST, "rpush"),
    "RPUSHX": (LST, "rpush"), "LPOP": (LST, "lpop"), "RPOP": (LST, "rpop"),
    "BLPOP": (LST, "lpop"), "BRPOP": (LST, "rpop"), "LSET": (LST, "lset"),
    "LINSERT": (LST, "linsert"), "LTRIM": (LST, "ltrim"), "LREM": (LST, "lrem"),
    "SADD": (SET_, "sadd"), "SREM": (SET_, "srem"), "SPOP": (SET_, "spop"),
    "HSET": (HSH, "hset"), "HMSET": (HSH, "hset"), "HSETNX": (HSH, "hset"),
    "HDEL": (HSH, "hdel"), "HINCRBY": (HSH, "hincrby"), "HINCRBYFLOAT": (HSH, "hincrbyfloat"),
    "ZADD": (ZST, "zadd"), "ZINCRBY": (ZST, "zincr"), "ZREM": (ZST, "zrem"),
    "ZREMRANGEBYSCORE": (ZST, "zremrangebyscore"), "ZREMRANGEBYRANK": (ZST, "zremrangebyrank"),
    "ZREMRANGEBYLEX": (ZST, "zremrangebylex"), "ZPOPMIN": (ZST, "zpopmin"),
    "ZPOPMAX": (ZST, "zpopmax"), "BZPOPMIN": (ZST, "zpopmin"), "BZPOPMAX": (ZST, "zpopmax"),
    "PERSIST": (G, "persist"),
}
# store commands: the destination (argv[1]) gets the event, or `del` when the result is empty
STORES: dict[str, tuple[int, str]] = {
    "SINTERSTORE": (SET_, "sinterstore"), "SUNIONSTORE": (SET_, "sunionstore"),
    "SDIFFSTORE": (SET_, "sdiffstore"), "ZUNIONSTORE": (ZST, "zunionstore"),
    "ZINTERSTORE": (ZST, "zinterstore"), "ZDIFFSTORE": (ZST, "zdiffstore"),
    "ZRANGESTORE": (ZST, "zrangestore"), "SORT": (LST, "sortstore"),
    "BITOP": (STR, "set"),
}
EXPIRES = frozenset({"EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"})


class Notifier:
    """Publishes the events of writes through ``publish(channel, message)``."""

    def __init__(self, publish: Callable[[bytes, bytes], int]) -> None:
        self.publish = publish
        self.flags = 0

    def configure(self, flags: int) -> None:
        self.flags = flags

    def emit(self, cls: int, event: str, key: bytes, db: int) -> None:
        f = self.flags
        if not f & cls or not f & (K | E):
            return
        ev = event.encode()
        if f & K:
            self.publish(b"__keyspace@%d__:%b" % (db, key), ev)
        if f & E:
            self.publish(b"__keyevent@%d__:%b" % (db, ev), key)

    def expired(self, db: int, key: bytes) -> None:
        self.emit(XPR, "expired", key, db)

    @staticmethod
    def before(c: Any, keys: list[bytes]) -> dict[bytes, bool]:
        store = c.store
        return {k: store.data.get(k) is not None for k in keys}

    def after(self, c: Any, name: str, argv: list[bytes], keys: list[bytes],
              existed: dict[bytes, bool], effects: list[list[bytes]] | None) -> None:
        """Publish what the write did; ``effects`` as the handler recorded them (None: argv
        itself is the record; [] nothing changed)."""
        if effects is not None and not effects:
            return
        db, store = c.db, c.store
        now = {k: store.data.get(k) is not None for k in keys}
        emit = self.emit

        def gone(k: bytes) -> None:
            if existed.get(k) and not now.get(k):
                emit(G, "del", k, db)

        if name in ("DEL", "UNLINK", "GETDEL"):
            for k in keys:
                gone(k)
            return
        if name in SIMPLE:
            cls, event = SIMPLE[name]
            if name == "ZADD" and any(a.upper() == b"INCR" for a in argv[2:5]):
                event = "zincr"
            if name in ("BLPOP", "BRPOP", "BZPOPMIN", "BZPOPMAX") and effects:
                keys = [effects[0][1]]
            for k in keys:
                if name in ("MSET", "MSETNX") or existed.get(k) or now.get(k):
                    emit(cls, event, k, db)
            if name in ("SET", "SETEX", "PSETEX") and effects and b"PXAT" in effects[0][3:4]:
                emit(G, "expire", keys[0], db)
            for k in keys:
                gone(k)
            return
        if name in STORES:
            cls, event = STORES[name]
            dst = argv[1] if name != "SORT" else _sort_store(argv)
            if dst is None:
                return
            if now.get(dst):
                emit(cls, event, dst, db)
            else:
                gone(dst)
            return
        if name in EXPIRES or name == "GETEX":
            for e in effects or [argv]:
                kind = e[0]
                if kind == b"DEL":
                    emit(G, "del", e[1], db)
                elif kind in (b"PEXPIREAT", b"EXPIRE", b"PEXPIRE", b"EXPIREAT"):
                    emit(G, "expire", e[1], db)
                elif kind == b"PERSIST":
                    emit(G, "persist", e[1], db)
            return
        if name in ("RENAME", "RENAMENX"):
            emit(G, "rename_from", argv[1], db)
            emit(G, "rename_to", argv[2], db)
            return
        if name == "COPY":
            target = _copy_db(argv, db)
            self.emit(G, "copy_to", argv[2], target)
            return
        if name == "MOVE":
            emit(G, "move_from", argv[1], db)
            emit(G, "move_to", argv[1], int(argv[2]))
            return
        if name in ("LMOVE", "RPOPLPUSH", "BLMOVE", "BRPOPLPUSH"):
            for e in effects if effects is not None else [argv]:
                if e[0].upper() == b"LMOVE":
                    src, dst, frm, to = e[1], e[2], e[3].upper(), e[4].upper()
                    emit(LST, "lpush" if to == b"LEFT" else "rpush", dst, db)
                    emit(LST, "lpop" if frm == b"LEFT" else "rpop", src, db)
                    if store.data.get(src) is None and src != dst:
                        emit(G, "del", src, db)
            return
        if name == "SMOVE":
            emit(SET_, "srem", argv[1], db)
            gone(argv[1])
            emit(SET_, "sadd", argv[2], db)
            return
        if name in ("LMPOP", "BLMPOP", "ZMPOP", "BZMPOP"):
            for e in effects or []:
                cls = LST if name.endswith("LMPOP") else ZST
                emit(cls, e[0].decode().lower(), e[1], db)
                if store.data.get(e[1]) is None:
                    emit(G, "del", e[1], db)
            return
        # stream commands publish their own events as they go (commands/streams.py)


    def served(self, store: Any, effects: list[list[bytes]]) -> None:
        """Events of a blocked pop served by a later write (its effects)."""
        db = store.index
        for e in effects:
            kind = e[0].decode().lower()
            if kind.startswith("x"):  # a blocked XREADGROUP served: published as it went
                continue
            if kind == "lmove":
                src, dst, frm, to = e[1], e[2], e[3], e[4]
                self.emit(LST, "lpush" if to == b"LEFT" else "rpush", dst, db)
                self.emit(LST, "lpop" if frm == b"LEFT" else "rpop", src, db)
            else:
                self.emit(ZST if kind.startswith("z") else LST, kind, e[1], db)
                src = e[1]
            if store.data.get(src) is None:
                self.emit(G, "del", src, db)


def _sort_store(argv: list[bytes]) -> bytes | None:
    for i, a in enumerate(argv):
        if a.upper() == b"STORE" and i + 1 < len(argv):
            return argv[i + 1]
    return None


def _copy_db(argv: list[bytes], db: int) -> int:
    for i, a in enumerate(argv[3:], 3):
        if a.upper() == b"DB" and i + 1 < len(argv):
            return int(argv[i + 1])
    return db
