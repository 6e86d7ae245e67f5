"""Command dispatch without sockets: table lookup, arity, access, MULTI queueing, write hooks.

After every write the engine (1) marks WATCHing clients dirty, (2) queues keys that blocked
clients wait on, (3) appends the write (or the effects the handler recorded) to the log. Blocked
clients are served first-come-first-served after each top-level command, so pushes from other
clients, from EXEC and from scripts all wake them.
"""
from __future__ import annotations

import importlib
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import fastpath
from .client import ConnState
from .commands.base import Command
from .errors import (
    NOT_ALLOWED_IN_SCRIPT,
    PUBSUB_CONTEXT,
    UNKNOWN_COMMAND,
    WRONG_ARITY,
    CommandError,
)
from .keyspace import Database, Keyspace, now_ms
from .protocol import INT_REPLIES, NULL_ARRAY, SIMPLE_REPLIES, SMALL_INTS, Push, ReplyError, encode
from .scoped import ScopedChannels

# families in table order; a later family may replace an earlier command (admin.py does for
# AUTH and SELECT)
FAMILIES = ("connection", "server", "keys", "strings", "bits", "hashes", "lists", "blocking",
            "sets", "zsets", "zranges", "sort", "streams", "hyperloglog", "pubsub", "transactions",
            "scripting", "search", "vectors", "crypto", "admin")

# Redis 7.0's DENYOOM commands: refused with -OOM while used memory is past maxmemory
DENYOOM = frozenset(
    "APPEND BITFIELD BITOP BLMOVE BRPOPLPUSH COPY DECR DECRBY GETSET HINCRBY HINCRBYFLOAT "
    "HMSET HSET HSETNX INCR INCRBY INCRBYFLOAT LINSERT LMOVE LPUSH LPUSHX LSET MSET MSETNX "
    "PFADD PFMERGE PSETEX RESTORE RPOPLPUSH RPUSH RPUSHX SADD SDIFFSTORE SET SETBIT SETEX "
    "SETNX SETRANGE SINTERSTORE SORT SUNIONSTORE XADD XGROUP XSETID ZADD ZDIFFSTORE ZINCRBY "
    "ZINTERSTORE ZRANGESTORE ZUNIONSTORE".split())
OOM = "OOM command not allowed when used memory > 'maxmemory'."
# a read's requests stop running once their replies pass this many bytes; the rest wait until
# the client has taken them (so a pipeline of GETs of a big value cannot pile up gigabytes)
OUT_CAP = 4 * 1024 * 1024


class _Pause:
    """execute_batch's answer when it stopped at OUT_CAP (the rest of the read waits)."""

    __slots__ = ()


PAUSE: Any = _Pause()

MULTI_CONTROL = frozenset({"EXEC", "DISCARD", "MULTI", "WATCH", "QUIT", "RESET"})
PUBSUB_ALLOWED = frozenset({"SUBSCRIBE", "UNSUBSCRIBE", "PSUBSCRIBE", "PUNSUBSCRIBE", "PING",
                            "QUIT", "RESET", "SSUBSCRIBE", "SUNSUBSCRIBE"})

Serve = Callable[[Database, bytes], "tuple[Any, list[list[bytes]]] | None"]


def load_table(families: Iterable[str] = FAMILIES) -> dict[str, Command]:
    """name -> Command from every family module that exists (admin.py is optional)."""
    table: dict[str, Command] = {}
    for family in families:
        try:
            module = importlib.import_module(f"{__package__}.commands.{family}")
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.endswith(f"commands.{family}"):
                continue
            raise
        for cmd in module.COMMANDS:
            table[cmd.name] = cmd
    return table


class Block:
    """A blocking handler's answer when nothing is available yet; or, with ``stream``, a
    reply too long to build at once (see ``long_reply``)."""

    __slots__ = ("keys", "timeout", "serve", "timeout_reply", "stream")

    def __init__(self, keys: list[bytes], timeout: float, serve: Serve, timeout_reply: Any,
                 stream: Iterator[bytes] | None = None) -> None:
        self.keys = keys
        self.timeout = timeout
        self.serve = serve
        self.timeout_reply = timeout_reply
        self.stream = stream


