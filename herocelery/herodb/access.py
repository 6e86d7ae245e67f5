"""The Hero DB access model: an admin secret, public and private databases, access keys.

Given to the server as `access` only when an admin secret is set; without it HeroDB is plain
Redis (everything allowed). Guarantees, with an admin secret:
- `AUTH <secret>` (or `AUTH <user> <secret>`, `HELLO n AUTH <user> <secret>`) makes a
  connection admin: everything is allowed, database 0 (the admin database) included.
- Before that, only AUTH, HELLO, PING, QUIT, RESET and SELECT are answered; anything else is
  `-NOAUTH`. HELLO without AUTH only negotiates the protocol (redis-py sends it first).
- A non-admin gets into database n ≥ 1 by `SELECT n` when n is public, by `SELECT n KEY k`
  with an access key of n, or by `AUTH n k` (username = database number; that is how a
  redis-py URL `redis://n:k@host/n` gets in). Database 0 is never open to non-admins.
- A key carries `read` or `readwrite`; a write through a read key is `-NOPERM`. Commands
  that reach other databases or the server (FLUSHALL, SWAPDB, MOVE, COPY, CONFIG, HERODB ...)
  are admin only. Permissions are re-read from the registry on every command, so deleting a
  key or making a database private takes effect at once for connected clients.
- The registry lives in database 0 (`herodb:db:<n>` and `herodb:keys:<n>` hashes) and is
  persisted by the log like any data; only SHA-256 hashes of access keys are stored.
- `CHALLENGE` then `AUTH <ed25519 public key> <signature>` logs in with a key pair; the
  public key's per-database read / readwrite / admin rights (`herodb:pubkeys:<n>`) apply
  (pubkeys.py).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from . import pubkeys
from .pubkeys import PUBKEY_GRANT  # ed25519 login (pubkeys.py)

DB_META = b"herodb:db:%d"          # hash: visibility public|private, created <unix s>
DB_KEYS = b"herodb:keys:%d"        # hash: sha256(key) hex -> read|readwrite
PERMS = ("read", "readwrite")

PREAUTH = frozenset({"AUTH", "HELLO", "PING", "QUIT", "RESET", "SELECT", "CHALLENGE"})
ADMIN_ONLY = frozenset({"FLUSHALL", "SWAPDB", "MOVE", "COPY", "CONFIG", "SAVE", "BGSAVE",
                        "BGREWRITEAOF", "SHUTDOWN", "DEBUG", "MONITOR", "HERODB", "LASTSAVE"})
WRITE_EXTRA = frozenset({"PUBLISH"})

NOAUTH = "NOAUTH Authentication required."
WRONGPASS = "WRONGPASS invalid username-password pair or user is disabled."
ADMIN_DB = "NOPERM database 0 is the admin database: AUTH with the admin secret first"
ADMIN_CMD = "NOPERM '{cmd}' needs admin rights: AUTH with the admin secret first"
READ_ONLY = "NOPERM this connection has read-only access to database {db}: '{cmd}' writes"
NO_SUCH_DB = "NOPERM database {db} does not exist"
PRIVATE_DB = "NOPERM database {db} is private: use SELECT {db} KEY <access-key>"
BAD_KEY = "NOPERM invalid access key for database {db}"
NO_ACCESS = "NOPERM no access to database {db}: SELECT {db} KEY <access-key> first"
NOT_IN_TX = "NOPERM a non-admin connection cannot SELECT inside MULTI or a script"


def key_hash(key: bytes) -> bytes:
    """How an access key is stored: the hex SHA-256 of it (keys are 256-bit random tokens)."""
    return hashlib.sha256(key).hexdigest().encode()


def new_access_key() -> bytes:
    return secrets.token_hex(32).encode()


def decide(perm: str, authenticated: bool, cmd: str, flags: frozenset[str], db: int
           ) -> str | None:
    """Pure decision for one non-admin command: the error reply text, or None when allowed."""
    if cmd in PREAUTH:
        return None
    if perm == "admin":  # an ed25519 key's admin right on this database (pubkeys.py)
        if cmd == "HERODB":
            return None  # the handler allows only this database's access subcommands
        perm = "readwrite"
    if perm not in PERMS:
        if not authenticated:
            return NOAUTH
        return ADMIN_DB if db == 0 else NO_ACCESS.format(db=db)
    if cmd in ADMIN_ONLY or "admin" in flags:
        return ADMIN_CMD.format(cmd=cmd.lower())
    if perm == "read" and ("write" in flags or cmd in WRITE_EXTRA):
        return READ_ONLY.format(db=db, cmd=cmd.lower())
    return None


class Access:
    """The access object given to the server (see the module docstring)."""

    def __init__(self, admin_secret: str | bytes) -> None:
        secret = admin_secret.encode() if isinstance(admin_secret, str) else admin_secret
        if not secret:
            raise ValueError("the admin secret must not be empty")
        self._secret = secret

    # ---- hooks called by the engine -----------------------------------------------------
    def on_connect(self, conn: Any) -> None:
        conn.admin, conn.perm, conn.authenticated = False, "none", False
        conn.grants = {}  # db -> sha256 of the access key that opened it (None: public)

    def check(self, conn: Any, cmd_name: str, flags: frozenset[str], db: int) -> str | None:
        """The error reply text for this command on this connection, or None if allowed."""
        if conn.admin:
            return None
        conn.perm = self.permission(conn, db)
        return decide(conn.perm, conn.authenticated, cmd_name, flags, db)

    # ---- used by AUTH, HELLO ... AUTH and SELECT (commands/admin.py) --------------------------
    def auth(self, conn: Any, username: bytes | None, password: bytes) -> str | None:
        """AUTH: the admin secret makes the connection admin; `AUTH n key` opens database n."""
        if hmac.compare_digest(password, self._secret) and (
                username is None or not username.isdigit()):
            conn.admin, conn.authenticated, conn.perm = True, True, "readwrite"
            return None
        if username is not None and pubkeys.looks_like_login(username, password):
            return pubkeys.login(self, conn, username, password)
        if username is not None and username.isdigit():
            return self.grant(conn, int(username), password)
        return WRONGPASS

    def grant(self, conn: Any, db: int, key: bytes | None) -> str | None:
        """Open database `db` to this connection (public, or with an access key)."""
        if conn.admin:
            return None
        if db == 0:
            return ADMIN_DB
        meta = self._meta(conn, db)
        if meta is None:
            return NO_SUCH_DB.format(db=db)
        if key is None:
            if db in _grants(conn) and self.permission(conn, db) != "none":
                return None  # opened before (AUTH n key): SELECT n switches to it
            if meta.get(b"visibility") != b"public":
                return PRIVATE_DB.format(db=db)
            _grants(conn)[db] = None
        else:
            h = key_hash(key)
            keys = self._store(conn).get(DB_KEYS % db)
            if not isinstance(keys, dict) or h not in keys:
                return BAD_KEY.format(db=db)
            _grants(conn)[db] = h
        conn.authenticated = True
        return None

    def permission(self, conn: Any, db: int) -> str:
        """What a non-admin connection may do in `db` now: none, read or readwrite."""
        grants = _grants(conn)
        if db not in grants or db == 0:
            return "none"
        meta = self._meta(conn, db)
        if meta is None:
            return "none"
        if meta.get(b"visibility") == b"public":
            return "readwrite"
        h = grants[db]
        if h is not None and h.startswith(PUBKEY_GRANT):
            return pubkeys.permission(self._store(conn), db, h[len(PUBKEY_GRANT):])
        keys = self._store(conn).get(DB_KEYS % db)
        if h is None or not isinstance(keys, dict):
            return "none"
        perm = keys.get(h, b"none").decode()
        return perm if perm in PERMS else "none"

    def may_open(self, conn: Any, db: int) -> bool:
        """Whether this connection may use database `db` now (opened with a key, or public):
        what INFO keyspace and the scoped pub/sub views show it."""
        if conn.admin:
            return True
        if db == 0:
            return False
        if self.permission(conn, db) != "none":
            return True
        meta = self._meta(conn, db)
        return meta is not None and meta.get(b"visibility") == b"public"

    # ---- registry reads ---------------------------------------------------------------------
    @staticmethod
    def _store(conn: Any) -> Any:
        return conn.engine.keyspace.dbs[0]

    def _meta(self, conn: Any, db: int) -> dict[bytes, bytes] | None:
        meta = self._store(conn).get(DB_META % db)
        return meta if isinstance(meta, dict) else None


def _grants(conn: Any) -> dict[int, bytes | None]:
    grants = getattr(conn, "grants", None)
    if grants is None:
        grants = conn.grants = {}
    return grants
