"""Server commands: INFO DBSIZE FLUSHDB FLUSHALL TIME COMMAND CONFIG SWAPDB SAVE LASTSAVE ..."""
from __future__ import annotations

import os
import resource
import sys
import time
from typing import Any

from ..errors import DB_INDEX, SYNTAX, UNKNOWN_SUBCOMMAND, WRONG_ARITY, CommandError
from ..protocol import OK
from .base import INT32_MAX, INT32_MIN, Command, registrar, to_float, to_ranged
from .connection import REDIS_VERSION

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

@command("CONFIG", -2, "admin")
def config(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    n = len(argv)
    settings = c.engine.config
    if sub == b"GET":
        if n < 3:
            raise CommandError(WRONG_ARITY.format("config|get"))
        out = settings.matching(argv[2:])
        return out if c.proto == 3 else [x for kv in out.items() for x in kv]
    if sub == b"SET":
        if n < 4:
            raise CommandError(WRONG_ARITY.format("config|set"))
        if n % 2:
            raise CommandError(SYNTAX)
        settings.set([(argv[i].decode(errors="replace").lower(),
                       argv[i + 1].decode(errors="replace")) for i in range(2, n, 2)])
        return OK
    if sub == b"RESETSTAT" and n == 2:
        c.engine.reset_stats()
        return OK
    if sub == b"REWRITE" and n == 2:
        raise CommandError("ERR The server is running without a config file")
    if sub == b"HELP" and n == 2:
        return [b"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
                b"GET <pattern>", b"    Return parameters matching the glob-like <pattern> "
                b"and their values.", b"SET <directive> <value>",
                b"    Set the configuration <directive> to <value>.", b"RESETSTAT",
                b"    Reset statistics reported by the INFO command.", b"REWRITE",
                b"    Rewrite the configuration file.", b"HELP", b"    Print this help."]
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "CONFIG"))


@command("DBSIZE", 1, "read fast")
def dbsize(c: Any, argv: list[bytes]) -> Any:
    return c.store.size()


