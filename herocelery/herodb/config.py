"""CONFIG GET/SET: Redis 7.0's parameters, their defaults, types and error texts.

Every parameter redis-server 7.0 answers to `CONFIG GET *` is known here (the table below was
extracted from Redis 7.0.15's config.c and a default redis-server's `CONFIG GET *`), so
clients and tools that tune a server on connect get Redis' answers. A value is validated as
Redis validates it (booleans, integers with their bounds, memory units, percentages, enums,
the special forms of `save`, `client-output-buffer-limit` and `notify-keyspace-events`) and
reported back in Redis' canonical form; parameters HeroDB has no use for (encodings, lazy
freeing, replication, ...) are stored and reported, nothing more. Those HeroDB acts on are
listed in README.md (appendfsync, maxmemory, notify-keyspace-events, lua-time-limit,
client-output-buffer-limit, proto-max-bulk-len, maxclients, ...).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .errors import CommandError

# name -> (kind, default, flags, *extra): kind is bool|int|enum|string|special; flags: i
# immutable, p protected, m memory value, % percent allowed, o octal, * several enum words,
# a alias (of the name it shares a setting with, see ALIASES); int: lower, upper; enum: words
TABLE: dict[str, tuple[Any, ...]] = {
    'acl-pubsub-default': ('enum', 'resetchannels', '', 'allchannels resetchannels'),
    'aclfile': ('string', '', 'i'),
    'acllog-max-len': ('int', '128', '', 0, 9223372036854775807),
    'active-defrag-cycle-max': ('int', '25', '', 1, 99),
    'active-defrag-cycle-min': ('int', '1', '', 1, 99),
    'active-defrag-ignore-bytes': ('int', '104857600', 'm', 1, 9223372036854775807),
    'active-defrag-max-scan-fields': ('int', '1000', '', 1, 9223372036854775807),
    'active-defrag-threshold-lower': ('int', '10', '', 0, 1000),
    'active-defrag-threshold-upper': ('int', '100', '', 0, 1000),
    'active-expire-effort': ('int', '1', '', 1, 10),
    'activedefrag': ('bool', 'no', ''),
    'activerehashing': ('bool', 'yes', ''),
    'always-show-logo': ('bool', 'no', 'i'),
    'aof-disable-auto-gc': ('bool', 'no', ''),
    'aof-load-truncated': ('bool', 'yes', ''),
    'aof-rewrite-incremental-fsync': ('bool', 'yes', ''),
    'aof-timestamp-enabled': ('bool', 'no', ''),
    'aof-use-rdb-preamble': ('bool', 'yes', ''),
    'aof_rewrite_cpulist': ('string', '', 'i'),
    'appenddirname': ('string', 'appendonlydir', 'i'),
    'appendfilename': ('string', 'appendonly.aof', 'i'),
    'appendfsync': ('enum', 'everysec', '', 'everysec always no'),
    'appendonly': ('bool', 'no', ''),
    'auto-aof-rewrite-min-size': ('int', '67108864', '', 0, 9223372036854775807),
    'auto-aof-rewrite-percentage': ('int', '100', '', 0, 2147483647),
    'bgsave_cpulist': ('string', '', 'i'),
    'bind': ('special', '* -::*', ''),
    'bind-source-addr': ('string', '', ''),
    'bio_cpulist': ('string', '', 'i'),
    'busy-reply-threshold': ('int', '5000', '', 0, 9223372036854775807),
    'client-output-buffer-limit': ('special', 'normal 0 0 0 slave 268435456 67108864 60 '
                                   'pubsub 33554432 8388608 60', ''),
    'client-query-buffer-limit': ('int', '1073741824', 'm', 1048576, 9223372036854775807),
    'cluster-allow-pubsubshard-when-down': ('bool', 'yes', ''),
    'cluster-allow-reads-when-down': ('bool', 'no', ''),
    'cluster-allow-replica-migration': ('bool', 'yes', ''),
    'cluster-announce-bus-port': ('int', '0', '', 0, 65535),
    'cluster-announce-hostname': ('string', '', ''),
    'cluster-announce-ip': ('string', '', ''),
    'cluster-announce-port': ('int', '0', '', 0, 65535),
    'cluster-announce-tls-port': ('int', '0', '', 0, 65535),
    'cluster-config-file': ('string', 'nodes.conf', 'i'),
    'cluster-enabled': ('bool', 'no', 'i'),
    'cluster-link-sendbuf-limit': ('int', '0', 'm', 0, 18446744073709551615),
    'cluster-migration-barrier': ('int', '1', '', 0, 2147483647),
    'cluster-node-timeout': ('int', '15000', '', 0, 9223372036854775807),
    'cluster-port': ('int', '0', 'i', 0, 65535),
    'cluster-preferred-endpoint-type': ('enum', 'ip', '', 'ip hostname unknown-endpoint'),
    'cluster-replica-no-failover': ('bool', 'no', ''),
    'cluster-replica-validity-factor': ('int', '10', '', 0, 2147483647),
    'cluster-require-full-coverage': ('bool', 'yes', ''),
    'cluster-slave-no-failover': ('bool', 'no', 'a'),
    'cluster-slave-validity-factor': ('int', '10', 'a', 0, 2147483647),
    'crash-log-enabled': ('bool', 'yes', ''),
    'crash-memcheck-enabled': ('bool', 'yes', ''),
    'daemonize': ('bool', 'yes', 'i'),
    'databases': ('int', '16', 'i', 1, 2147483647),
    'dbfilename': ('string', 'dump.rdb', 'p'),
    'dir': ('special', '/tmp/cfg', 'p'),
    'disable-thp': ('bool', 'yes', 'i'),
    'dynamic-hz': ('bool', 'yes', ''),
    'enable-debug-command': ('enum', 'no', 'i', 'no yes local'),
    'enable-module-command': ('enum', 'no', 'i', 'no yes local'),
    'enable-protected-configs': ('enum', 'no', 'i', 'no yes local'),
    'hash-max-listpack-entries': ('int', '512', '', 0, 9223372036854775807),
    'hash-max-listpack-value': ('int', '64', 'm', 0, 9223372036854775807),
    'hash-max-ziplist-entries': ('int', '512', 'a', 0, 9223372036854775807),
    'hash-max-ziplist-value': ('int', '64', 'ma', 0, 9223372036854775807),
    'hll-sparse-max-bytes': ('int', '3000', 'm', 0, 9223372036854775807),
    'hz': ('int', '10', '', 0, 2147483647),
    'ignore-warnings': ('string', '', ''),
    'io-threads': ('int', '1', 'i', 1, 128),
    'io-threads-do-reads': ('bool', 'no', 'i'),
    'jemalloc-bg-thread': ('bool', 'yes', ''),
    'latency-monitor-threshold': ('int', '0', '', 0, 9223372036854775807),
    'latency-tracking': ('bool', 'yes', ''),
    'latency-tracking-info-percentiles': ('special', '50 99 99.9', ''),
    'lazyfree-lazy-eviction': ('bool', 'no', ''),
    'lazyfree-lazy-expire': ('bool', 'no', ''),
    'lazyfree-lazy-server-del': ('bool', 'no', ''),
    'lazyfree-lazy-user-del': ('bool', 'no', ''),
    'lazyfree-lazy-user-flush': ('bool', 'no', ''),
    'lfu-decay-time': ('int', '1', '', 0, 2147483647),
    'lfu-log-factor': ('int', '10', '', 0, 2147483647),
    'list-compress-depth': ('int', '0', '', 0, 2147483647),
    'list-max-listpack-size': ('int', '-2', '', -2147483648, 2147483647),
    'list-max-ziplist-size': ('int', '-2', 'a', -2147483648, 2147483647),
    'logfile': ('string', '/tmp/cfg/r.log', 'i'),
    'loglevel': ('enum', 'notice', '', 'debug verbose notice warning'),
    'lua-time-limit': ('int', '5000', 'a', 0, 9223372036854775807),
    'masterauth': ('string', '', ''),
    'masteruser': ('string', '', ''),
    'maxclients': ('int', '10000', '', 1, 4294967295),
    'maxmemory': ('int', '0', 'm', 0, 18446744073709551615),
    'maxmemory-clients': ('int', '0', 'm%', -100, 9223372036854775807),
    'maxmemory-eviction-tenacity': ('int', '10', '', 0, 100),
    'maxmemory-policy': ('enum', 'noeviction', '', 'volatile-lru volatile-lfu volatile-random '
                         'volatile-ttl allkeys-lru allkeys-lfu allkeys-random noeviction'),
    'maxmemory-samples': ('int', '5', '', 1, 2147483647),
    'min-replicas-max-lag': ('int', '10', '', 0, 2147483647),
    'min-replicas-to-write': ('int', '0', '', 0, 2147483647),
    'min-slaves-max-lag': ('int', '10', 'a', 0, 2147483647),
    'min-slaves-to-write': ('int', '0', 'a', 0, 2147483647),
    'no-appendfsync-on-rewrite': ('bool', 'no', ''),
    'notify-keyspace-events': ('special', '', ''),
    'oom-score-adj': ('enum', 'no', '', 'no yes relative absolute'),
    'oom-score-adj-values': ('special', '0 200 800', ''),
    'pidfile': ('string', '/var/run/redis.pid', 'i'),
    'port': ('int', '7799', '', 0, 65535),
    'proc-title-template': ('string', '{title} {listen-addr} {server-mode}', ''),
    'propagation-error-behavior': ('enum', 'ignore', '', 'ignore panic panic-on-replicas'),
    'protected-mode': ('bool', 'yes', ''),
    'proto-max-bulk-len': ('int', '536870912', 'm', 1048576, 9223372036854775807),
    'rdb-del-sync-files': ('bool', 'no', ''),
    'rdb-save-incremental-fsync': ('bool', 'yes', ''),
    'rdbchecksum': ('bool', 'yes', 'i'),
    'rdbcompression': ('bool', 'yes', ''),
    'repl-backlog-size': ('int', '1048576', 'm', 1, 9223372036854775807),
    'repl-backlog-ttl': ('int', '3600', '', 0, 9223372036854775807),
    'repl-disable-tcp-nodelay': ('bool', 'no', ''),
    'repl-diskless-load': ('enum', 'disabled', '', 'disabled on-empty-db swapdb'),
    'repl-diskless-sync': ('bool', 'yes', ''),
    'repl-diskless-sync-delay': ('int', '5', '', 0, 2147483647),
    'repl-diskless-sync-max-replicas': ('int', '0', '', 0, 2147483647),
    'repl-ping-replica-period': ('int', '10', '', 1, 2147483647),
    'repl-ping-slave-period': ('int', '10', 'a', 1, 2147483647),
    'repl-timeout': ('int', '60', '', 1, 2147483647),
    'replica-announce-ip': ('string', '', ''),
    'replica-announce-port': ('int', '0', '', 0, 65535),
    'replica-announced': ('bool', 'yes', ''),
    'replica-ignore-disk-write-errors': ('bool', 'no', ''),
    'replica-ignore-maxmemory': ('bool', 'yes', ''),
    'replica-lazy-flush': ('bool', 'no', ''),
    'replica-priority': ('int', '100', '', 0, 2147483647),
    'replica-read-only': ('bool', 'yes', ''),
    'replica-serve-stale-data': ('bool', 'yes', ''),
    'replicaof': ('special', '', 'i'),
    'requirepass': ('string', '', ''),
    'sanitize-dump-payload': ('enum', 'no', '', 'no yes clients'),
    'save': ('special', '', ''),
    'server_cpulist': ('string', '', 'i'),
    'set-max-intset-entries': ('int', '512', '', 0, 9223372036854775807),
    'set-proc-title': ('bool', 'yes', 'i'),
    'shutdown-on-sigint': ('enum', 'default', '*', 'default save nosave now force'),
    'shutdown-on-sigterm': ('enum', 'default', '*', 'default save nosave now force'),
    'shutdown-timeout': ('int', '10', '', 0, 2147483647),
    'slave-announce-ip': ('string', '', 'a'),
    'slave-announce-port': ('int', '0', 'a', 0, 65535),
    'slave-ignore-maxmemory': ('bool', 'yes', 'a'),
    'slave-lazy-flush': ('bool', 'no', 'a'),
    'slave-priority': ('int', '100', 'a', 0, 2147483647),
    'slave-read-only': ('bool', 'yes', 'a'),
    'slave-serve-stale-data': ('bool', 'yes', 'a'),
    'slaveof': ('special', '', 'ia'),
    'slowlog-log-slower-than': ('int', '10000', '', -1, 9223372036854775807),
    'slowlog-max-len': ('int', '128', '', 0, 9223372036854775807),
    'socket-mark-id': ('int', '0', 'i', 0, 4294967295),
    'stop-writes-on-bgsave-error': ('bool', 'yes', ''),
    'stream-node-max-bytes': ('int', '4096', 'm', 0, 9223372036854775807),
    'stream-node-max-entries': ('int', '100', '', 0, 9223372036854775807),
    'supervised': ('enum', 'no', 'i', 'upstart systemd auto no'),
    'syslog-enabled': ('bool', 'no', 'i'),
    'syslog-facility': ('enum', 'local0', 'i',
                        'user local0 local1 local2 local3 local4 local5 local6 local7'),
    'syslog-ident': ('string', 'redis', 'i'),
    'tcp-backlog': ('int', '511', 'i', 0, 2147483647),
    'tcp-keepalive': ('int', '300', '', 0, 2147483647),
    'timeout': ('int', '0', '', 0, 2147483647),
    'tls-auth-clients': ('enum', 'yes', '', 'no yes optional'),
    'tls-ca-cert-dir': ('string', '', ''),
    'tls-ca-cert-file': ('string', '', ''),
    'tls-cert-file': ('string', '', ''),
    'tls-ciphers': ('string', '', ''),
    'tls-ciphersuites': ('string', '', ''),
    'tls-client-cert-file': ('string', '', ''),
    'tls-client-key-file': ('string', '', ''),
    'tls-client-key-file-pass': ('string', '', ''),
    'tls-cluster': ('bool', 'no', ''),
    'tls-dh-params-file': ('string', '', ''),
    'tls-key-file': ('string', '', ''),
    'tls-key-file-pass': ('string', '', ''),
    'tls-port': ('int', '0', '', 0, 65535),
    'tls-prefer-server-ciphers': ('bool', 'no', ''),
    'tls-protocols': ('string', '', ''),
    'tls-replication': ('bool', 'no', ''),
    'tls-session-cache-size': ('int', '20480', '', 0, 2147483647),
    'tls-session-cache-timeout': ('int', '300', '', 0, 2147483647),
    'tls-session-caching': ('bool', 'yes', ''),
    'tracking-table-max-keys': ('int', '1000000', '', 0, 9223372036854775807),
    'unixsocket': ('string', '', 'i'),
    'unixsocketperm': ('int', '0', 'io', 0, 511),
    'zset-max-listpack-entries': ('int', '128', '', 0, 9223372036854775807),
    'zset-max-listpack-value': ('int', '64', 'm', 0, 9223372036854775807),
    'zset-max-ziplist-entries': ('int', '128', 'a', 0, 9223372036854775807),
    'zset-max-ziplist-value': ('int', '64', 'ma', 0, 9223372036854775807),}
ALIASES = {
    "hash-max-ziplist-entries": "hash-max-listpack-entries",
    "hash-max-ziplist-value": "hash-max-listpack-value",
    "list-max-ziplist-size": "list-max-listpack-size",
    "zset-max-ziplist-entries": "zset-max-listpack-entries",
    "zset-max-ziplist-value": "zset-max-listpack-value",
    "lua-time-limit": "busy-reply-threshold",
    "slaveof": "replicaof", "slave-serve-stale-data": "replica-serve-stale-data",
    "slave-read-only": "replica-read-only", "slave-ignore-maxmemory": "replica-ignore-maxmemory",
    "slave-lazy-flush": "replica-lazy-flush", "slave-priority": "replica-priority",
    "slave-announce-ip": "replica-announce-ip", "slave-announce-port": "replica-announce-port",
    "min-slaves-to-write": "min-replicas-to-write", "min-slaves-max-lag": "min-replicas-max-lag",
    "repl-ping-slave-period": "repl-ping-replica-period",
    "cluster-slave-validity-factor": "cluster-replica-validity-factor",
    "cluster-slave-no-failover": "cluster-replica-no-failover",
    "slave-announced": "replica-announced",
}
FAILED = "ERR CONFIG SET failed (possibly related to argument '{}') - {}"
UNKNOWN = "ERR Unknown option or number of arguments for CONFIG SET - '{}'"
EVENT_CLASSES = "g$lshzxetd"  # what 'A' stands for
EVENTS_BAD = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
CLIENT_CLASSES = ("normal", "slave", "pubsub")
MEMORY_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2,
                "g": 1000 ** 3, "gb": 1024 ** 3}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def memory_value(text: str) -> int | None:
    """Redis' memtoull: digits and an optional unit (b k kb m mb g gb); None if not one."""
    i = 0
    while i < len(text) and text[i].isdigit():
        i += 1
    unit = MEMORY_UNITS.get(text[i:].lower())
    if unit is None or i == 0 or i > 20:
        return None
    value = int(text[:i]) * unit
    return value if value < 2 ** 64 else None


