"""Crypto commands: SYM (XChaCha20-Poly1305) and AGE (age X25519 encryption, ed25519 signing),
with named keys the server keeps.

- `SYM KEYGEN | ENCRYPT key msg | DECRYPT key ct` and `AGE GENENC | ENCRYPT recipient msg |
  DECRYPT identity ct | GENSIGN | SIGN signkey msg | VERIFY verifykey msg sig` work on keys the
  caller holds; the server stores nothing.
- `AGE KEYGEN name` makes a named key (an age identity and an ed25519 key) that belongs to the
  selected database; `AGE ENCRYPTNAME | DECRYPTNAME | SIGNNAME | VERIFYNAME name ...`, `AGE LIST`
  (names and public parts) and `AGE DELETE name` use it. Private parts never leave the server
  through these commands: they are stored in the admin database (`herodb:agekey:<db>:<name>`)
  sealed by keyring.Sealer under a key derived from the admin secret (else the encryption key,
  else a random key file `<dir>/herodb.keyring`), so HGETALL, the log and its dumps show only
  ciphertext. Reading a key's public parts needs read access to the database; making, deleting,
  decrypting and signing need readwrite.
Without `pynacl`/`pyrage` the server starts and these commands answer one error naming them.
"""
from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import CommandError
from .admin import _write as registry_write
from .base import Command, registrar

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

MISSING = ("ERR SYM and AGE need the 'pynacl' and 'pyrage' packages, which are not installed "
           "(pip install 'pynacl>=1.5' 'pyrage>=1.1')")
KEYRING = b"herodb:keyring"              # hash: salt, check (in database 0)
NAMED = b"herodb:agekey:%d:%b"           # hash: recipient, verify, sealed, created
NAMED_PREFIX = b"herodb:agekey:%d:"
NAME_RE = re.compile(rb"[A-Za-z0-9_.\-]{1,64}\Z")
KEY_FILE = "herodb.keyring"
NO_KEY = "ERR no named key '{}' in database {}"
PRIVATE_USE = ("NOPERM this connection has read-only access to database {db}: 'age {sub}' "
               "uses a private key")


def _kr() -> Any:
    try:
        from .. import keyring
    except ImportError:
        raise CommandError(MISSING) from None
    return keyring


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    kr = _kr()
    try:
        return fn(*args)
    except kr.KeyringError as exc:
        raise CommandError(f"ERR {exc}") from None


# ---- SYM -------------------------------------------------------------------------------------
@command("SYM", -2, "fast")
def sym(c: Any, argv: list[bytes]) -> Any:
    kr = _kr()
    sub, args = argv[1].upper(), argv[2:]
    if sub == b"KEYGEN" and not args:
        return kr.sym_keygen()
    if sub == b"ENCRYPT" and len(args) == 2:
        return _call(kr.sym_encrypt, args[0], args[1])
    if sub == b"DECRYPT" and len(args) == 2:
        return _call(kr.sym_decrypt, args[0], args[1])
    raise CommandError("ERR usage: SYM KEYGEN | SYM ENCRYPT <key> <message> | "
                       "SYM DECRYPT <key> <ciphertext>")


# ---- AGE -------------------------------------------------------------------------------------
AGE_USAGE = ("ERR usage: AGE GENENC | ENCRYPT <recipient> <msg> | DECRYPT <identity> <ct> | "
             "GENSIGN | SIGN <signkey> <msg> | VERIFY <verifykey> <msg> <sig> | KEYGEN <name> | "
             "ENCRYPTNAME <name> <msg> | DECRYPTNAME <name> <ct> | SIGNNAME <name> <msg> | "
             "VERIFYNAME <name> <msg> <sig> | LIST | DELETE <name>")


@command("AGE", -2, "")
def age(c: Any, argv: list[bytes]) -> Any:
    kr = _kr()
    sub, args = argv[1].upper(), argv[2:]
    spec = AGE_SUBCOMMANDS.get(sub)
    if spec is None or len(args) != spec[0]:
        raise CommandError(AGE_USAGE)
    if spec[1] and not (c.admin or c.perm in ("readwrite", "admin")):
        raise CommandError(PRIVATE_USE.format(db=c.db, sub=sub.decode().lower()))
    return spec[2](c, kr, args)


def _genenc(c: Any, kr: Any, args: list[bytes]) -> Any:
    return list(kr.age_genenc())


def _gensign(c: Any, kr: Any, args: list[bytes]) -> Any:
    return list(kr.gensign())


def _encrypt(c: Any, kr: Any, args: list[bytes]) -> Any:
    return _call(kr.age_encrypt, args[0], args[1])


def _decrypt(c: Any, kr: Any, args: list[bytes]) -> Any:
    return _call(kr.age_decrypt, args[0], args[1])


def _sign(c: Any, kr: Any, args: list[bytes]) -> Any:
    return _call(kr.sign, args[0], args[1])


def _verify(c: Any, kr: Any, args: list[bytes]) -> Any:
    return int(_call(kr.verify, args[0], args[1], args[2]))