# a long reply is sent in slices of about this many bytes, one slice per loop turn, and waits
# while the client has more than STREAM_BACKLOG bytes unread: other clients are served in
# between and the server holds at most one slice and one backlog for it
STREAM_SLICE = 64 * 1024
STREAM_BACKLOG = 1024 * 1024


def long_reply(c: ConnState, chunks: Iterator[bytes]) -> Any:
    """A reply whose RESP bytes ``chunks`` yields piece by piece (SRANDMEMBER with a huge
    negative count and the like): sent while other clients are served, so its size costs
    neither memory nor other clients' latency. Inside MULTI or a script (no way to hand the
    loop back) it is joined, which the callers bound."""
    if c.no_block:
        from .protocol import Raw
        return Raw(b"".join(chunks))
    return Block([], 0, _no_serve, None, chunks)


def _no_serve(store: Any, key: bytes) -> None:
    return None


class Waiter:
    """A client blocked on keys of one database."""

    __slots__ = ("client", "store", "keys", "serve", "timeout_reply", "timer", "stream", "name")

    def __init__(self, client: ConnState, store: Database, block: Block, name: str = "") -> None:
        self.name = name  # the blocked command (an error it is served counts as its failure)
        self.client = client
        self.store = store
        self.keys = list(dict.fromkeys(block.keys))
        self.serve = block.serve
        self.timeout_reply = block.timeout_reply
        self.timer: Any = None
        self.stream = block.stream  # a long reply being sent (not blocked on keys)