def parse_events(text: str) -> int | None:
    """notify-keyspace-events as a set of class characters (a bit each); None if invalid."""
    flags: set[str] = set()
    for ch in text:
        if ch == "A":
            flags.update(EVENT_CLASSES)
        elif ch in "g$lshzxetdKEmn":
            flags.add(ch)
        else:
            return None
    return sum(1 << "g$lshzxetdKEmn".index(ch) for ch in flags)


def events_text(bits: int) -> str:
    """Redis' canonical spelling (keyspaceEventsFlagsToString)."""
    have = {ch for i, ch in enumerate("g$lshzxetdKEmn") if bits >> i & 1}
    out = "A" if set(EVENT_CLASSES) <= have else "".join(
        ch for ch in "g$lshzxetdn" if ch in have)
    return out + "".join(ch for ch in "KEm" if ch in have)


def _integer(text: str) -> int | None:
    body = text[1:] if text[:1] == "-" else text
    if not body.isdigit() or (body[0] == "0" and len(body) > 1) or text == "-0" or len(body) > 19:
        return None
    value = int(text)
    return value if -2 ** 63 <= value < 2 ** 63 else None


def _check_int(spec: tuple[Any, ...], value: str) -> str:
    """The canonical text of an integer parameter, or raises ValueError(Redis' reason)."""
    flags, lo, hi = spec[2], spec[3], spec[4]
    number = memory_value(value) if "m" in flags else None
    if number is None and "%" in flags and value.endswith("%") and len(value) > 1:
        pct = _integer(value[:-1])
        if pct is not None and pct >= 0:
            if -pct < lo:
                raise ValueError(f"percentage argument must be less or equal to {-lo}")
            return f"{pct}%"
    if number is None and "o" in flags:
        try:
            number = int(value, 8)
        except ValueError:
            number = None
    if number is None and not ({"m", "%", "o"} & set(flags)):
        number = _integer(value)
    if number is None:
        if "m" in flags and "%" in flags:
            raise ValueError("argument must be a memory or percent value")
        if "m" in flags:
            raise ValueError("argument must be a memory value")
        if "o" in flags:
            raise ValueError("argument couldn't be parsed as an octal number")
        raise ValueError("argument couldn't be parsed into an integer")
    if number > 2 ** 63 - 1 and hi <= 2 ** 63 - 1:
        number -= 2 ** 64  # Redis reads it as a long long first
    if not lo <= number <= hi:
        fmt = "o" if "o" in flags else "d"
        raise ValueError(f"argument must be between {lo:{fmt}} and {hi:{fmt}} inclusive")
    return f"{number:o}" if "o" in flags else str(number)


