"""Access commands: AUTH, HELLO, SELECT, RESET and CLIENT under the access model; HERODB admin.

Replaces connection.py's AUTH, HELLO, SELECT, RESET and CLIENT (the engine loads this family
last), delegating to them for everything but the access decisions. Without an admin
secret (no access object) AUTH and SELECT answer exactly as Redis does. HERODB subcommands
change the registry in database 0 and log their effects there, so a restart keeps them.
"""
from __future__ import annotations

import time
from typing import Any

from .. import pubkeys
from ..access import DB_KEYS, DB_META, NOT_IN_TX, PERMS, key_hash, new_access_key
from ..errors import SYNTAX, WRONG_ARITY, CommandError
from ..protocol import OK
from ..pubkeys import DB_PUBKEYS, PUBKEY_PERMS
from . import connection
from .base import INT32_MAX, INT32_MIN, Command, registrar, to_int, to_ranged

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

HERODB_HELP = [
    b"HERODB <subcommand> [<arg> ...]. Subcommands are:",
    b"DBCREATE [<n>] [PUBLIC|PRIVATE]  -- register database n (default: the lowest free, private)",
    b"DBLIST  -- every registered database: [n, public|private, number of access keys]",
    b"DBDELETE <n>  -- forget database n, its access keys and all its data",
    b"DBPUBLIC <n> | DBPRIVATE <n>  -- open database n to anyone, or only to key holders",
    b"KEYCREATE <n> read|readwrite  -- a new access key for database n (shown once)",
    b"KEYLIST <n>  -- [key id, permission] of every key of n (the id is a hash prefix)",
    b"KEYDELETE <n> <key|key id>  -- revoke one access key",
    b"PUBKEYADD <n> <ed25519 public key hex> read|readwrite|admin  -- let a key pair log in",
    b"PUBKEYLIST <n>  -- [public key, permission] of every public key of n",
    b"PUBKEYDELETE <n> <public key>  -- revoke one public key",
    b"DBINFO <n>  -- visibility, creation time, keys, public keys, size, indexes, vector sets",
]
NO_SUCH_DB = "ERR database {n} is not registered (HERODB DBCREATE {n} first)"
DB_EXISTS = "ERR database {n} is already registered"
DB_RANGE = "ERR database must be 1..{top} (0 is the admin database)"
NO_FREE_DB = "ERR no free database left (the server has {count})"
BAD_PERM = "ERR permission must be read or readwrite"
BAD_PUBKEY = "ERR a public key is 64 hex characters (ed25519, 32 bytes)"
BAD_PUBKEY_PERM = "ERR a public key's permission must be read, readwrite or admin"
DB_ADMIN_ONLY = ("NOPERM 'herodb {sub}' needs admin rights on the database it names (or the "
                 "admin secret)")
ID_CHARS = 16
CLIENT_OPEN = frozenset({b"ID", b"SETNAME", b"GETNAME", b"SETINFO", b"INFO", b"REPLY",
                         b"MAINT_NOTIFICATIONS", b"NO-EVICT", b"NO-TOUCH", b"HELP"})
CLIENT_ADMIN = "NOPERM 'client {sub}' needs admin rights: AUTH with the admin secret first"
HELLO_NOAUTH = ("NOAUTH HELLO must be called with the client already authenticated, otherwise the "
                "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client "
                "and select the RESP protocol version at the same time")


@command("AUTH", -2, "fast noauth")
def auth(c: Any, argv: list[bytes]) -> Any:
    access = c.engine.access
    if access is None:
        return connection.auth(c, argv)
    if len(argv) > 3:
        raise CommandError(SYNTAX)
    user, password = (None, argv[1]) if len(argv) == 2 else (argv[1], argv[2])
    error = access.auth(c, user, password)
    if error:
        raise CommandError(error)
    return OK


@command("SELECT", -2, "fast")
def select(c: Any, argv: list[bytes]) -> Any:
    access = c.engine.access
    if access is None or len(argv) not in (2, 4):
        if len(argv) != 2:
            raise CommandError(WRONG_ARITY.format("select"))
        return connection.select(c, argv)
    index = to_ranged(argv[1], INT32_MIN, INT32_MAX)
    key = None
    if len(argv) == 4:
        if argv[2].upper() != b"KEY":
            raise CommandError(SYNTAX)
        key = argv[3]
    if not c.admin:
        if c.in_exec or c.in_script:
            raise CommandError(NOT_IN_TX)
        if not 0 <= index < len(c.engine.keyspace):
            raise CommandError("ERR DB index is out of range")
        error = access.grant(c, index, key)
        if error:
            raise CommandError(error)
    c.select(index)
    if access is not None and not c.admin:
        c.perm = access.permission(c, index)
    return OK


@command("HELLO", -1, "fast noauth")
def hello(c: Any, argv: list[bytes]) -> Any:
    access = c.engine.access
    if access is not None and not c.authenticated and not any(
            a.upper() == b"AUTH" for a in argv[2:]):
        raise CommandError(HELLO_NOAUTH)
    return connection.hello(c, argv)