class Engine:
    """The keyspace plus everything shared between connections; executes commands."""

    def __init__(self, databases: int = 16, log: Any = None, access: Any = None,
                 settings: dict[str, str] | None = None) -> None:
        self.keyspace = Keyspace(databases)
        self.commands = load_table()
        self.table: dict[bytes, Command] = {}
        for name, cmd in self.commands.items():
            self.table[name.encode()] = cmd
            self.table[name.lower().encode()] = cmd
        self.log = log
        self.access = access
        self.clients: dict[int, ConnState] = {}
        self.channels: dict[bytes, set[ConnState]] = {}
        self.patterns: dict[bytes, set[ConnState]] = {}
        # subscriptions of non-admin connections, per database (scoped.py; access model only)
        self.scoped = ScopedChannels()
        self.scripts: dict[str, bytes] = {}
        self.lua: Any = None
        self.ready: deque[tuple[Database, bytes]] = deque()
        from .config import Config, parse_events
        from .notify import Notifier
        self.notifier = Notifier(self.publish)
        self._parse_events = parse_events
        for db in self.keyspace.dbs:
            db.on_expired = self._expired_key
        # CONFIG GET/SET's parameters; `on_config` hooks (server.py) act on changes
        self.config = Config(settings, self._config_changed)
        self.config_hooks: list[Callable[[str, str], None]] = []
        self.started = time.time()
        self.next_id = 1
        self.stat_commands = 0
        self.stat_connections = 0
        self.stat_rejected = 0
        self.stat_errors = 0       # error replies (INFO total_error_replies)
        self.stat_expired = 0
        self.error_kinds: dict[str, int] = {}  # "ERR", "WRONGTYPE" ... -> count (errorstats)
        # INFO commandstats: command name -> calls / failed calls (the handler raised) /
        # rejected calls (arity, access, OOM); the C loop counts its requests per op number
        # into native_calls (fastpath.NATIVE; 0 is EXEC)
        self.cmd_calls: dict[str, int] = {}
        self.cmd_failed: dict[str, int] = {}
        self.cmd_rejected: dict[str, int] = {}
        self.native_calls: list[int] = [0] * 32
        self.maxmemory = 0        # CONFIG maxmemory (bytes; 0 = no limit)
        self.active_expire = True  # DEBUG SET-ACTIVE-EXPIRE 0 stops the active expiry cycle
        self.used_memory: Callable[[], int] = lambda: 0  # set by the server
        self.shutdown_asap = False  # SIGTERM came: a running script stops at its next check
        # a script past lua-time-limit calls busy_hook(lua) now and then (the server answers
        # other clients meanwhile) and after_busy() when it ends
        self.busy_hook: Callable[[Any], None] | None = None
        self.after_busy: Callable[[], None] | None = None
        self.oom = False          # used memory is past maxmemory (the server measures it)
        self.near_limit = False   # past half of maxmemory: writes take the measuring path
        self.growth = 0           # bytes of DENYOOM writes since the last measurement
        self.measure: Callable[[], None] | None = None  # set by the server: check_memory
        # True while something needs every request on the Python path (the C loop checks it
        # once per read): OOM, keyspace notifications
        self.guarded = False
        self.dirty = 0
        self.appended = 0  # records handed to log.append (the server flushes once per loop turn)
        self.last_save = int(time.time())
        self.schedule: Callable[[float, Callable[[], None]], Any] | None = None
        self.rewrite_requested = False
        self.on_shutdown: Callable[[], object] | None = None
        self.reload_log: Callable[[], None] | None = None  # set by the server: DEBUG LOADAOF
        # seals the named keys of AGE (commands/crypto.py): the admin secret or encryption key
        self.secret: bytes | None = None
        self.keyring: Any = None  # (salt, Sealer) cached by commands/crypto.py
        # the C request loop (fastpath.py), or None: execute_batch's Python loop runs
        self.native: Any = None
        self.build_native()

    def build_native(self) -> None:
        """(Re)build the C request loop for the current access model: with one, PUBLISH
        stays in Python, as delivery depends on the publisher's database and rights
        (scoped.py), which the C call does not pass. Call after setting `access`."""
        self.native = fastpath.runner(self.table,
                                      skip=("PUBLISH",) if self.access is not None else ())

    @property
    def settings(self) -> dict[str, str]:
        """Every parameter's current text by its canonical name (read-only use)."""
        return self.config.values

    def _config_changed(self, name: str, value: str) -> None:
        if name == "notify-keyspace-events":
            self.notifier.configure(self._parse_events(value) or 0)
            self.update_guard()
        for hook in self.config_hooks:
            hook(name, value)

    # ---- connections -----------------------------------------------------------------------
    def new_client(self, addr: str = "", laddr: str = "", send: Any = None,
                   close: Any = None) -> ConnState:
        c = ConnState(self, self.next_id, addr, laddr, send, close)
        self.next_id += 1
        if self.access is None:
            c.admin, c.perm, c.authenticated = True, "readwrite", True
        else:
            hook = getattr(self.access, "on_connect", None)
            if hook is not None:
                hook(c)
        return c

    def drop_client(self, c: ConnState) -> None:
        """Forget a closed connection: subscriptions, WATCHes, a pending block."""
        self.clients.pop(c.id, None)
        if c.waiter is not None:
            self.unblock(c.waiter)
        for ch in list(c.channels):
            self.unsubscribe(c, ch, False)
        for p in list(c.patterns):
            self.unsubscribe(c, p, True)
        self.unwatch(c)

    # ---- execution -------------------------------------------------------------------------
    def lookup(self, name: bytes) -> Command | None:
        cmd = self.table.get(name)
        if cmd is None:
            cmd = self.table.get(name.upper())
        return cmd

    def execute(self, c: ConnState, argv: list[bytes]) -> Any:
        """Run one request from a connection; returns a reply value or a Block."""
        if c.reply_off is not None:
            return self._quiet(c, argv)
        cmd = self.table.get(argv[0])
        if cmd is None:
            cmd = self.table.get(argv[0].upper())
            if cmd is None:
                return self._refuse(c, unknown_command(argv))
        n = len(argv)
        arity = cmd.arity
        if (arity > 0 and n != arity) or n < -arity:
            return self._refuse(c, WRONG_ARITY.format(cmd.name.lower()), cmd.name)
        if self.access is not None:
            err = self.access.check(c, cmd.name, cmd.flags, c.db)
            if err:
                return self._refuse(c, err, cmd.name)
        if self.maxmemory and cmd.name in DENYOOM:
            if self.oom or self._grows(argv):
                return self._refuse(c, OOM, cmd.name)
        if c.multi is not None and cmd.name not in MULTI_CONTROL:
            c.multi.append((cmd, argv))
            return "QUEUED"
        if c.proto == 2 and (c.channels or c.patterns) and cmd.name not in PUBSUB_ALLOWED:
            return ReplyError(PUBSUB_CONTEXT.format(cmd.name.lower()))
        # self.run inlined: this is the path of every request
        self.stat_commands += 1
        calls = self.cmd_calls
        calls[cmd.name] = calls.get(cmd.name, 0) + 1
        if self.guarded and cmd.is_write and self.notifier.flags:
            keys = cmd.key_args(argv)
            c.notify_before = (keys, self.notifier.before(c, keys))
        try:
            reply = cmd.handler(c, argv)
        except CommandError as exc:
            c.effects = None
            c.notify_before = None
            self.cmd_failed[cmd.name] = self.cmd_failed.get(cmd.name, 0) + 1
            return self.error(exc.text)
        if cmd.is_write:
            self.after_write(c, cmd, argv)
        if type(reply) is Block:
            reply = self.block(c, reply, cmd.name)
        if self.ready:
            self.serve_ready()
        return reply

    def _quiet(self, c: ConnState, argv: list[bytes]) -> Any:
        """CLIENT REPLY OFF/SKIP: run the request, send nothing for it (unless it is the
        CLIENT REPLY ON that ends OFF); SKIP silences one request only."""
        mode, c.reply_off = c.reply_off, None
        try:
            reply = self.execute(c, argv)
        finally:
            if c.reply_off is None and mode == "off" and not _reply_on(argv):
                c.reply_off = "off"
        if c.reply_off is None and mode == "off":
            return reply  # CLIENT REPLY ON's +OK
        from .protocol import Raw
        return reply if type(reply) is Block else Raw(b"")

    def execute_batch(self, c: ConnState, cmds: list[list[bytes]], out: list[bytes]) -> Any:
        """Run a read's requests in order, appending each reply's RESP bytes to ``out``.

        Stops after QUIT, or at a request that blocks: its Block is returned (None otherwise)
        and it adds nothing to ``out``, so ``cmds[len(out) + 1:]`` are the requests not run;
        or once the replies pass OUT_CAP bytes: PAUSE is returned, ``cmds[len(out):]`` wait.
        Same semantics as ``execute`` per request; this is its loop with the plain case (no
        MULTI, no subscriptions, no access model or an admin connection) inlined, the path of
        nearly every request. With the C loop (``fastpath.py``) built, that runs instead.
        """
        if self.native is not None:
            return self.native(self, c, cmds, out)
        table = self.table
        append = out.append
        log = self.log
        ints = INT_REPLIES
        access = self.access
        ran = 0
        size = 0
        last = len(cmds) - 1
        try:
            for i, argv in enumerate(cmds):
                cmd = table.get(argv[0])
                # an admin connection passes every access check (access.py), so it stays plain
                if cmd is None or (access is not None and not c.admin) or c.multi is not None \
                        or c.channels or c.patterns or self.guarded or c.reply_off:
                    reply = self.execute(c, argv)  # counts itself
                    if type(reply) is Block:
                        return reply
                else:
                    n = len(argv)
                    arity = cmd.arity
                    if (arity > 0 and n != arity) or n < -arity:
                        reply = self._refuse(c, WRONG_ARITY.format(cmd.name.lower()), cmd.name)
                    else:
                        ran += 1
                        calls = self.cmd_calls
                        calls[cmd.name] = calls.get(cmd.name, 0) + 1
                        try:
                            reply = cmd.handler(c, argv)
                        except CommandError as exc:
                            c.effects = None
                            self.cmd_failed[cmd.name] = self.cmd_failed.get(cmd.name, 0) + 1
                            reply = self.error(exc.text)
                        else:
                            if cmd.is_write:
                                store = c.store
                                if c.effects is not None or store.watched or store.blocked:
                                    self.after_write(c, cmd, argv)
                                else:  # after_write's common case
                                    if log is not None:
                                        log.append(c.db, argv)
                                        self.appended += 1
                                    self.dirty += 1
                            if type(reply) is Block:
                                reply = self.block(c, reply, cmd.name)
                                if self.ready:
                                    self.serve_ready()
                                return reply
                            if self.ready:
                                self.serve_ready()
                t = type(reply)
                if t is bytes:
                    append(b"$%d\r\n%b\r\n" % (len(reply), reply))
                elif t is int:
                    append(ints[reply] if 0 <= reply < SMALL_INTS else b":%d\r\n" % reply)
                elif t is str and reply in SIMPLE_REPLIES:
                    append(SIMPLE_REPLIES[reply])
                else:
                    append(encode(reply, c.proto))
                if c.quit:
                    break
                size += len(out[-1])
                if size > OUT_CAP and i < last:
                    return PAUSE
        finally:
            self.stat_commands += ran
        return None

    def check_growth(self, extra: int) -> None:
        """A command is about to allocate ``extra`` bytes at once (SETRANGE, SETBIT, ...):
        -OOM if that would take used memory past maxmemory."""
        if self.maxmemory and (self.oom or self.used_memory() + extra > self.maxmemory):
            raise CommandError(OOM)

    def _expired_key(self, index: int, key: bytes) -> None:
        """A key was removed by expiry (lazily or by the active cycle): WATCHers see a change
        (as Redis 7.0 signals it), and the `expired` event goes out."""
        self.stat_expired += 1
        store = self.keyspace.dbs[index]
        if store.watched and key in store.watched:
            self.touch(store, key)
        if self.notifier.flags:
            self.notifier.expired(index, key)

    def _grows(self, argv: list[bytes]) -> bool:
        """Count what writes bring in; past 1/256 of maxmemory since the last measurement,
        measure again now (True: that measurement says OOM)."""
        self.growth += sum(map(len, argv))
        if self.growth > max(64 * 1024, self.maxmemory >> 8) and self.measure is not None:
            self.growth = 0
            self.measure()
        return self.oom

    def update_guard(self) -> None:
        """`guarded` (every request on the Python path, where writes are measured as they
        come) while OOM, within half of maxmemory, or notifications need it."""
        self.guarded = self.oom or self.near_limit or bool(self.notifier.flags)

    def reset_stats(self) -> None:
        """CONFIG RESETSTAT."""
        self.stat_commands = 0
        self.stat_rejected = 0
        self.stat_errors = 0
        self.stat_expired = 0
        self.error_kinds.clear()
        self.cmd_calls.clear()
        self.cmd_failed.clear()
        self.cmd_rejected.clear()
        self.native_calls[:] = [0] * 32

    def _refuse(self, c: ConnState, text: str, name: str | None = None) -> ReplyError:
        if c.multi is not None:
            c.multi_error = True
        if name is not None:
            self.cmd_rejected[name] = self.cmd_rejected.get(name, 0) + 1
        return self.error(text)

    def command_stats(self) -> dict[str, tuple[int, int, int]]:
        """name -> (calls, rejected, failed), the C loop's requests included."""
        from .fastpath import native_ops
        calls = dict(self.cmd_calls)
        for name, (op, _) in native_ops().items():
            if self.native_calls[op]:
                calls[name] = calls.get(name, 0) + self.native_calls[op]
        if self.native_calls[0]:
            calls["EXEC"] = calls.get("EXEC", 0) + self.native_calls[0]
        names = set(calls) | set(self.cmd_rejected) | set(self.cmd_failed)
        return {n: (calls.get(n, 0), self.cmd_rejected.get(n, 0), self.cmd_failed.get(n, 0))
                for n in sorted(names)}

    def error(self, text: str) -> ReplyError:
        """An error reply, counted for INFO (total_error_replies, errorstats)."""
        self.stat_errors += 1
        kind = text.split(" ", 1)[0]
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        return ReplyError(text)

    def run(self, c: ConnState, cmd: Command, argv: list[bytes]) -> Any:
        """Call a handler (no queueing, no access check); write hooks and logging after."""
        self.stat_commands += 1
        self.cmd_calls[cmd.name] = self.cmd_calls.get(cmd.name, 0) + 1
        if self.guarded and cmd.is_write and self.notifier.flags:
            keys = cmd.key_args(argv)
            c.notify_before = (keys, self.notifier.before(c, keys))
        try:
            reply = cmd.handler(c, argv)
        except CommandError as exc:
            c.effects = None
            self.cmd_failed[cmd.name] = self.cmd_failed.get(cmd.name, 0) + 1
            return ReplyError(exc.text)
        if cmd.is_write:
            self.after_write(c, cmd, argv)
        return reply

    def call_from_script(self, c: ConnState, argv: list[bytes], read_only: bool = False) -> Any:
        """redis.call/pcall: same checks as a client request, never queues nor blocks."""
        if not argv:
            return ReplyError("ERR Please specify at least one argument for this redis lib call")
        cmd = self.lookup(argv[0])
        if cmd is None:
            return ReplyError("ERR Unknown Redis command called from script")
        flags = cmd.flags
        if "noscript" in flags or "blocking" in flags:
            return ReplyError(NOT_ALLOWED_IN_SCRIPT)
        if read_only and cmd.is_write:
            return ReplyError("ERR Write commands are not allowed from read-only scripts.")
        n = len(argv)
        if (cmd.arity > 0 and n != cmd.arity) or n < -cmd.arity:
            return ReplyError("ERR Wrong number of args calling Redis command from script")
        if self.access is not None:
            err = self.access.check(c, cmd.name, flags, c.db)
            if err:
                return ReplyError(err)
        if self.oom and cmd.name in DENYOOM:
            return ReplyError(OOM)
        reply = self.run(c, cmd, argv)
        if cmd.is_write and self.lua is not None and type(reply) is not ReplyError:
            self.lua.wrote = True
        return reply

    def after_write(self, c: ConnState, cmd: Command, argv: list[bytes]) -> None:
        before = c.notify_before
        if before is not None:
            c.notify_before = None
            self.notifier.after(c, cmd.name, argv, before[0], before[1], c.effects)
        store = c.store
        effects = c.effects
        # a write that changed nothing (its handler recorded no effect) signals nothing, as
        # in Redis: a failed SETNX or a DEL of a missing key leaves WATCHers clean
        if (store.watched or store.blocked) and (effects is None or effects):
            for key in cmd.key_args(argv):
                self.touch(store, key)
        log = self.log
        if effects is not None:
            c.effects = None
            if log is not None:
                for e in effects:
                    log.append(c.db, e)
                self.appended += len(effects)
            self.dirty += len(effects)
        else:
            if log is not None:
                log.append(c.db, argv)
                self.appended += 1
            self.dirty += 1

    def touch(self, store: Database, key: bytes) -> None:
        """A key changed: WATCHers become dirty, blocked clients get a chance. (A key that
        had already expired when it was WATCHed and is now deleted changed nothing, Redis 7.)"""
        watchers = store.watched.get(key)
        if watchers:
            for w in watchers:
                if w.watch_expired and (store.index, key) in w.watch_expired \
                        and key not in store.data:
                    w.watch_expired.discard((store.index, key))
                    continue
                w.watch_dirty = True
        if key in store.blocked:
            self.ready.append((store, key))

    def touch_all(self, store: Database, replaced_with: Database | None = None) -> None:
        """FLUSHDB/FLUSHALL (``replaced_with`` None) or SWAPDB, before it happens: WATCHers of
        keys that exist (in ``store`` or in what replaces it) become dirty, as Redis 7.0's
        touchAllWatchedKeysInDb decides, expired keys included."""
        for key, watchers in list(store.watched.items()):
            exists = key in store.data
            after = replaced_with is not None and key in replaced_with.data
            if not (exists or after):
                continue
            for w in list(watchers):
                mark = (store.index, key)
                if mark in w.watch_expired:
                    if not after:
                        w.watch_expired.discard(mark)
                        continue
                    if _expired(replaced_with, key):
                        continue
                elif not exists and _expired(replaced_with, key):
                    w.watch_expired.add(mark)
                    continue
                w.watch_dirty = True
        for key in store.blocked:
            self.ready.append((store, key))

    def watched_expired(self, c: ConnState) -> bool:
        """EXEC: a WATCHed key (live when WATCHed) has expired since: the transaction fails."""
        dbs = self.keyspace.dbs
        return any(mark not in c.watch_expired and _expired(dbs[mark[0]], mark[1])
                   for mark in c.watching)

    # ---- blocking --------------------------------------------------------------------------
    def block(self, c: ConnState, block: Block, name: str = "") -> Block:
        w = Waiter(c, c.store, block, name)
        c.waiter = w
        if w.stream is not None:
            if self.schedule is not None:
                self.schedule(0, lambda: self.pump(w))
            return block
        for key in w.keys:
            c.store.blocked.setdefault(key, deque()).append(w)
        if block.timeout > 0 and self.schedule is not None:
            w.timer = self.schedule(block.timeout, lambda: self.time_out(w))
        return block

    def unblock(self, w: Waiter) -> None:
        for key in w.keys:
            queue = w.store.blocked.get(key)
            if queue is not None:
                try:
                    queue.remove(w)
                except ValueError:
                    pass
                if not queue:
                    del w.store.blocked[key]
        if w.timer is not None:
            w.timer.cancel()
            w.timer = None
        w.client.waiter = None

    def pump(self, w: Waiter) -> None:
        """Send the next slice of a long reply (see ``long_reply``); at its end the client
        goes on with the requests it sent meanwhile."""
        c = w.client
        if c.waiter is not w or c.closing or w.stream is None:
            return
        if c.output_size() > STREAM_BACKLOG:  # the client reads slowly: wait for it
            self.schedule(0.005, lambda: self.pump(w))  # type: ignore[misc]
            return
        parts: list[bytes] = []
        size = 0
        for chunk in w.stream:
            parts.append(chunk)
            size += len(chunk)
            if size >= STREAM_SLICE:
                break
        else:
            if parts:
                c.send(b"".join(parts))
            w.stream = None
            c.waiter = None
            if c.resume is not None:
                from .protocol import Raw
                c.resume(Raw(b""))
            return
        c.send(b"".join(parts))
        self.schedule(0, lambda: self.pump(w))  # type: ignore[misc]

    def time_out(self, w: Waiter) -> None:
        if w.client.waiter is not w:
            return
        self.unblock(w)
        resume = getattr(w.client, "resume", None)
        if resume is not None:
            resume(w.timeout_reply)

    def serve_ready(self) -> None:
        """Hand data on ready keys to blocked clients, oldest first."""
        ready = self.ready
        while ready:
            store, key = ready.popleft()
            queue = store.blocked.get(key)
            while queue:
                w = queue[0]
                try:
                    result = w.serve(store, key)
                except CommandError:  # the key holds another type now: still blocked (Redis 7)
                    result = None
                if result is None:
                    break
                reply, effects = result
                self.unblock(w)
                if type(reply) is ReplyError:  # e.g. -NOGROUP: counted as Redis counts it
                    self.error(reply.text)
                    if w.name:
                        self.cmd_failed[w.name] = self.cmd_failed.get(w.name, 0) + 1
                if self.notifier.flags:
                    self.notifier.served(store, effects)
                self.dirty += len(effects)
                for e in effects:
                    if self.log is not None:
                        self.log.append(store.index, e)
                        self.appended += 1
                    if len(e) > 2 and e[0] in (b"LMOVE", b"RPOPLPUSH"):
                        self.touch(store, e[2])
                    if len(e) > 1:
                        watchers = store.watched.get(e[1])
                        if watchers:
                            for wc in watchers:
                                wc.watch_dirty = True
                resume = getattr(w.client, "resume", None)
                if resume is not None:
                    resume(reply)
                queue = store.blocked.get(key)

    # ---- WATCH -----------------------------------------------------------------------------
    def watch(self, c: ConnState, keys: list[bytes]) -> None:
        for key in keys:
            c.watching.add((c.db, key))
            c.store.watched.setdefault(key, set()).add(c)
            if _expired(c.store, key):
                c.watch_expired.add((c.db, key))

    def unwatch(self, c: ConnState) -> None:
        dbs = self.keyspace.dbs
        for index, key in c.watching:
            watchers = dbs[index].watched.get(key)
            if watchers is not None:
                watchers.discard(c)
                if not watchers:
                    del dbs[index].watched[key]
        c.watching.clear()
        c.watch_expired.clear()
        c.watch_dirty = False

    # ---- pub/sub ---------------------------------------------------------------------------
    def subscribe(self, c: ConnState, channel: bytes, pattern: bool) -> None:
        if self.access is not None and not c.admin:   # scoped to its database (scoped.py)
            scope = c.scopes.get((pattern, channel))
            if scope is not None and scope != c.db:
                self.scoped.remove(c, channel, pattern, scope)
            elif scope is None and channel in (c.patterns if pattern else c.channels):
                self._unsub(self.patterns if pattern else self.channels, channel, c)
            c.scopes[(pattern, channel)] = c.db
            self.scoped.add(c, channel, pattern, c.db)
        else:
            scope = c.scopes.pop((pattern, channel), None)
            if scope is not None:
                self.scoped.remove(c, channel, pattern, scope)
            (self.patterns if pattern else self.channels).setdefault(channel, set()).add(c)
        (c.patterns if pattern else c.channels).add(channel)

    def unsubscribe(self, c: ConnState, channel: bytes, pattern: bool) -> bool:
        mine = c.patterns if pattern else c.channels
        if channel not in mine:
            return False
        mine.discard(channel)
        scope = c.scopes.pop((pattern, channel), None) if c.scopes else None
        if scope is not None:
            self.scoped.remove(c, channel, pattern, scope)
        else:
            self._unsub(self.patterns if pattern else self.channels, channel, c)
        return True

    @staticmethod
    def _unsub(registry: dict[bytes, set[ConnState]], name: bytes, c: ConnState) -> None:
        subs = registry.get(name)
        if subs is not None:
            subs.discard(c)
            if not subs:
                del registry[name]

    def publish(self, channel: bytes, message: bytes, c: ConnState | None = None) -> int:
        """Deliver to channel and pattern subscribers; returns how many received it. With an
        access model, `c` (the publisher) decides who may hear it (scoped.py)."""
        from .commands.base import glob_match
        access = self.access
        # a non-admin's message reaches only the admin subscribers on its own database
        only_db = c.db if access is not None and c is not None and not c.admin else None
        count = 0
        frames: dict[int, bytes] = {}
        for sub in list(self.channels.get(channel, ())):
            if only_db is not None and sub.db != only_db:
                continue
            data = frames.get(sub.proto)
            if data is None:
                data = frames[sub.proto] = encode(Push([b"message", channel, message]), sub.proto)
            sub.send(data)
            count += 1
        for pattern, subs in list(self.patterns.items()):
            if glob_match(pattern, channel):
                for sub in list(subs):
                    if only_db is not None and sub.db != only_db:
                        continue
                    sub.send(encode(Push([b"pmessage", pattern, channel, message]), sub.proto))
                    count += 1
        if access is not None and c is not None and (self.scoped.channels
                                                     or self.scoped.patterns):
            count += self.scoped.deliver(c.db, channel, message, self._may_read)
        return count

    def _may_read(self, sub: ConnState, db: int) -> bool:
        return bool(sub.admin) or self.access.permission(sub, db) != "none"


def _expired(store: Database | None, key: bytes) -> bool:
    """The key is still stored but its time has come (not yet deleted lazily)."""
    if store is None or key not in store.data:
        return False
    when = store.expires.get(key)
    return when is not None and when <= now_ms()


def _reply_on(argv: list[bytes]) -> bool:
    return len(argv) == 3 and argv[0].upper() == b"CLIENT" and argv[1].upper() == b"REPLY" \
        and argv[2].upper() == b"ON"


def unknown_command(argv: list[bytes]) -> str:
    name = argv[0].decode(errors="replace")
    rest = "".join(f"'{a[:128].decode(errors='replace')}' " for a in argv[1:])
    return UNKNOWN_COMMAND.format(name, rest)


def block_or_timeout(c: ConnState, keys: list[bytes], timeout: float, serve: Serve,
                     timeout_reply: Any = NULL_ARRAY) -> Any:
    """What a blocking handler returns when nothing is there: inside MULTI or a script the
    timeout reply at once, otherwise a Block; nothing is logged for it."""
    c.effects = []
    if c.no_block:
        return timeout_reply
    return Block(keys, timeout, serve, timeout_reply)
