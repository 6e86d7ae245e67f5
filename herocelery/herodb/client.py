"""Per-connection state: selected database, protocol, name, access fields, MULTI, WATCH, pub/sub.

The access object (``access.py``) reads and sets ``admin``, ``db``, ``perm`` and
``authenticated``; it changes the database only through ``select``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import DB_INDEX, CommandError
from .keyspace import Database

if TYPE_CHECKING:
    from .engine import Engine, Waiter


class ConnState:
    """Everything HeroDB knows about one client connection."""

    def __init__(self, engine: Engine, client_id: int, addr: str = "", laddr: str = "",
                 send: Callable[[bytes], None] | None = None,
                 close: Callable[[], None] | None = None) -> None:
        self.engine = engine
        self.id = client_id
        self.addr = addr
        self.laddr = laddr
        self.db = 0
        self.store: Database = engine.keyspace.dbs[0]
        self.proto = 2
        self.name = b""
        self.lib_name = b""
        self.lib_ver = b""
        # access model (see access.py): without an access object everything is allowed
        self.admin = False
        self.perm = "none"
        self.authenticated = False
        # transactions
        self.multi: list[tuple[Any, list[bytes]]] | None = None
        self.multi_error = False
        self.watching: set[tuple[int, bytes]] = set()
        self.watch_dirty = False
        self.watch_expired: set[tuple[int, bytes]] = set()  # WATCHed when already expired
        # pub/sub
        self.channels: set[bytes] = set()
        self.patterns: set[bytes] = set()
        # (is pattern, name) -> database of a subscription scoped to it (scoped.py); an
        # admin's (global) subscription is not in here
        self.scopes: dict[tuple[bool, bytes], int] = {}
        # execution
        self.in_script = False
        self.in_exec = False
        self.effects: list[list[bytes]] | None = None  # write effects replacing argv in the log
        self.waiter: Waiter | None = None
        self.reply_off: str | None = None  # CLIENT REPLY OFF ("off") / SKIP ("skip")
        self.notify_before: Any = None  # (keys, existed) while a write runs, notifications on
        self.created = time.time()
        self.last_cmd = b"NULL"
        self.closing = False
        self.quit = False  # QUIT: close once the replies are written
        self.resume: Callable[[Any], None] | None = None  # set by the server: unblocked reply
        # bytes written to this client and not yet taken by it (set by the server)
        self.output_size: Callable[[], int] = lambda: 0
        self.conn: Any = None  # the server's Connection (None for replay, scripts' tests)
        self._send = send
        self._close = close

    # ---- used by handlers and the access object --------------------------------------------
    def select(self, index: int) -> None:
        """Switch the connection to database ``index`` (ERR DB index is out of range)."""
        dbs = self.engine.keyspace.dbs
        if index < 0 or index >= len(dbs):
            raise CommandError(DB_INDEX)
        self.db = index
        self.store = dbs[index]

    @property
    def subscribed(self) -> int:
        return len(self.channels) + len(self.patterns)

    @property
    def no_block(self) -> bool:
        """Inside MULTI/EXEC and scripts blocking commands answer at once (Redis semantics)."""
        return self.in_exec or self.in_script

    def send(self, data: bytes) -> None:
        """Write out-of-band bytes (pub/sub messages, unblocked replies)."""
        if self._send is not None and not self.closing:
            self._send(data)

    def close(self) -> None:
        self.closing = True
        if self._close is not None:
            self._close()

    def info_line(self) -> str:
        """One CLIENT LIST line."""
        flags = "P" if self.subscribed else ("x" if self.multi is not None else "N")
        if self.waiter is not None:
            flags = "b"
        age = int(time.time() - self.created)
        name = self.name.decode(errors="replace")
        multi = -1 if self.multi is None else len(self.multi)
        cmd = self.last_cmd.decode(errors="replace").lower()
        return (f"id={self.id} addr={self.addr} laddr={self.laddr} fd=0 name={name} "
                f"age={age} idle=0 flags={flags} db={self.db} sub={len(self.channels)} "
                f"psub={len(self.patterns)} ssub=0 multi={multi} "
                f"qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 "
                f"tot-mem=0 events=r cmd={cmd} user=default "
                f"redir=-1 resp={self.proto} lib-name={self.lib_name.decode(errors='replace')} "
                f"lib-ver={self.lib_ver.decode(errors='replace')}")
