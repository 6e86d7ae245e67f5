"""Connection commands: PING ECHO HELLO AUTH SELECT QUIT RESET CLIENT."""
from __future__ import annotations

from typing import Any

from ..errors import NOPROTO, NOT_INTEGER, SYNTAX, UNKNOWN_SUBCOMMAND, CommandError
from ..protocol import OK, Push, Raw, ReplyError
from .base import INT32_MAX, INT32_MIN, Command, registrar, to_int, to_ranged

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

REDIS_VERSION = "7.0.15"  # the Redis whose behaviour HeroDB follows (the test oracle)
NO_REPLY = Raw(b"")  # what CLIENT REPLY OFF/SKIP answer: nothing
AUTH_NO_PASSWORD = ("ERR AUTH <password> called without any password configured for the default "
                    "user. Are you sure your configuration is correct?")


@command("PING", -1, "fast noauth")
def ping(c: Any, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        raise CommandError("ERR wrong number of arguments for 'ping' command")
    if c.subscribed and c.proto == 2:
        return [b"pong", argv[1] if len(argv) > 1 else b""]
    return argv[1] if len(argv) > 1 else "PONG"


@command("ECHO", 2, "fast")
def echo(c: Any, argv: list[bytes]) -> Any:
    return argv[1]


@command("QUIT", -1, "fast noauth")
def quit_(c: Any, argv: list[bytes]) -> Any:
    c.quit = True
    return OK


@command("AUTH", -2, "fast noauth")
def auth(c: Any, argv: list[bytes]) -> Any:
    """Without an access model there is no password: Redis' answers for the default user."""
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    if len(argv) == 2:
        raise CommandError(AUTH_NO_PASSWORD)
    if argv[1] != b"default":
        raise CommandError("WRONGPASS invalid username-password pair or user is disabled.")
    return OK


@command("SELECT", 2, "fast")
def select(c: Any, argv: list[bytes]) -> Any:
    index = to_ranged(argv[1], INT32_MIN, INT32_MAX)  # Redis 7's texts for both
    c.select(index)
    return OK


@command("HELLO", -1, "fast noauth")
def hello(c: Any, argv: list[bytes]) -> Any:
    proto = c.proto
    i = 1
    if len(argv) > 1:
        try:
            proto = to_int(argv[1])
        except CommandError:
            raise CommandError("ERR Protocol version is not an integer or out of range") from None
        if proto not in (2, 3):
            raise CommandError(NOPROTO)
        i = 2
    name: bytes | None = None
    while i < len(argv):
        opt = argv[i].upper()
        if opt == b"AUTH" and i + 2 < len(argv):
            cmd = c.engine.commands["AUTH"]
            reply = cmd.handler(c, [b"AUTH", argv[i + 1], argv[i + 2]])
            if isinstance(reply, ReplyError):
                return reply
            i += 3
        elif opt == b"SETNAME" and i + 1 < len(argv):
            name = argv[i + 1]
            i += 2
        else:
            option = argv[i].decode(errors="replace")
            raise CommandError(f"ERR Syntax error in HELLO option '{option}'")
    if name is not None:
        _check_name(name)
        c.name = name
    c.proto = proto
    return {b"server": b"redis", b"version": REDIS_VERSION.encode(), b"proto": proto,
            b"id": c.id, b"mode": b"standalone", b"role": b"master", b"modules": []}


@command("RESET", 1, "fast noauth")
def reset(c: Any, argv: list[bytes]) -> Any:
    engine = c.engine
    c.multi = None
    c.multi_error = False
    engine.unwatch(c)
    for ch in list(c.channels):
        engine.unsubscribe(c, ch, False)
    for p in list(c.patterns):
        engine.unsubscribe(c, p, True)
    c.select(0)
    c.proto = 2
    c.name = b""
    return "RESET"


def _check_name(name: bytes) -> None:
    if any(ch <= 32 or ch > 126 for ch in name):
        raise CommandError("ERR Client names cannot contain spaces, newlines or special "
                           "characters.")


@command("CLIENT", -2, "")
def client(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    n = len(argv)
    if sub == b"ID" and n == 2:
        return c.id
    if sub == b"SETNAME" and n == 3:
        _check_name(argv[2])
        c.name = argv[2]
        return OK
    if sub == b"GETNAME" and n == 2:
        return c.name or None
    if sub == b"SETINFO" and n == 4:
        attr = argv[2].upper()
        if attr == b"LIB-NAME":
            _check_name(argv[3])
            c.lib_name = argv[3]
        elif attr == b"LIB-VER":
            c.lib_ver = argv[3]
        else:
            raise CommandError(f"ERR Unrecognized option '{argv[2].decode(errors='replace')}'")
        return OK
    if sub == b"LIST":
        clients = sorted(c.engine.clients.values(), key=lambda x: x.id)
        if n >= 4 and argv[2].upper() == b"ID":
            ids = {to_int(a) for a in argv[3:]}
            clients = [x for x in clients if x.id in ids]
        elif n != 2:
            if n == 4 and argv[2].upper() == b"TYPE":
                pubsub = argv[3].lower() == b"pubsub"
                clients = [x for x in clients if pubsub == bool(x.subscribed)]
            else:
                raise CommandError(SYNTAX)
        return "".join(x.info_line() + "\n" for x in clients).encode()
    if sub == b"INFO" and n == 2:
        return (c.info_line() + "\n").encode()
    if sub == b"KILL" and n >= 3:
        return _client_kill(c, argv)
    if sub == b"NO-EVICT" and n == 3:
        if argv[2].upper() not in (b"ON", b"OFF"):
            raise CommandError(SYNTAX)
        return OK  # nothing is evicted (maxmemory is noeviction)
    if sub == b"REPLY" and n == 3:
        mode = argv[2].upper()
        if mode == b"ON":
            c.reply_off = None
            return OK
        if mode in (b"OFF", b"SKIP"):
            c.reply_off = "off" if mode == b"OFF" else "skip"
            return NO_REPLY
        raise CommandError(SYNTAX)
    if sub == b"UNBLOCK" and n in (3, 4):
        target = c.engine.clients.get(to_int(argv[2]))
        if target is None or target.waiter is None or target.waiter.stream is not None:
            return 0  # (a client receiving a long reply is not blocked)
        w = target.waiter
        c.engine.unblock(w)
        if target.resume is not None:
            error = n == 4 and argv[3].upper() == b"ERROR"
            target.resume(ReplyError("UNBLOCKED client unblocked via CLIENT UNBLOCK")
                          if error else w.timeout_reply)
        return 1
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "CLIENT"))