def _check_enum(spec: tuple[Any, ...], value: str) -> str:
    words = spec[3].split()
    given = value.split() if "*" in spec[2] else [value]
    if not given and "*" in spec[2]:
        return ""
    out = []
    for g in given:
        match = next((w for w in words if w.lower() == g.lower()), None)
        if match is None:
            raise ValueError("argument(s) must be one of the following: " + ", ".join(words))
        out.append(match)
    if "save" in out and "nosave" in out:
        raise ValueError("shutdown options SAVE and NOSAVE can't be used simultaneously")
    return " ".join(out)


def _check_special(name: str, value: str) -> str:
    parts = value.split()
    if name == "save":
        if len(parts) % 2 or any(_integer(p) is None or int(p) < 0 for p in parts):
            raise ValueError("Invalid save parameters")
        return " ".join(parts)
    if name == "notify-keyspace-events":
        bits = parse_events(value)
        if bits is None:
            raise ValueError(EVENTS_BAD)
        return events_text(bits)
    if name == "client-output-buffer-limit":
        return client_limits_text(parse_client_limits(value, TABLE[name][1]))
    if name == "oom-score-adj-values":
        if len(parts) != 3:
            raise ValueError("wrong number of arguments")
        if any(_integer(p) is None or not -2000 <= int(p) <= 2000 for p in parts):
            raise ValueError("Invalid oom-score-adj-values, elements must be between -2000 and "
                             "2000.")
        return " ".join(parts)
    if name == "latency-tracking-info-percentiles":
        try:
            numbers = [float(p) for p in parts]
        except ValueError:
            raise ValueError("Invalid latency-tracking-info-percentiles parameters") from None
        if any(not 0.0 <= x <= 100.0 for x in numbers):
            raise ValueError("latency-tracking-info-percentiles parameters should sit between "
                             "[0.0,100.0]")
        return " ".join(parts)
    return value