@command("FLUSHDB", -1, "write")
def flushdb(c: Any, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    c.engine.touch_all(c.store)
    c.store.flush()
    c.effects = [[b"FLUSHDB"]]
    return OK


@command("FLUSHALL", -1, "write")
def flushall(c: Any, argv: list[bytes]) -> Any:
    _flush_mode(argv)
    for db in c.engine.keyspace.dbs:
        c.engine.touch_all(db)
        db.flush()
    c.effects = [[b"FLUSHALL"]]
    return OK


def _flush_mode(argv: list[bytes]) -> None:
    if len(argv) > 2 or (len(argv) == 2 and argv[1].upper() not in (b"ASYNC", b"SYNC")):
        raise CommandError(SYNTAX)


@command("SWAPDB", 3, "write fast")
def swapdb(c: Any, argv: list[bytes]) -> Any:
    dbs = c.engine.keyspace.dbs
    try:
        a = to_ranged(argv[1], INT32_MIN, INT32_MAX)
    except CommandError:
        raise CommandError("ERR invalid first DB index") from None
    try:
        b = to_ranged(argv[2], INT32_MIN, INT32_MAX)
    except CommandError:
        raise CommandError("ERR invalid second DB index") from None
    if not (0 <= a < len(dbs) and 0 <= b < len(dbs)):
        raise CommandError(DB_INDEX)
    if a != b:
        c.engine.touch_all(dbs[a], dbs[b])
        c.engine.touch_all(dbs[b], dbs[a])
        dbs[a].swap_contents(dbs[b])
    return OK


@command("TIME", 1, "fast")
def time_(c: Any, argv: list[bytes]) -> Any:
    now = time.time_ns() // 1000
    return [str(now // 1_000_000).encode(), str(now % 1_000_000).encode()]


@command("LASTSAVE", 1, "fast")
def lastsave(c: Any, argv: list[bytes]) -> Any:
    return c.engine.last_save


@command("SAVE", 1, "admin noscript")
def save(c: Any, argv: list[bytes]) -> Any:
    engine = c.engine
    if engine.log is not None:
        engine.log.rewrite(engine.keyspace.dump())
        engine.log.wait_rewrite()  # SAVE is synchronous (part B)
    engine.last_save = int(time.time())
    return OK


@command("BGSAVE", -1, "admin noscript")
def bgsave(c: Any, argv: list[bytes]) -> Any:
    c.engine.rewrite_requested = True
    return "Background saving started"


@command("BGREWRITEAOF", 1, "admin noscript")
def bgrewriteaof(c: Any, argv: list[bytes]) -> Any:
    c.engine.rewrite_requested = True
    return "Background append only file rewriting started"


@command("SHUTDOWN", -1, "admin noscript")
def shutdown(c: Any, argv: list[bytes]) -> Any:
    if c.engine.on_shutdown is None:
        raise CommandError("ERR shutdown not available")
    c.engine.on_shutdown()
    return OK


@command("DEBUG", -2, "admin noscript")
def debug(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    if sub == b"SLEEP" and len(argv) == 3:
        time.sleep(min(max(0.0, to_float(argv[2])), 5.0))
        return OK
    if sub == b"SET-ACTIVE-EXPIRE" and len(argv) == 3:
        c.engine.active_expire = argv[2] != b"0"  # Redis' test suite keeps stale keys so
        return OK
    if sub == b"LOADAOF" and len(argv) == 2:
        if c.engine.reload_log is not None:  # without a log the keys simply stay
            c.engine.reload_log()
        return OK
    if sub == b"QUICKLIST-PACKED-THRESHOLD" and len(argv) == 3:
        return OK  # lists are not quicklists here: nothing to tune
    if sub == b"OBJECT" and len(argv) == 3:
        from .keys import encoding
        value = c.store.get(argv[2])
        if value is None:
            raise CommandError("ERR no such key")
        return (f"Value at:0x0 refcount:1 encoding:"
                f"{encoding(value, c.engine.config).decode()} serializedlength:0 lru:0 "
                f"lru_seconds_idle:0").encode()
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "DEBUG"))


@command("COMMAND", -1, "")
def command_(c: Any, argv: list[bytes]) -> Any:
    table = c.engine.commands
    if len(argv) == 1:
        return [_info(cmd) for cmd in table.values()]
    sub = argv[1].upper()
    if sub == b"COUNT" and len(argv) == 2:
        return len(table)
    if sub == b"INFO":
        names = argv[2:] or [n.encode() for n in table]
        return [_info(table[n.decode(errors="replace").upper()])
                if n.decode(errors="replace").upper() in table else None for n in names]
    if sub == b"DOCS":
        wanted = [n.decode(errors="replace").lower() for n in argv[2:]] \
            or [n.lower() for n in table]
        docs: dict[bytes, Any] = {}
        for name in wanted:
            if name.upper() in table:
                cmd = table[name.upper()]
                docs[name.encode()] = {b"summary": f"The {cmd.name} command".encode(),
                                    b"since": b"1.0.0", b"group": b"generic"}
        return docs if c.proto == 3 else [
            x for k, v in docs.items() for x in (k, [y for kv in v.items() for y in kv])]
    if sub == b"LIST":
        return [n.lower().encode() for n in table]
    if sub == b"GETKEYS" and len(argv) >= 3:
        cmd = table.get(argv[2].decode(errors="replace").upper())
        if cmd is None:
            raise CommandError("ERR Invalid command specified")
        keys = cmd.key_args(argv[2:])
        if not keys:
            raise CommandError("ERR The command has no key arguments")
        return keys
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "COMMAND"))


def _info(cmd: Command) -> list[Any]:
    first, last, step = cmd.keys
    return [cmd.name.lower().encode(), cmd.arity, [f for f in sorted(cmd.flags)],
            first, last, step, [], [], []]


@command("INFO", -1, "")
def info(c: Any, argv: list[bytes]) -> Any:
    wanted = {a.decode(errors="replace").lower() for a in argv[1:]}
    return render_info(c, wanted).encode()


