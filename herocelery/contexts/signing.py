"""Ed25519 signatures over a canonical form of a job.

The canonical form is compact JSON with sorted keys of the fields that say what runs where:
version, context, job name, runner, script, args, env and prerequisites (sorted). Signatures
themselves, ids, node, timeouts and retries are excluded, so a signed job spec stays valid
when it is stored and scheduled. A signature record is
`{"alg": "ed25519", "public_key": <64 hex>, "signature": <128 hex>}`; a signatory is the hex
public key.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ..errors import ConfigError

ALG = "ed25519"
VERSION = 1
BAD_KEY_FILE = "{path}: not an ed25519 private key (PEM, or 64 hex characters of the seed)"


def canonical(*, context: str, name: str, runner: str, script: str,
              args: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None,
              after: Iterable[str] = ()) -> bytes:
    """The bytes that are signed. Pure; equal jobs give equal bytes."""
    doc = {"v": VERSION, "context": context, "name": name, "runner": runner, "script": script,
           "args": dict(args or {}), "env": dict(env or {}), "after": sorted(after)}
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def job_bytes(job: Any, context: str | None = None) -> bytes:
    """Canonical bytes of a stored Job (context_id) or a JobSpec with `name` and `context`."""
    return canonical(context=context if context is not None else job.context_id,
                     name=job.name, runner=job.runner, script=job.script, args=job.args,
                     env=job.env, after=job.after)


@dataclass(frozen=True)
class SigningKey:
    """A private ed25519 key; `public_hex` is the signatory name."""

    key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def load(cls, source: str | Path | SigningKey | Ed25519PrivateKey) -> SigningKey:
        """From a key object, a PEM file, or a file holding the 32-byte seed as hex."""
        if isinstance(source, SigningKey):
            return source
        if isinstance(source, Ed25519PrivateKey):
            return cls(source)
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read signing key: {exc.strerror}") from None
        try:
            if b"PRIVATE KEY" in data:
                key = serialization.load_pem_private_key(data, password=None)
                if not isinstance(key, Ed25519PrivateKey):
                    raise ValueError
                return cls(key)
            return cls(Ed25519PrivateKey.from_private_bytes(bytes.fromhex(data.decode().strip())))
        except (ValueError, TypeError, UnicodeDecodeError):
            raise ConfigError(BAD_KEY_FILE.format(path=path)) from None

    @property
    def public_hex(self) -> str:
        return self.key.public_key().public_bytes(serialization.Encoding.Raw,
                                                  serialization.PublicFormat.Raw).hex()

    def save(self, path: str | Path) -> None:
        """Write the key as unencrypted PKCS#8 PEM, readable by the owner only."""
        pem = self.key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(pem)

    def sign(self, data: bytes) -> dict[str, str]:
        return {"alg": ALG, "public_key": self.public_hex, "signature": self.key.sign(data).hex()}


def verify_one(signature: object, data: bytes) -> str | None:
    """Why this signature does not sign `data` (None: it does). Pure."""
    if not isinstance(signature, Mapping):
        return "is not an object with alg, public_key and signature"
    if signature.get("alg", ALG) != ALG:
        return f"has unsupported alg {signature.get('alg')!r} (only {ALG})"
    try:
        public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(str(signature["public_key"])))
        raw = bytes.fromhex(str(signature["signature"]))
    except (KeyError, ValueError):
        return "has a malformed public_key or signature (hex expected)"
    try:
        public.verify(raw, data)
    except InvalidSignature:
        return (f"by {str(signature['public_key'])[:16]}... does not match the job "
                "(forged, or the job was changed after signing)")
    return None


def check(signatures: Iterable[Mapping[str, Any]], data: bytes, *, required: bool,
          signers: frozenset[str] = frozenset(), context: str = "") -> tuple[list[str], str | None]:
    """(signatories, refusal). Every signature present must verify; when `required`, at least
    one must, and when `signers` is given, at least one valid signatory must be in it. Pure."""
    signatories: list[str] = []
    for i, sig in enumerate(signatures, 1):
        why = verify_one(sig, data)
        if why is not None:
            return [], f"signature {i} {why}"
        signatories.append(str(sig["public_key"]))
    if required and not signatories:
        return [], f"context {context!r} requires signed jobs and this job has no signature"
    if required and signers and not set(signatories) & signers:
        return [], (f"context {context!r} accepts signatures only from its signers; none of "
                    f"{', '.join(s[:16] + '...' for s in signatories)} is one")
    return signatories, None


def sign_spec(spec: Any, key: Any) -> Any:
    """A copy of a FlowSpec with every job signed by `key` (a SigningKey or key file)."""
    signer = SigningKey.load(key)
    jobs = {}
    for name, js in spec.jobs.items():
        sig = signer.sign(canonical(context=spec.context, name=name, runner=js.runner,
                                    script=js.script, args=js.args, env=js.env, after=js.after))
        kept = [s for s in js.signatures if s.get("public_key") != sig["public_key"]]
        jobs[name] = js.model_copy(update={"signatures": kept + [sig]})
    return spec.model_copy(update={"jobs": jobs})
