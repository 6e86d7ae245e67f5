"""The asyncio server: reads requests, dispatches them through the Engine, writes replies.

Guarantees: every complete request in a read is executed before the replies of that read are
written in one go (pipelining), after the log has been flushed; a malformed frame closes only
that connection; a client blocked in BLPOP & co. stops reading until it is served; a pub/sub
client whose unsent output passes ``client_output_buffer_bytes`` is disconnected.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from . import fastpath
from .config import client_limits
from .engine import Block, Engine
from .errors import MAX_CLIENTS, ConfigError
from .lock import DirLock
from .protocol import Parser, ProtocolError, encode

log = logging.getLogger("herodb")

FSYNC_POLICIES = ("always", "everysec", "no")
PENDING_LIMIT = 1024  # requests queued behind a blocked one before reading pauses


@dataclass(frozen=True)
class ServerConfig:
    """Every HeroDB option. ``port=0`` picks a free port (read it from ``HeroDB.port``)."""

    host: str = "127.0.0.1"
    port: int = 6379
    unix_socket: str | None = None
    dir: Path | None = None
    admin_secret: str | None = None
    encryption_key: str | None = None
    appendfsync: str = "everysec"
    databases: int = 16
    maxclients: int = 10000
    max_request_bytes: int = 512 * 1024 * 1024
    max_multibulk: int = 1024 * 1024
    client_output_buffer_bytes: int = 32 * 1024 * 1024
    extra: dict[str, str] = field(default_factory=dict)
    admin_rpc_port: int | None = None  # the admin JSON-RPC on TCP too (adminrpc.py)

    def validate(self) -> None:
        if self.appendfsync not in FSYNC_POLICIES:
            raise ConfigError(f"appendfsync must be one of {', '.join(FSYNC_POLICIES)}, "
                              f"not {self.appendfsync!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be 0..65535, not {self.port}")
        if self.databases < 1:
            raise ConfigError(f"databases must be at least 1, not {self.databases}")
        if self.maxclients < 1 or self.max_request_bytes < 1 or self.max_multibulk < 1:
            raise ConfigError("maxclients, max_request_bytes and max_multibulk must be positive")


# ---- part B wiring points: persistence and access --------------------------------------------
def make_log(config: ServerConfig) -> Any:
    """The append-only log for ``config.dir`` (None: in memory only)."""
    if config.dir is None:
        return None
    try:
        from .persist import AppendLog
    except ImportError:
        log.warning("herodb: persistence module not available; running in memory only")
        return None
    path = Path(config.dir).expanduser()
    path.mkdir(parents=True, exist_ok=True)
    key = config.encryption_key.encode() if config.encryption_key else None
    return AppendLog(path / "herodb.aof", config.appendfsync, key=key)


def make_access(config: ServerConfig) -> Any:
    """The access model (None without an admin secret: plain Redis behaviour)."""
    if not config.admin_secret:
        return None
    from .access import Access
    return Access(config.admin_secret)
# ----------------------------------------------------------------------------------------------


BUSY = (b"-BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN "
        b"NOSAVE.\r\n")
UNKILLABLE = (b"-UNKILLABLE Sorry the script already executed write commands against the "
              b"dataset. You can either wait the script termination or kill the server in a "
              b"hard way using the SHUTDOWN NOSAVE command.\r\n")


def _read_now(fd: int) -> bytes:
    """What a socket has for us right now (b"" when nothing or at EOF: the loop sees EOF)."""
    try:
        return os.read(fd, 65536)
    except (BlockingIOError, InterruptedError, OSError):
        return b""


def rss_bytes() -> int:
    """The process' resident memory."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


EMPTY_SERVER_BYTES = 1 << 20  # what used_memory counts for an empty server (redis-server: ~0.9 MB)
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_trim: Any = None


def trim_heap() -> bool:
    """Give freed heap memory back to the OS (glibc malloc_trim); False where unavailable."""
    global _trim
    if _trim is None:
        try:
            import ctypes
            _trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _trim = False
    if not _trim:
        return False
    _trim(0)
    return True