def render_info(c: Any, wanted: set[str]) -> str:
    """INFO text: the fields kombu, Celery, Flower and redis-cli read, Redis 7 names."""
    engine = c.engine
    access = engine.access
    # without admin rights a connection sees only its own databases and channels (19.4)
    everything = access is None or c.admin
    usage = resource.getrusage(resource.RUSAGE_SELF)
    rss = _rss_bytes()
    used = engine.used_memory() or rss
    uptime = int(time.time() - engine.started)
    sections: dict[str, list[tuple[str, Any]]] = {
        "server": [("redis_version", REDIS_VERSION), ("redis_mode", "standalone"),
                   ("herodb_version", "0.1.0"), ("os", sys.platform),
                   ("arch_bits", 64), ("multiplexing_api", "asyncio"),
                   ("process_id", os.getpid()), ("run_id", f"{id(engine):040x}"[-40:]),
                   ("tcp_port", engine.settings.get("port", "0")),
                   ("uptime_in_seconds", uptime), ("uptime_in_days", uptime // 86400),
                   ("hz", 10), ("executable", sys.executable), ("config_file", "")],
        "clients": [("connected_clients", len(engine.clients)),
                    ("blocked_clients", sum(1 for x in engine.clients.values() if x.waiter)),
                    ("pubsub_clients", sum(1 for x in engine.clients.values() if x.subscribed)),
                    ("maxclients", engine.settings.get("maxclients", "10000"))],
        "memory": [("used_memory", used), ("used_memory_human", _human(used)),
                   ("used_memory_rss", rss), ("used_memory_rss_human", _human(rss)),
                   ("used_memory_peak", usage.ru_maxrss * 1024),
                   ("used_memory_peak_human", _human(usage.ru_maxrss * 1024)),
                   ("used_memory_lua", 0), ("maxmemory", engine.maxmemory),
                   ("maxmemory_human", _human(engine.maxmemory)),
                   ("maxmemory_policy", engine.config.get("maxmemory-policy")),
                   ("mem_allocator", "libc")],
        "persistence": [("loading", 0), ("rdb_changes_since_last_save", engine.dirty),
                        ("rdb_last_save_time", engine.last_save),
                        ("aof_enabled", int(engine.log is not None)),
                        ("aof_rewrite_in_progress",
                         int(bool(getattr(engine.log, "rewriting", False))))],
        "stats": [("total_connections_received", engine.stat_connections),
                  ("total_commands_processed", engine.stat_commands),
                  ("rejected_connections", engine.stat_rejected),
                  ("pubsub_channels", len(engine.channels) + engine.scoped.total(False)
                   if everything else len(list(engine.scoped.channel_names(c.db)))),
                  ("pubsub_patterns", len(engine.patterns) + engine.scoped.total(True)
                   if everything else engine.scoped.numpat(c.db)),
                  ("expired_keys", engine.stat_expired), ("evicted_keys", 0),
                  ("total_error_replies", engine.stat_errors)],
        "replication": [("role", "master"), ("connected_slaves", 0)],
        "cpu": [("used_cpu_sys", f"{usage.ru_stime:.6f}"),
                ("used_cpu_user", f"{usage.ru_utime:.6f}")],
        "modules": [],
        "commandstats": [(f"cmdstat_{name.lower()}",
                          f"calls={n},usec=0,usec_per_call=0.00,rejected_calls={rej},"
                          f"failed_calls={fail}")
                         for name, (n, rej, fail) in engine.command_stats().items()],
        "errorstats": [(f"errorstat_{kind}", f"count={n}")
                       for kind, n in sorted(engine.error_kinds.items())],
        "cluster": [("cluster_enabled", 0)],
        "keyspace": [(f"db{db.index}", f"keys={db.size()},expires={len(db.expires)},"
                      f"avg_ttl={_avg_ttl(db)}")
                     for db in engine.keyspace.dbs
                     if db.data and (everything or access.may_open(c, db.index))],
    }
    default = {"server", "clients", "memory", "persistence", "stats", "replication", "cpu",
               "modules", "errorstats", "cluster", "keyspace"}
    names = default if not wanted or "default" in wanted else wanted
    if wanted & {"all", "everything"}:
        names = set(sections)
    out: list[str] = []
    for name, fields in sections.items():
        if name in names:
            if out:
                out.append("")
            out.append("# " + name.capitalize())
            out.extend(f"{k}:{v}" for k, v in fields)
    return "\r\n".join(out) + "\r\n"


def _avg_ttl(db: Any) -> int:
    """Average remaining TTL in ms of (up to 1,000 of) the keys with one (Redis estimates it
    by sampling too)."""
    if not db.expires:
        return 0
    now = int(time.time() * 1000)
    sample = [w - now for _, w in zip(range(1000), db.expires.values(), strict=False)]
    live = [t for t in sample if t > 0]
    return sum(live) // len(live) if live else 0


def _rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _human(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024:
            return f"{n:.2f}{unit}"
        n //= 1024
    return f"{n:.2f}T"