Limits = dict[str, tuple[int, int, int]]


def parse_client_limits(value: str, current: str) -> Limits:
    """`class hard soft seconds` groups over the current setting (replica = slave)."""
    parts = value.split()
    if len(parts) % 4:
        raise ValueError("Wrong number of arguments in buffer limit configuration.")
    limits = _limits(current)
    for i in range(0, len(parts), 4):
        cls = parts[i].lower()
        cls = "slave" if cls == "replica" else cls
        if cls not in CLIENT_CLASSES:
            raise ValueError("Invalid client class specified in buffer limit configuration.")
        hard, soft = memory_value(parts[i + 1]), memory_value(parts[i + 2])
        secs = _integer(parts[i + 3])
        if hard is None or soft is None or secs is None or secs < 0:
            raise ValueError("Error in hard, soft or soft_seconds setting in buffer limit "
                             "configuration.")
        limits[cls] = (hard, soft, secs)
    return limits


def _limits(text: str) -> Limits:
    parts = text.split()
    return {parts[i]: (int(parts[i + 1]), int(parts[i + 2]), int(parts[i + 3]))
            for i in range(0, len(parts), 4)}


def client_limits_text(limits: Limits) -> str:
    return " ".join(f"{cls} {h} {s} {t}" for cls in CLIENT_CLASSES
                    for h, s, t in [limits[cls]])


