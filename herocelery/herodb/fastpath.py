"""The optional C request loop (`_fastpath.c`) behind one function; never required.

`runner(table)` gives a callable with `Engine.execute_batch`'s signature that runs a read's
requests in C, or None when the extension is not built (no compiler at install time) or when
`HEROCELERY_PURE_PYTHON=1` (read when an Engine is made); then the Python loop runs. The C loop
runs the plain happy path of the hottest commands itself (see `native_ops`) and hands every other
request to `Engine.execute`, so replies, errors and the log are those of the Python path.
`reader(native)` gives the C read callback for `server.Connection`. `function(name)` gives the
C request splitter and gatherer for `protocol.Parser`, the sender of held replies and the log
record encoder, each None when the module is not in use.
"""
from __future__ import annotations

import heapq
import os
from collections.abc import Callable
from functools import partial
from typing import Any

from .commands import blocking, hashes, keys, lists, pubsub, strings, transactions, zsets
from .commands.base import Command
from .protocol import INT_REPLIES, SIMPLE_REPLIES, encode
from .qlist import QList


def native_ops() -> dict[str, tuple[int, Callable[..., Any]]]:
    """command -> (op number in _fastpath.c, the Python handler it stands for). A function,
    not a module constant: the command modules import the engine, which imports this module,
    and a type checker can read their handlers' types only from inside a function."""
    return {
        "GET": (1, strings.get), "SET": (2, strings.set_), "INCR": (3, strings.incr),
        "DECR": (4, strings.decr), "INCRBY": (5, strings.incrby), "DECRBY": (6, strings.decrby),
        "LPUSH": (7, lists.lpush), "RPUSH": (8, lists.rpush), "LPOP": (9, lists.lpop),
        "RPOP": (10, lists.rpop), "HGET": (11, hashes.hget), "HSET": (12, hashes.hset),
        "EXISTS": (13, keys.exists), "DEL": (14, keys.del_), "SETEX": (15, strings.setex),
        "ZADD": (16, zsets.zadd), "ZREM": (17, zsets.zrem), "HDEL": (18, hashes.hdel),
        "PUBLISH": (19, pubsub.publish),
        # MULTI ... EXEC in one read runs without queueing (when EXEC is the stock one too)
        "MULTI": (20, transactions.multi),
        "SUBSCRIBE": (21, pubsub.subscribe), "UNSUBSCRIBE": (22, pubsub.unsubscribe),
        "BLPOP": (23, blocking.blpop), "BRPOP": (24, blocking.brpop),  # when served at once
    }


Batch = Callable[[Any, Any, list[list[bytes]], list[bytes]], Any]


def pure_forced() -> bool:
    return os.environ.get("HEROCELERY_PURE_PYTHON", "") not in ("", "0")


def _module() -> Any:
    if pure_forced():
        return None
    try:
        from . import _fastpath  # type: ignore[attr-defined]
    except ImportError:
        return None
    return _fastpath


def function(name: str) -> Any:
    """A function of the C module, or None when it is not in use (then Python does the work):
    `split` (whole regular requests of a read, for protocol.Parser), `pending` (where a
    cut-short regular request starts and the bytes it still needs), `send_held` (the replies
    HeroDB.release_held sends), `encode_records` (persist.encode_records' bytes, or None when
    a record is not plain)."""
    module = _module()
    return None if module is None else getattr(module, name)


def reader(native: Any) -> Callable[..., None] | None:
    """The C read callback for server.Connection (`read(ctx, conn, data)` with this engine's
    ctx bound), or None when `native` is not the C loop of `runner` (then Python reads)."""
    if not isinstance(native, partial) or not native.args:
        return None
    _fastpath = _module()
    if _fastpath is None or native.func is not _fastpath.run:
        return None
    return partial(_fastpath.read, native.args[0])


def runner(table: dict[bytes, Command], skip: tuple[str, ...] = ()) -> Batch | None:
    """The C batch loop for a command table, or None (then the Python loop runs). Commands
    in `skip` always take the Python path."""
    _fastpath = _module()
    if _fastpath is None:
        return None
    from .engine import MULTI_CONTROL, OUT_CAP, PAUSE, Block
    from .keyspace import ZSet
    try:
        from .persist import AppendLog
        log_type: Any = AppendLog
    except ImportError:
        log_type = None
    natives: dict[bytes, int] = {}
    exec_cmd = table.get(b"EXEC")
    for name, (op, handler) in native_ops().items():
        if name in skip or (name == "MULTI" and (exec_cmd is None
                                                 or exec_cmd.handler is not transactions.exec_)):
            continue
        for spelling in (name.encode(), name.lower().encode()):
            cmd = table.get(spelling)
            if cmd is not None and cmd.handler is handler:  # a replaced command stays in Python
                natives[spelling] = op
    ctx = (natives, QList, encode, Block, log_type, SIMPLE_REPLIES["OK"], INT_REPLIES, table,
           MULTI_CONTROL, ZSet, heapq.heappush, SIMPLE_REPLIES["QUEUED"], PAUSE, OUT_CAP)
    return partial(_fastpath.run, ctx)  # (engine, c, cmds, out), without a Python frame
