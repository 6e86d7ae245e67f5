"""The cryptography behind SYM and AGE (pynacl, pyrage) and the sealing of named keys.

Pure helpers (no server state): symmetric XChaCha20-Poly1305 (`sym_*`), age X25519
encryption in the age file format (`age_*`, ASCII-armored so the output is a `.age` file any age
tool reads), ed25519 signatures (`sign`, `verify`). `Sealer` encrypts a named key's private
parts under a key-encryption key derived with scrypt from the server's secret, so the admin
database (and its log, and a dump of it) holds named keys only as ciphertext.
Every bad input is a `KeyringError` with one line saying what is wrong.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
from typing import Any

import nacl.exceptions
import nacl.secret
import nacl.signing
import nacl.utils
import pyrage
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pyrage import x25519

ARMOR = b"-----BEGIN AGE ENCRYPTED FILE-----"
AGE_MAGIC = b"age-encryption.org/"
CHECK = b"herodb keyring v1"


class KeyringError(ValueError):
    """Bad key, bad ciphertext or a wrong secret; the message names which."""


def b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def unb64(text: bytes, what: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise KeyringError(f"{what} is not valid base64") from None


# ---- SYM: XChaCha20-Poly1305 ---------------------------------------------------------------------
def sym_keygen() -> bytes:
    return b64(nacl.utils.random(nacl.secret.Aead.KEY_SIZE))


def _sym_key(key_b64: bytes) -> nacl.secret.Aead:
    key = unb64(key_b64, "the key")
    if len(key) != nacl.secret.Aead.KEY_SIZE:
        raise KeyringError(f"the key must be {nacl.secret.Aead.KEY_SIZE} bytes (base64), "
                           f"got {len(key)}")
    return nacl.secret.Aead(key)


def sym_encrypt(key_b64: bytes, message: bytes) -> bytes:
    """base64(24-byte random nonce + ciphertext + 16-byte tag)."""
    return b64(bytes(_sym_key(key_b64).encrypt(message)))


def sym_decrypt(key_b64: bytes, sealed_b64: bytes) -> bytes:
    box = _sym_key(key_b64)
    sealed = unb64(sealed_b64, "the ciphertext")
    try:
        return bytes(box.decrypt(sealed))
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        raise KeyringError("the ciphertext does not decrypt with this key (wrong key, "
                           "or it was changed)") from None


# ---- AGE: X25519 in the age format; ed25519 signatures ---------------------------------------
def age_genenc() -> tuple[bytes, bytes]:
    """(recipient `age1...`, identity `AGE-SECRET-KEY-1...`)."""
    ident = x25519.Identity.generate()
    return str(ident.to_public()).encode(), str(ident).encode()


def _recipient(text: bytes) -> Any:
    try:
        return x25519.Recipient.from_str(text.decode())
    except (pyrage.RecipientError, UnicodeDecodeError, ValueError):
        raise KeyringError("not an age X25519 recipient (age1...)") from None


def _identity(text: bytes) -> Any:
    try:
        return x25519.Identity.from_str(text.decode())
    except (pyrage.IdentityError, UnicodeDecodeError, ValueError):
        raise KeyringError("not an age X25519 identity (AGE-SECRET-KEY-1...)") from None


def age_encrypt(recipient: bytes, message: bytes) -> bytes:
    """An ASCII-armored age file: `age -d`, `rage -d` and `pyrage.decrypt` read it."""
    return bytes(pyrage.encrypt(message, [_recipient(recipient)], armored=True))


def age_decrypt(identity: bytes, ciphertext: bytes) -> bytes:
    """Decrypt an age file: armored, binary, or base64 of binary."""
    return _age_decrypt(_identity(identity), ciphertext)


def _age_decrypt(ident: Any, ciphertext: bytes) -> bytes:
    data = ciphertext.strip()
    if not data.startswith(ARMOR) and not data.startswith(AGE_MAGIC):
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise KeyringError("not an age file (armored, binary or base64)") from None
    try:
        return bytes(pyrage.decrypt(data, [ident]))
    except (pyrage.DecryptError, ValueError, TypeError) as exc:
        raise KeyringError(f"the age file does not decrypt with this identity ({exc})") from None


def gensign() -> tuple[bytes, bytes]:
    """(verify key, signing key), both base64 of 32 bytes."""
    key = nacl.signing.SigningKey.generate()
    return b64(bytes(key.verify_key)), b64(bytes(key))


def _signing_key(key_b64: bytes) -> nacl.signing.SigningKey:
    raw = unb64(key_b64, "the signing key")
    if len(raw) != 32:
        raise KeyringError("a signing key is 32 bytes (base64)")
    return nacl.signing.SigningKey(raw)


def verify_key(key_b64: bytes) -> nacl.signing.VerifyKey:
    raw = unb64(key_b64, "the verify key")
    if len(raw) != 32:
        raise KeyringError("a verify key is 32 bytes (base64)")
    return nacl.signing.VerifyKey(raw)


def sign(key_b64: bytes, message: bytes) -> bytes:
    return b64(_signing_key(key_b64).sign(message).signature)


def verify(key_b64: bytes, message: bytes, signature_b64: bytes) -> bool:
    key = verify_key(key_b64)
    sig = unb64(signature_b64, "the signature")
    try:
        key.verify(message, sig)
        return True
    except (nacl.exceptions.BadSignatureError, ValueError, TypeError):
        return False


# ---- named keys -------------------------------------------------------------------------------
def new_named_key() -> tuple[dict[str, bytes], bytes]:
    """(public parts, private parts as JSON) of a fresh named key: an age X25519 identity for
    ENCRYPTNAME/DECRYPTNAME and an ed25519 key for SIGNNAME/VERIFYNAME."""
    recipient, identity = age_genenc()
    vk, sk = gensign()
    secret = json.dumps({"identity": identity.decode(), "signing": sk.decode()}).encode()
    return {"recipient": recipient, "verify": vk}, secret


def named_decrypt(secret: bytes, ciphertext: bytes) -> bytes:
    return _age_decrypt(_identity(json.loads(secret)["identity"].encode()), ciphertext)


def named_sign(secret: bytes, message: bytes) -> bytes:
    return sign(json.loads(secret)["signing"].encode(), message)


class Sealer:
    """XChaCha20-Poly1305 under a key derived from `secret` (scrypt n=2**14, r=8, p=1) and a
    salt kept in the admin database; `check` (a sealed token) tells a wrong secret at once."""

    def __init__(self, secret: bytes, salt: bytes) -> None:
        key = Scrypt(salt=salt, length=32, n=2 ** 14, r=8, p=1).derive(secret)
        self._box = nacl.secret.Aead(key)

    @staticmethod
    def new_salt() -> bytes:
        return os.urandom(16)

    def check_token(self) -> bytes:
        return self.seal(CHECK, b"check")

    def verify(self, token: bytes) -> bool:
        try:
            return self.open(token, b"check") == CHECK
        except KeyringError:
            return False

    def seal(self, data: bytes, context: bytes) -> bytes:
        """Sealed `data`, bound to `context` (the key's name: a sealed blob cannot be moved)."""
        return bytes(self._box.encrypt(data, context))

    def open(self, sealed: bytes, context: bytes) -> bytes:
        try:
            return bytes(self._box.decrypt(sealed, context))
        except (nacl.exceptions.CryptoError, ValueError, TypeError):
            raise KeyringError("a named key does not unseal: the server's secret (admin secret "
                               "or encryption key) is not the one it was sealed with") from None