class Connection(asyncio.Protocol):
    """One client connection."""

    def __init__(self, server: HeroDB) -> None:
        self.server = server
        self.engine = server.engine
        self.transport: Any = None
        self.c: Any = None
        self.pending: deque[list[bytes]] = deque()
        self.failure: ProtocolError | None = None
        self.write_paused = False  # the transport's buffer is over its high-water mark
        self.holding = False  # replies held for the group-commit fsync (part B)
        self.soft_since: float | None = None  # over the soft output limit since (monotonic)
        # the C read callback (fastpath.reader): this class's data_received and process for
        # the common read, without a Python frame; it calls data_received_py or finish for
        # everything else. uvloop takes the callback when the transport is made, after this.
        reader = fastpath.reader(self.engine.native)
        if reader is not None:
            self.data_received = partial(reader, self)  # type: ignore[method-assign]

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        engine = self.engine
        engine.stat_connections += 1
        if len(engine.clients) >= self.server.maxclients:
            engine.stat_rejected += 1
            transport.write(b"-" + MAX_CLIENTS.encode() + b"\r\n")
            transport.close()
            return
        peer = transport.get_extra_info("peername")
        local = transport.get_extra_info("sockname")
        c = engine.new_client(_addr(peer), _addr(local), self.send_oob, self.abort)
        c.resume = self.resume
        c.conn = self
        c.output_size = transport.get_write_buffer_size
        engine.clients[c.id] = c
        self.c = c
        cfg = self.server.config
        self.parser = Parser(self.server.max_bulk, cfg.max_multibulk, fastpath.function("split"),
                             fastpath.function("pending"))
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass

    def connection_lost(self, exc: Exception | None) -> None:
        if self.c is not None:
            self.c.closing = True
            self.engine.drop_client(self.c)

    def data_received(self, data: bytes) -> None:
        self.data_received_py(data)

    def data_received_py(self, data: bytes) -> None:
        c = self.c
        if c is None or c.closing:
            return
        cmds: list[list[bytes]] = []
        try:
            self.parser.feed(data, cmds)
        except ProtocolError as exc:
            self.failure = exc
        if c.waiter is not None or self.pending:
            self.pending.extend(cmds)
            if len(self.pending) > PENDING_LIMIT:  # keep reading otherwise: EOF must be seen
                self.transport.pause_reading()
            return
        self.process(cmds)

    def process(self, cmds: Any) -> None:
        c = self.c
        engine = self.engine
        out: list[bytes] = []
        appended = engine.appended
        native = engine.native
        if native is not None:  # the C loop (fastpath.py): execute_batch without its frame
            blocked = native(engine, c, cmds, out) is not None
        elif len(cmds) == 1:  # unpipelined: execute alone is cheaper than the batch loop's setup
            reply = engine.execute(c, cmds[0])
            blocked = type(reply) is Block
            if not blocked:
                out.append(encode(reply, c.proto))
        else:
            blocked = engine.execute_batch(c, cmds, out) is not None
        self.finish(cmds, out, blocked, appended)

    def finish(self, cmds: Any, out: list[bytes], blocked: bool, appended: int) -> None:
        """After a read's requests ran: keep what a block left, then send, hold or close."""
        c = self.c
        engine = self.engine
        paused = False
        if blocked:
            # (part B) reading goes on while blocked, so a client that disconnects is dropped
            # from the wait queue instead of being handed (and losing) the next message
            if c.waiter is None and isinstance(cmds, list):  # stopped at OUT_CAP: the rest waits
                self.pending.extend(cmds[len(out):])
                paused = True
            else:
                self.pending.extend(cmds[len(out) + 1:] if isinstance(cmds, list) else cmds)
        held = False
        answers = bool(out) and not c.quit and self.failure is None
        if answers and (engine.appended != appended or self.server._held):
            # replies of every connection served in this loop turn go out together after ONE
            # log write (and, with appendfsync always, one fsync) in release_held: acknowledged
            # = in the log, and fewer wake-ups, as Redis does in beforeSleep. A read that wrote
            # nothing while no earlier reply waits (GET, a BRPOP served at once, SUBSCRIBE ...)
            # has nothing to order it behind: it goes out below, without a loop turn.
            self.server.hold(self, out)
            held = True
        elif not answers and (self.holding or (engine.log is not None
                                               and engine.appended != appended)):
            self.server.release_held()  # earlier replies (and the log) before this one
        if out and not held:
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))
            if self.server.check_output(self):
                return
        if paused:
            self.server.call_soon(self.go_on)
        if c.quit:
            self.close_after_write()
        elif self.failure is not None and not blocked:
            self.transport.write(b"-ERR " + str(self.failure).encode() + b"\r\n")
            self.close_after_write()

    def go_on(self) -> None:
        """Run the requests a read left waiting at OUT_CAP, once the client took its replies
        (resume_writing calls this again when it had not)."""
        c = self.c
        if c is None or c.closing or c.waiter is not None or not self.pending:
            return
        if self.server.check_output(self) or self.write_paused:
            return
        cmds = list(self.pending)
        self.pending.clear()
        self.process(cmds)
        if c.waiter is None and not self.pending and not c.closing and not self.write_paused:
            self.transport.resume_reading()

    def resume(self, reply: Any) -> None:
        """Called by the engine when this client's block ends (served or timed out)."""
        self.server.call_soon(self._resume, reply)

    def _resume(self, reply: Any) -> None:
        c = self.c
        if c.closing:
            return
        if self.engine.log is not None:
            self.engine.log.flush(sync=False)
        self.server.release_held()  # in order, and fsynced, before the unblocked reply
        self.transport.write(encode(reply, c.proto))
        if self.pending:
            cmds = list(self.pending)
            self.pending.clear()
            self.process(cmds)
        if c.waiter is None and not self.pending and not c.closing and not self.write_paused:
            self.transport.resume_reading()

    # backpressure: a client that does not read its replies stops being read
    def pause_writing(self) -> None:
        self.write_paused = True
        self.transport.pause_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        c = self.c
        if c is not None and self.pending and c.waiter is None:
            self.server.call_soon(self.go_on)
        if c is not None and not c.closing and c.waiter is None and \
                len(self.pending) <= PENDING_LIMIT:
            self.transport.resume_reading()

    def send_oob(self, data: bytes) -> None:
        if self.holding:  # after the held replies, in order (part B)
            self.server.hold(self, [data])
            return
        self.transport.write(data)
        self.server.check_output(self)

    def close_after_write(self) -> None:
        self.c.closing = True
        self.transport.close()

    def abort(self) -> None:
        if self.c is not None:
            self.c.closing = True
        self.transport.abort()