def _keygen(c: Any, kr: Any, args: list[bytes]) -> Any:
    name = _name(args[0])
    key = NAMED % (c.db, name)
    if c.engine.keyspace.dbs[0].get(key) is not None:
        raise CommandError(f"ERR named key '{name.decode()}' already exists in database {c.db}")
    public, secret = kr.new_named_key()
    sealed = _sealer(c, kr).seal(secret, key)
    registry_write(c, [b"HSET", key, b"recipient", public["recipient"], b"verify",
                       public["verify"], b"sealed", sealed, b"created",
                       str(int(time.time())).encode()])
    return [public["recipient"], public["verify"]]


def _delete(c: Any, kr: Any, args: list[bytes]) -> Any:
    key = NAMED % (c.db, _name(args[0]))
    if c.engine.keyspace.dbs[0].get(key) is None:
        return 0
    registry_write(c, [b"DEL", key])
    return 1


def _encryptname(c: Any, kr: Any, args: list[bytes]) -> Any:
    return _call(kr.age_encrypt, _named(c, args[0])[b"recipient"], args[1])


def _decryptname(c: Any, kr: Any, args: list[bytes]) -> Any:
    return _call(kr.named_decrypt, _unseal(c, kr, args[0]), args[1])


def _signname(c: Any, kr: Any, args: list[bytes]) -> Any:
    return _call(kr.named_sign, _unseal(c, kr, args[0]), args[1])


def _verifyname(c: Any, kr: Any, args: list[bytes]) -> Any:
    return int(_call(kr.verify, _named(c, args[0])[b"verify"], args[1], args[2]))


def _list(c: Any, kr: Any, args: list[bytes]) -> Any:
    prefix = NAMED_PREFIX % c.db
    store = c.engine.keyspace.dbs[0]
    out = []
    for key in sorted(k for k in store.keys() if k.startswith(prefix)):
        entry = store.get_typed(key, dict) or {}
        out.append([key[len(prefix):], entry.get(b"recipient"), entry.get(b"verify")])
    return out


# subcommand -> (number of arguments, needs readwrite, handler)
AGE_SUBCOMMANDS: dict[bytes, tuple[int, bool, Callable[[Any, Any, list[bytes]], Any]]] = {
    b"GENENC": (0, False, _genenc), b"ENCRYPT": (2, False, _encrypt),
    b"DECRYPT": (2, False, _decrypt), b"GENSIGN": (0, False, _gensign),
    b"SIGN": (2, False, _sign), b"VERIFY": (3, False, _verify),
    b"KEYGEN": (1, True, _keygen), b"DELETE": (1, True, _delete),
    b"ENCRYPTNAME": (2, False, _encryptname), b"DECRYPTNAME": (2, True, _decryptname),
    b"SIGNNAME": (2, True, _signname), b"VERIFYNAME": (3, False, _verifyname),
    b"LIST": (0, False, _list),
}


# ---- named keys in database 0 ------------------------------------------------------------------
def _name(raw: bytes) -> bytes:
    if not NAME_RE.match(raw):
        raise CommandError("ERR a key name is 1 to 64 letters, digits, '_', '.' or '-'")
    return raw


def _named(c: Any, raw: bytes) -> dict[bytes, bytes]:
    name = _name(raw)
    entry = c.engine.keyspace.dbs[0].get_typed(NAMED % (c.db, name), dict)
    if not entry:
        raise CommandError(NO_KEY.format(name.decode(), c.db))
    return entry


def _unseal(c: Any, kr: Any, raw: bytes) -> bytes:
    entry = _named(c, raw)
    return _call(_sealer(c, kr).open, entry[b"sealed"], NAMED % (c.db, raw))


def _sealer(c: Any, kr: Any) -> Any:
    """The Sealer for the salt stored in database 0 (made, with its salt, on first use)."""
    engine = c.engine
    store = engine.keyspace.dbs[0]
    ring = store.get_typed(KEYRING, dict)
    cached = engine.keyring
    if ring and cached is not None and cached[0] == ring.get(b"salt"):
        return cached[1]
    secret = _secret(engine)
    if not ring:
        salt = kr.Sealer.new_salt()
        sealer = kr.Sealer(secret, salt)
        registry_write(c, [b"HSET", KEYRING, b"salt", salt, b"check", sealer.check_token()])
    else:
        salt = ring[b"salt"]
        sealer = kr.Sealer(secret, salt)
        if not sealer.verify(ring.get(b"check", b"")):
            raise CommandError("ERR the named keys were sealed with another secret: start the "
                               "server with the admin secret (or encryption key) they were "
                               "made with")
    engine.keyring = (salt, sealer)
    return sealer


def _secret(engine: Any) -> bytes:
    """The admin secret, else the encryption key, else the data directory's key file (made
    on first use, mode 0600), else (in memory only) a random key for this process."""
    if engine.secret:
        return engine.secret
    log = engine.log
    if log is None or getattr(log, "path", None) is None:
        engine.secret = os.urandom(32)
        return engine.secret
    path = Path(log.path).parent / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    try:
        key = os.urandom(32)
        os.write(fd, key)
        os.fsync(fd)
    finally:
        os.close(fd)
    return key
