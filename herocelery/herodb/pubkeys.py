"""ed25519 login: `CHALLENGE` gives a connection a one-time nonce, `AUTH <public key> <signature>`
(also `HELLO 3 AUTH <public key> <signature>`) proves the caller holds the private key.

- The public key is 64 hex characters (32 bytes), the signature 128 hex characters: the
  ed25519 signature of the nonce exactly as CHALLENGE returned it (its 64 ASCII hex
  characters). A nonce serves one AUTH, right or wrong; the next needs a new CHALLENGE.
- Permissions live in the admin database, per database: `herodb:pubkeys:<n>` maps a public
  key to `read`, `readwrite` or `admin` (readwrite, and managing that database's access keys,
  public keys and visibility with HERODB). `admin` on database 0 makes the connection a server
  admin. They are read on every command, like access keys: revoking cuts connected clients.
- The secret-based AUTH is unchanged; this is one more way in (access.py decides).
"""
from __future__ import annotations

import re
import secrets
from typing import Any

DB_PUBKEYS = b"herodb:pubkeys:%d"  # hash: ed25519 public key hex -> read|readwrite|admin
PUBKEY_PERMS = ("read", "readwrite", "admin")  # admin: readwrite + manage that database
PUBKEY_GRANT = b"pk:"              # marks a grant made by an ed25519 login in conn.grants
HEX64 = re.compile(rb"[0-9a-fA-F]{64}\Z")
HEX128 = re.compile(rb"[0-9a-fA-F]{128}\Z")
NO_CHALLENGE = "WRONGPASS no challenge to answer: send CHALLENGE first (a nonce serves one AUTH)"
BAD_SIGNATURE = "WRONGPASS the signature does not verify for this public key and challenge"
NO_GRANT = "WRONGPASS this public key has no permission on any database"
NEEDS_NACL = "WRONGPASS ed25519 login needs the 'pynacl' package, which is not installed"


def looks_like_login(user: bytes, password: bytes) -> bool:
    """True when `AUTH user password` is a public key and a signature (not a key or secret)."""
    return bool(HEX64.match(user) and HEX128.match(password))


def valid_public_key(raw: bytes) -> bool:
    return bool(HEX64.match(raw))


def challenge(conn: Any) -> bytes:
    """A fresh nonce for this connection (replacing any earlier one)."""
    conn.nonce = secrets.token_hex(32).encode()
    return conn.nonce


def permission(store: Any, db: int, public_key: bytes) -> str:
    """What `public_key` may do in database `db` (none, read, readwrite or admin)."""
    keys = store.get(DB_PUBKEYS % db)
    if not isinstance(keys, dict):
        return "none"
    perm = keys.get(public_key.lower(), b"none").decode()
    return perm if perm in PUBKEY_PERMS else "none"


def login(access: Any, conn: Any, public_key: bytes, signature: bytes) -> str | None:
    """Check the signature over the connection's nonce; grant every database the key has a
    permission on. The error reply text, or None when logged in."""
    nonce, conn.nonce = getattr(conn, "nonce", None), None
    if nonce is None:
        return NO_CHALLENGE
    try:
        import nacl.exceptions
        import nacl.signing
    except ImportError:
        return NEEDS_NACL
    public_key = public_key.lower()
    try:
        nacl.signing.VerifyKey(bytes.fromhex(public_key.decode())).verify(
            nonce, bytes.fromhex(signature.decode()))
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return BAD_SIGNATURE
    store = conn.engine.keyspace.dbs[0]
    if permission(store, 0, public_key) == "admin":
        conn.admin, conn.authenticated, conn.perm = True, True, "readwrite"
        conn.pubkey = public_key
        return None
    grants = conn.grants if isinstance(getattr(conn, "grants", None), dict) else {}
    found = False
    for db in range(1, len(conn.engine.keyspace)):
        if permission(store, db, public_key) != "none":
            grants[db] = PUBKEY_GRANT + public_key
            found = True
    if not found:
        return NO_GRANT
    conn.grants = grants
    conn.authenticated = True
    conn.pubkey = public_key
    return None


__all__ = ["challenge", "login", "looks_like_login", "permission", "valid_public_key",
           "DB_PUBKEYS", "PUBKEY_GRANT", "PUBKEY_PERMS"]