def _addr(info: Any) -> str:
    if isinstance(info, tuple) and len(info) >= 2:
        return f"{info[0]}:{info[1]}"
    return str(info or "")


class HeroDB:
    """A HeroDB server. ``await start()``, read ``.port``, ``await stop()``."""

    def __init__(self, config: ServerConfig, log: Any = None, access: Any = None) -> None:
        config.validate()
        self.config = config
        self.engine = Engine(config.databases, log, access,
                             settings={"appendfsync": config.appendfsync,
                                       "appendonly": "yes" if config.dir else "no",
                                       "databases": str(config.databases),
                                       "maxclients": str(config.maxclients),
                                       "dir": str(config.dir or os.getcwd()),
                                       "bind": config.host, "save": "",
                                       "proto-max-bulk-len": str(config.max_request_bytes),
                                       "client-output-buffer-limit":
                                           "normal 0 0 0 slave 268435456 67108864 60 pubsub "
                                           f"{config.client_output_buffer_bytes} 8388608 60"})
        secret = config.admin_secret or config.encryption_key
        self.engine.secret = secret.encode() if secret else None
        self.engine.config_hooks.append(self._config_changed)
        self.engine.used_memory = self.used_memory
        self.engine.measure = self.check_memory
        self.engine.busy_hook = self.serve_while_busy
        self.engine.after_busy = self._end_busy
        self._busy_next = 0.0
        self._busy_socks: list[tuple[socket.socket, Parser, Any]] = []
        self.maxclients = config.maxclients
        self.max_bulk = config.max_request_bytes
        self.limits = client_limits(self.engine.config)
        self.base_rss = 0  # RSS when listening: the interpreter's own (see used_memory)
        self.port = config.port
        self._servers: list[asyncio.Server] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._stopped = False
        self._held: list[tuple[Connection, list[bytes]]] = []
        self._release_scheduled = False
        # the running loop's call_soon, set by start() (asyncio.get_running_loop() costs a
        # getpid() per call, and hold() runs once per read)
        self.call_soon: Any = None
        self._send_held = fastpath.function("send_held")
        self._dir_lock: DirLock | None = None
        self.admin_socket: str | None = None  # set by start() (adminrpc.py)
        self.admin_rpc_port: int | None = None

    def _config_changed(self, name: str, value: str) -> None:
        """CONFIG SET of a parameter the server acts on."""
        if name == "appendfsync":
            setter = getattr(self.engine.log, "set_fsync", None)
            if setter is not None:
                setter(value)
        elif name == "maxclients":
            self.maxclients = int(value)
        elif name == "client-output-buffer-limit":
            self.limits = client_limits(self.engine.config)
        elif name == "maxmemory":
            self.engine.maxmemory = int(value)
            self.check_memory()
        elif name == "proto-max-bulk-len":
            self.max_bulk = int(value)
            for conn in self.connections():
                conn.parser.max_bulk = self.max_bulk

    def used_memory(self) -> int:
        """What maxmemory is compared with: the process' resident memory above what it had
        when it started listening (the interpreter and its modules, ~30 MB, are not data)."""
        return max(0, rss_bytes() - self.base_rss) + EMPTY_SERVER_BYTES

    def check_memory(self) -> None:
        """Past maxmemory, DENYOOM writes answer -OOM (noeviction); reads go on. Measured
        every 100 ms and on CONFIG SET; freed memory is handed back to the OS first
        (malloc_trim), so deleting data lets writes in again."""
        engine = self.engine
        over = False
        used = 0
        if engine.maxmemory:
            used = self.used_memory()
            over = used > engine.maxmemory
            if over and trim_heap():
                used = self.used_memory()
                over = used > engine.maxmemory
        engine.oom = over
        engine.near_limit = bool(engine.maxmemory) and used * 2 > engine.maxmemory
        engine.update_guard()

    def check_output(self, conn: Connection) -> bool:
        """client-output-buffer-limit: a client whose unsent replies pass its class' hard
        limit, or its soft limit for longer than the soft seconds, is disconnected (others
        are unaffected). True when it was."""
        c = conn.c
        if c is None or c.closing or conn.transport is None:
            return False
        hard, soft, seconds = self.limits["pubsub" if c.subscribed else "normal"]
        if not hard and not soft:
            return False
        size = conn.transport.get_write_buffer_size()
        now = time.monotonic()
        if soft and size > soft:
            if conn.soft_since is None:
                conn.soft_since = now
        else:
            conn.soft_since = None
        if (hard and size > hard) or (conn.soft_since is not None
                                      and now - conn.soft_since > seconds):
            log.warning("herodb: client id=%s addr=%s closed for overcoming of output buffer "
                        "limits (%d bytes unsent)", c.id, c.addr, size)
            conn.abort()
            return True
        return False

    # ---- a script past lua-time-limit (Redis 7's busy script contract) -----------------------
    def serve_while_busy(self, lua: Any) -> None:
        """Called by a running script every ~10 ms once it is past lua-time-limit: read what
        other clients sent and answer -BUSY, except SCRIPT KILL (stops a script that wrote
        nothing, else -UNKILLABLE), SHUTDOWN NOSAVE (exits at once: the script's writes were
        never handed to the OS nor acknowledged) and QUIT. New connections are accepted too
        (and join the loop when the script ends). A connection whose earlier replies are
        still held, or that is blocked or behind, waits for the script to end."""
        now = time.monotonic()
        if now < self._busy_next:
            return
        self._busy_next = now + 0.01
        me = lua.client
        for srv in self._servers:
            for lsock in srv.sockets or ():
                self._accept_busy(lsock)
        for conn in self.connections():
            c = conn.c
            if c is me or c.closing or conn.holding or conn.pending or c.waiter is not None \
                    or conn.transport is None:
                continue
            sock = conn.transport.get_extra_info("socket")
            if sock is None:
                continue
            data = _read_now(sock.fileno())
            if data:
                replies = self._busy_replies(lua, conn.parser, data, conn.abort, c)
                if replies:
                    conn.transport.write(replies)
        for sock, parser, state in list(self._busy_socks):
            data = _read_now(sock.fileno())
            if data:
                replies = self._busy_replies(lua, parser, data, sock.close, state)
                if replies:
                    try:
                        sock.send(replies)
                    except OSError:
                        pass

    def _accept_busy(self, lsock: Any) -> None:
        try:
            listener = socket.socket(fileno=os.dup(lsock.fileno()))
        except OSError:
            return
        try:
            while len(self._busy_socks) < 1000:
                try:
                    sock, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    break
                sock.setblocking(False)
                state = self.engine.new_client(_addr(sock.getpeername()), "")
                self._busy_socks.append((sock, Parser(self.max_bulk, self.config.max_multibulk),
                                         state))
        except OSError:
            pass
        finally:
            listener.close()

    def _busy_replies(self, lua: Any, parser: Parser, data: bytes, close: Any, c: Any) -> bytes:
        cmds: list[list[bytes]] = []
        try:
            parser.feed(data, cmds)
        except ProtocolError as exc:
            close()
            return b"-ERR " + str(exc).encode() + b"\r\n"
        out = []
        for argv in cmds:
            name = argv[0].upper()
            if name == b"SCRIPT" and len(argv) == 2 and argv[1].upper() == b"KILL":
                if lua.wrote:
                    out.append(UNKILLABLE)
                else:
                    lua.kill_requested = True
                    out.append(b"+OK\r\n")
            elif name == b"SHUTDOWN" and any(a.upper() == b"NOSAVE" for a in argv[1:]):
                self.exit_now("SHUTDOWN NOSAVE during a busy script")
            elif name == b"QUIT":
                out.append(b"+OK\r\n")
                close()
                break
            elif name in (b"HELLO", b"AUTH"):  # allowed while busy (Redis: ALLOW_BUSY)
                out.append(encode(self.engine.execute(c, argv), c.proto))
            else:
                out.append(BUSY)
        return b"".join(out)

    def _end_busy(self) -> None:
        """The script ended: connections accepted meanwhile join the loop."""
        self._busy_next = 0.0
        if not self._busy_socks:
            return
        socks, self._busy_socks = self._busy_socks, []
        loop = asyncio.get_running_loop()
        for sock, _, state in socks:
            if sock.fileno() >= 0:
                loop.create_task(self._adopt(sock, state))

    async def _adopt(self, sock: socket.socket, state: Any) -> None:
        """A connection accepted during a busy script joins the loop, keeping what HELLO and
        AUTH set meanwhile."""
        try:
            _, conn = await asyncio.get_running_loop().connect_accepted_socket(
                lambda: Connection(self), sock)
        except OSError:
            sock.close()
            return
        c = conn.c
        if c is not None:
            c.proto, c.name = state.proto, state.name
            c.admin, c.perm, c.authenticated = state.admin, state.perm, state.authenticated
            if state.db != c.db:
                c.select(state.db)

    def exit_now(self, why: str) -> None:
        """Exit without finishing what runs: fsync what the log wrote (everything acknowledged
        was), leave the rest unwritten."""
        fd = getattr(self.engine.log, "_fd", None)
        if fd is not None:
            try:
                os.fsync(fd)
            except OSError:
                pass
        log.warning("herodb: %s: exiting now", why)
        os._exit(0)

    def connections(self) -> list[Connection]:
        return [c.conn for c in self.engine.clients.values() if getattr(c, "conn", None)]

    # ---- group commit (part B): one fsync for all replies of a loop iteration ----------------
    def hold(self, conn: Connection, out: list[bytes]) -> None:
        conn.holding = True
        self._held.append((conn, out))
        if not self._release_scheduled:
            self._release_scheduled = True
            self.call_soon(self.release_held)

    def release_held(self) -> None:
        """Write (and with `always` fsync) the log once, then send every held reply in order."""
        self._release_scheduled = False
        the_log = self.engine.log
        if the_log is not None:
            the_log.flush(sync=False)
            the_log.sync()
        held, self._held = self._held, []
        send = self._send_held if self.engine.native is not None else None
        if send is not None:  # the same loop in C (fastpath.py)
            send(held)
            return
        for conn, out in held:
            conn.holding = False
            c = conn.c
            if c is not None and not c.closing:
                conn.transport.write(out[0] if len(out) == 1 else b"".join(out))

    async def start(self) -> None:
        """Lock the data directory, replay the log, then listen. Raises ConfigError if the
        address is unusable, DirLocked if another HeroDB holds the directory."""
        engine = self.engine
        if engine.log is None and self.config.dir is not None:
            # one server per data directory, locked before the log is opened (lock.py)
            self._dir_lock = DirLock(Path(self.config.dir).expanduser())
            self._dir_lock.acquire()
        try:
            await self._start()
        except BaseException:
            self._release_dir()
            raise
        if self._dir_lock is not None:
            self._dir_lock.note_address(f"{self.config.host}:{self.port}")

    async def _start(self) -> None:
        engine = self.engine
        if engine.log is None:
            engine.log = make_log(self.config)
        if engine.access is None:
            engine.access = make_access(self.config)
            engine.build_native()
        if engine.log is not None:
            self.replay()
        loop = asyncio.get_running_loop()
        self.call_soon = loop.call_soon
        engine.schedule = loop.call_later
        engine.on_shutdown = lambda: loop.create_task(self.stop())
        engine.reload_log = self._reload_log
        try:
            srv = await loop.create_server(lambda: Connection(self), self.config.host,
                                           self.config.port, backlog=1024, reuse_address=True)
        except OSError as exc:
            raise ConfigError(f"cannot listen on {self.config.host}:{self.config.port}: "
                              f"{exc.strerror or exc}") from None
        self._servers.append(srv)
        self.port = srv.sockets[0].getsockname()[1]
        engine.settings["port"] = str(self.port)
        if self.config.unix_socket:
            path = self.config.unix_socket
            if os.path.exists(path):
                os.unlink(path)
            try:
                usrv = await loop.create_unix_server(lambda: Connection(self), path)
            except OSError as exc:
                raise ConfigError(f"cannot listen on unix socket {path}: {exc}") from None
            self._servers.append(usrv)
        from . import adminrpc  # the hero_* JSON-RPC: <dir>/herodb-admin.sock, optional TCP
        rpc, self.admin_socket, self.admin_rpc_port = await adminrpc.start(
            engine, self.config.dir, self.config.host, self.config.admin_rpc_port)
        self._servers.extend(rpc)
        self._tasks.append(loop.create_task(self._cron()))
        self.base_rss = rss_bytes()

    def _reload_log(self) -> None:
        """DEBUG LOADAOF (Redis' test suite uses it): write out and close the log, forget
        every key, replay the log — what a restart would find."""
        engine = self.engine
        if engine.log is None:
            return
        engine.log.close()
        for db in engine.keyspace.dbs:
            engine.touch_all(db)
            db.flush()
        self.replay()

    def replay(self) -> int:
        """Execute the log's records through the normal command path, without logging them."""
        engine = self.engine
        the_log, engine.log = engine.log, None
        access, engine.access = engine.access, None
        c = engine.new_client("replay")
        count = 0
        try:
            for db, argv in the_log.load():
                cmd = engine.lookup(argv[0]) if argv else None
                if cmd is None or not 0 <= db < len(engine.keyspace):
                    log.warning("herodb: skipping unknown record in the log: %r", argv[:1])
                    continue
                c.select(db)
                c.in_script = True  # never block during replay
                engine.run(c, cmd, argv)
                count += 1
        finally:
            engine.log = the_log
            engine.access = access
            engine.ready.clear()
        return count

    async def _cron(self) -> None:
        engine = self.engine
        last_tick = time.monotonic()
        while True:
            await asyncio.sleep(0.1)
            try:
                if engine.active_expire:
                    engine.keyspace.expire_cycle()
                if engine.maxmemory or engine.oom:
                    self.check_memory()
                for conn in self.connections():
                    if conn.transport is not None and conn.transport.get_write_buffer_size():
                        self.check_output(conn)
                now = time.monotonic()
                if now - last_tick >= 1.0:
                    last_tick = now
                    self.tick()
            except Exception:  # keep serving; the log says what failed
                log.exception("herodb: periodic task failed")

    def tick(self) -> None:
        the_log = self.engine.log
        if the_log is None:
            return
        the_log.tick()
        if self.engine.rewrite_requested or the_log.should_rewrite():
            self.engine.rewrite_requested = False
            self.rewrite()

    def rewrite(self) -> None:
        the_log = self.engine.log
        if the_log is not None:
            the_log.rewrite(self.engine.keyspace.dump())
            self.engine.last_save = int(time.time())

    async def stop(self) -> None:
        """Stop listening, close every connection, flush and close the log."""
        if self._stopped:
            return
        self._stopped = True
        self.release_held()
        for task in self._tasks:
            task.cancel()
        for srv in self._servers:
            srv.close()
        for c in list(self.engine.clients.values()):
            c.close()
        for srv in self._servers:
            try:
                await asyncio.wait_for(srv.wait_closed(), 2)
            except (TimeoutError, Exception):
                pass
        for path in (self.config.unix_socket, self.admin_socket):
            if path and os.path.exists(path):
                os.unlink(path)
        the_log = self.engine.log
        if the_log is not None:
            the_log.flush()
            the_log.close()
        self._release_dir()

    def _release_dir(self) -> None:
        if self._dir_lock is not None:
            self._dir_lock.release()
            self._dir_lock = None