def _client_kill(c: Any, argv: list[bytes]) -> Any:
    clients = list(c.engine.clients.values())
    if len(argv) == 3:  # old form: CLIENT KILL addr:port
        for x in clients:
            if x.addr.encode() == argv[2]:
                x.close()
                return OK
        raise CommandError("ERR No such client")
    if len(argv) % 2:
        raise CommandError(SYNTAX)
    chosen = clients
    skipme = True
    for i in range(2, len(argv), 2):
        key, val = argv[i].upper(), argv[i + 1]
        if key == b"ID":
            try:
                cid = to_int(val)
            except CommandError:
                cid = 0
            if cid <= 0:
                raise CommandError("ERR client-id should be greater than 0")
            chosen = [x for x in chosen if x.id == cid]
        elif key == b"ADDR":
            chosen = [x for x in chosen if x.addr.encode() == val]
        elif key == b"LADDR":
            chosen = [x for x in chosen if x.laddr.encode() == val]
        elif key == b"SKIPME":
            if val.lower() not in (b"yes", b"no"):
                raise CommandError(SYNTAX)
            skipme = val.lower() == b"yes"
        elif key == b"TYPE":
            kind = val.lower()
            if kind not in (b"normal", b"master", b"replica", b"slave", b"pubsub"):
                raise CommandError(f"ERR Unknown client type '{val.decode(errors='replace')}'")
            if kind in (b"master", b"replica", b"slave"):
                chosen = []  # no replication here
            else:
                chosen = [x for x in chosen if (kind == b"pubsub") == bool(x.subscribed)]
        elif key == b"USER":
            if val != b"default":
                raise CommandError(f"ERR No such user '{val.decode(errors='replace')}'")
        else:
            raise CommandError(SYNTAX)
    count = 0
    for x in chosen:
        if skipme and x is c:
            continue
        x.close()
        count += 1
    return count


__all__ = ["COMMANDS", "REDIS_VERSION", "Push", "NOT_INTEGER"]