@command("RESET", 1, "fast noauth")
def reset(c: Any, argv: list[bytes]) -> Any:
    """RESET also forgets the connection's authentication, as Redis does with a password."""
    reply = connection.reset(c, argv)
    if c.engine.access is not None:
        c.engine.access.on_connect(c)
    return reply


@command("CLIENT", -2, "")
def client(c: Any, argv: list[bytes]) -> Any:
    """Non-admins may name themselves and read their own line, not list or kill others."""
    sub = argv[1].upper()
    if c.engine.access is not None and not c.admin and sub not in CLIENT_OPEN:
        raise CommandError(CLIENT_ADMIN.format(sub=sub.decode(errors="replace").lower()))
    return connection.client(c, argv)


@command("CHALLENGE", 1, "fast noauth")
def challenge(c: Any, argv: list[bytes]) -> Any:
    """A one-time nonce to sign for `AUTH <ed25519 public key> <signature>` (pubkeys.py)."""
    return pubkeys.challenge(c)


@command("HERODB", -2, "admin noscript")
def herodb(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    args = argv[2:]
    handler = SUBCOMMANDS.get(sub)
    if handler is None:
        raise CommandError(f"ERR unknown subcommand '{argv[1].decode(errors='replace')}'. "
                           "Try HERODB HELP.")
    if not c.admin:  # an ed25519 key with admin on one database (access.decide let it in)
        access = c.engine.access
        if sub not in DB_SCOPED or not args or access is None or \
                access.permission(c, _db_arg(c, args[0])) != "admin":
            raise CommandError(DB_ADMIN_ONLY.format(sub=sub.decode(errors="replace").lower()))
    return handler(c, args)


# ---- the registry in database 0 ----------------------------------------------------------------
def _registry(c: Any) -> Any:
    return c.engine.keyspace.dbs[0]


def _write(c: Any, argv: list[bytes]) -> None:
    """Apply one registry write to database 0 and log it there (as the command it is)."""
    engine = c.engine
    store = _registry(c)
    name, key = argv[0], argv[1]
    if name == b"HSET":
        value = store.get_or_create(key, dict)
        for i in range(2, len(argv), 2):
            value[argv[i]] = argv[i + 1]
    elif name == b"HDEL":
        value = store.get_typed(key, dict)
        if value is not None:
            for f in argv[2:]:
                value.pop(f, None)
            store.drop_if_empty(key, value)
    elif name == b"DEL":
        store.delete(key)
    engine.touch(store, key)
    engine.dirty += 1
    if engine.log is not None:
        engine.log.append(0, argv)
        engine.appended += 1  # the reply waits for the log (server.Connection.finish)


def _db_arg(c: Any, raw: bytes) -> int:
    top = len(c.engine.keyspace) - 1
    try:
        n = to_int(raw)
    except CommandError:
        raise CommandError(DB_RANGE.format(top=top)) from None
    if not 1 <= n <= top:
        raise CommandError(DB_RANGE.format(top=top))
    return n


def _meta(c: Any, n: int) -> dict[bytes, bytes] | None:
    meta = _registry(c).get_typed(DB_META % n, dict)
    return meta


def _registered(c: Any, raw: bytes) -> int:
    n = _db_arg(c, raw)
    if _meta(c, n) is None:
        raise CommandError(NO_SUCH_DB.format(n=n))
    return n


def db_create(c: Any, args: list[bytes]) -> Any:
    visibility, number = b"private", None
    for a in args:
        if a.upper() in (b"PUBLIC", b"PRIVATE"):
            visibility = a.lower()
        elif number is None:
            number = _db_arg(c, a)
        else:
            raise CommandError(SYNTAX)
    if number is None:
        count = len(c.engine.keyspace)
        number = next((i for i in range(1, count) if _meta(c, i) is None), None)
        if number is None:
            raise CommandError(NO_FREE_DB.format(count=count))
    elif _meta(c, number) is not None:
        raise CommandError(DB_EXISTS.format(n=number))
    _write(c, [b"HSET", DB_META % number, b"visibility", visibility,
               b"created", str(int(time.time())).encode()])
    return number


def db_list(c: Any, args: list[bytes]) -> Any:
    if args:
        raise CommandError(SYNTAX)
    out = []
    for n in range(1, len(c.engine.keyspace)):
        meta = _meta(c, n)
        if meta is not None:
            keys = _registry(c).get_typed(DB_KEYS % n, dict) or {}
            out.append([n, meta.get(b"visibility", b"private"), len(keys)])
    return out


def db_delete(c: Any, args: list[bytes]) -> Any:
    if len(args) != 1:
        raise CommandError(SYNTAX)
    n = _registered(c, args[0])
    _write(c, [b"DEL", DB_META % n])
    _write(c, [b"DEL", DB_KEYS % n])
    _write(c, [b"DEL", DB_PUBKEYS % n])
    engine, store = c.engine, c.engine.keyspace.dbs[n]
    engine.touch_all(store)
    store.flush()
    if engine.log is not None:
        engine.log.append(n, [b"FLUSHDB"])
        engine.appended += 1
    return OK


def _set_visibility(visibility: bytes) -> Any:
    def handler(c: Any, args: list[bytes]) -> Any:
        if len(args) != 1:
            raise CommandError(SYNTAX)
        n = _registered(c, args[0])
        _write(c, [b"HSET", DB_META % n, b"visibility", visibility])
        return OK
    return handler


def key_create(c: Any, args: list[bytes]) -> Any:
    if len(args) != 2:
        raise CommandError(SYNTAX)
    n = _registered(c, args[0])
    perm = args[1].lower().decode(errors="replace")
    if perm not in PERMS:
        raise CommandError(BAD_PERM)
    key = new_access_key()
    _write(c, [b"HSET", DB_KEYS % n, key_hash(key), perm.encode()])
    return key


def key_list(c: Any, args: list[bytes]) -> Any:
    if len(args) != 1:
        raise CommandError(SYNTAX)
    n = _registered(c, args[0])
    keys = _registry(c).get_typed(DB_KEYS % n, dict) or {}
    return [[h[:ID_CHARS], perm] for h, perm in sorted(keys.items())]


def key_delete(c: Any, args: list[bytes]) -> Any:
    if len(args) != 2:
        raise CommandError(SYNTAX)
    n = _registered(c, args[0])
    keys = _registry(c).get_typed(DB_KEYS % n, dict) or {}
    wanted = key_hash(args[1])
    hits = [h for h in keys if h == wanted or (len(args[1]) >= 8 and h.startswith(args[1]))]
    if len(hits) != 1:
        return 0
    _write(c, [b"HDEL", DB_KEYS % n, hits[0]])
    return 1


def _pubkey_db(c: Any, raw: bytes) -> int:
    """A registered database, or 0 for the server admin (admin on 0 = server admin)."""
    if raw == b"0" and c.admin:
        return 0
    return _registered(c, raw)


def pubkey_add(c: Any, args: list[bytes]) -> Any:
    if len(args) != 3:
        raise CommandError(SYNTAX)
    n = _pubkey_db(c, args[0])
    if not pubkeys.valid_public_key(args[1]):
        raise CommandError(BAD_PUBKEY)
    perm = args[2].lower().decode(errors="replace")
    if perm not in PUBKEY_PERMS:
        raise CommandError(BAD_PUBKEY_PERM)
    _write(c, [b"HSET", DB_PUBKEYS % n, args[1].lower(), perm.encode()])
    return OK


def pubkey_list(c: Any, args: list[bytes]) -> Any:
    if len(args) != 1:
        raise CommandError(SYNTAX)
    n = _pubkey_db(c, args[0])
    keys = _registry(c).get_typed(DB_PUBKEYS % n, dict) or {}
    return [[k, perm] for k, perm in sorted(keys.items())]


def pubkey_delete(c: Any, args: list[bytes]) -> Any:
    if len(args) != 2:
        raise CommandError(SYNTAX)
    n = _pubkey_db(c, args[0])
    keys = _registry(c).get_typed(DB_PUBKEYS % n, dict) or {}
    if args[1].lower() not in keys:
        return 0
    _write(c, [b"HDEL", DB_PUBKEYS % n, args[1].lower()])
    return 1


def db_info(c: Any, args: list[bytes]) -> Any:
    if len(args) != 1:
        raise CommandError(SYNTAX)
    n = _registered(c, args[0])
    meta = _meta(c, n) or {}
    registry = _registry(c)
    store = c.engine.keyspace.dbs[n]
    extras = store.extras
    return [b"db", n, b"visibility", meta.get(b"visibility", b"private"),
            b"created", int(meta.get(b"created", b"0")),
            b"access_keys", len(registry.get_typed(DB_KEYS % n, dict) or {}),
            b"public_keys", len(registry.get_typed(DB_PUBKEYS % n, dict) or {}),
            b"keys", store.size(),
            b"indexes", sorted(extras.get("ft") or ()),
            b"vector_sets", sorted(extras.get("vec") or ())]


def help_(c: Any, args: list[bytes]) -> Any:
    return list(HERODB_HELP)


SUBCOMMANDS = {
    b"DBCREATE": db_create, b"DBLIST": db_list, b"DBDELETE": db_delete,
    b"DBPUBLIC": _set_visibility(b"public"), b"DBPRIVATE": _set_visibility(b"private"),
    b"KEYCREATE": key_create, b"KEYLIST": key_list, b"KEYDELETE": key_delete, b"HELP": help_,
    b"PUBKEYADD": pubkey_add, b"PUBKEYLIST": pubkey_list, b"PUBKEYDELETE": pubkey_delete,
    b"DBINFO": db_info,
}
# what an ed25519 key with `admin` on database n may do (to n only)
DB_SCOPED = frozenset({b"DBPUBLIC", b"DBPRIVATE", b"KEYCREATE", b"KEYLIST", b"KEYDELETE",
                       b"PUBKEYADD", b"PUBKEYLIST", b"PUBKEYDELETE", b"DBINFO"})