def client_limits(config: Config) -> Limits:
    return _limits(config.values["client-output-buffer-limit"])


class Config:
    """The server's parameters: Redis' defaults, then HeroDB's own (`overrides`). `on_change`
    is called with (name, canonical value) for every parameter a CONFIG SET changed."""

    def __init__(self, overrides: dict[str, str] | None = None,
                 on_change: Callable[[str, str], None] | None = None) -> None:
        self.values: dict[str, str] = {n: spec[1] for n, spec in TABLE.items()
                                       if n not in ALIASES}
        self.values.update({canonical(k): v for k, v in (overrides or {}).items()})
        self.on_change = on_change

    def get(self, name: str) -> str:
        return self.values[canonical(name)]

    def matching(self, patterns: Iterable[bytes]) -> dict[bytes, bytes]:
        """CONFIG GET: every parameter (aliases included) matching one of the globs."""
        from .commands.base import glob_match
        out: dict[bytes, bytes] = {}
        for pattern in patterns:
            p = pattern.lower()
            if not any(ch in p for ch in b"*?["):
                name = p.decode(errors="replace")
                if name in TABLE:
                    out[p] = self.get(name).encode()
                continue
            for name in TABLE:
                if glob_match(p, name.encode()):
                    out[name.encode()] = self.get(name).encode()
        return out

    def set(self, pairs: list[tuple[str, str]]) -> None:
        """CONFIG SET: all or nothing, with Redis' error texts (CommandError)."""
        unknown = next((n for n, _ in pairs if n not in TABLE), None)
        if unknown is not None:
            raise CommandError(UNKNOWN.format(unknown))
        seen: set[str] = set()
        for name, _ in pairs:
            flags = TABLE[name][2]
            if "i" in flags:
                raise CommandError(FAILED.format(name, "can't set immutable config"))
            if "p" in flags:
                raise CommandError(FAILED.format(name, "can't set protected config"))
            if canonical(name) in seen:
                raise CommandError(FAILED.format(name, "duplicate parameter"))
            seen.add(canonical(name))
        new: list[tuple[str, str]] = []
        for name, value in pairs:
            real = canonical(name)
            spec = TABLE[real]
            try:
                new.append((real, self._check(real, spec, value)))
            except ValueError as exc:
                raise CommandError(FAILED.format(name, exc)) from None
        for real, text in new:
            changed = self.values.get(real) != text
            self.values[real] = text
            if changed and self.on_change is not None:
                self.on_change(real, text)

    @staticmethod
    def _check(name: str, spec: tuple[Any, ...], value: str) -> str:
        kind = spec[0]
        if kind == "bool":
            if value.lower() not in ("yes", "no"):
                raise ValueError("argument must be 'yes' or 'no'")
            return value.lower()
        if kind == "int":
            text = _check_int(spec, value)
            if name == "hz":  # Redis clamps it when applying (CONFIG_MIN_HZ..CONFIG_MAX_HZ)
                text = str(min(500, max(1, int(text))))
            return text
        if kind == "enum":
            return _check_enum(spec, value)
        if kind == "special":
            return _check_special(name, value)
        return value
