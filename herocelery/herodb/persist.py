"""The append-only log: every write that changed data, replayed at start, compacted when large.

Guarantees:
- `flush()` hands every appended record to the operating system before it returns (one frame
  per batch), so a killed server (kill -9) loses nothing it acknowledged, whatever the policy;
  with `always` the frame is also fsynced, so acknowledged means on disk.
- A torn or corrupt *final* frame (a crash in the middle of a write) is dropped with a warning
  and cut off the file; the server starts. Damage followed by more valid-looking data is a
  `LogError` naming the file and offset (that is not a crash, it is a broken file).
- With a key, every frame is sealed with ChaCha20-Poly1305 (random 96-bit nonce, frame number
  as associated data, so frames cannot be reordered or dropped unnoticed); the header holds
  the scrypt salt and a sealed check token, so a wrong key is a `LogError` at open time.
- `rewrite()` replaces the log by a dump of the live data atomically (temp file, fsync,
  rename, fsync of the directory); records appended while the new file is written in the
  background are added to both files, so none is lost.

File layout: header `HERODBLOG1` + mode byte (`P` plain, `E` encrypted) [+ 16-byte salt +
nonce + sealed check token]; then frames `<u32 length><u32 crc32><payload>` (plain) or
`<u32 length><12-byte nonce><ciphertext+tag>` (encrypted). A payload is a run of records
`<u16 db><u32 argc>(<u32 len><bytes>)*`.
"""
from __future__ import annotations

import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from . import fastpath
from .errors import HeroDBError

log = logging.getLogger("herocelery.herodb.persist")

MAGIC = b"HERODBLOG1"
PLAIN, SEALED = b"P", b"E"
SALT_BYTES, NONCE_BYTES, TAG_BYTES = 16, 12, 16
CHECK_TOKEN = b"herodb key check v1"
MAX_FRAME_BYTES = 1 << 31
FSYNC_POLICIES = ("always", "everysec", "no")
_U32 = struct.Struct("<I")
_REC = struct.Struct("<HI")
_PLAIN_HEAD = struct.Struct("<II")
_SMALL_LENGTHS = tuple(_U32.pack(n) for n in range(256))  # most arguments are short

WRONG_KEY = "wrong encryption key for {path}"
NEEDS_KEY = "{path} is encrypted: give the encryption key to open it"
NOT_ENCRYPTED = ("{path} is not encrypted but an encryption key was given: start without the "
                 "key, or move the file away to start an encrypted log")
NOT_A_LOG = "{path} is not a HeroDB log (bad header)"
CORRUPT = "{path}: corrupt record at offset {offset} followed by more data ({why})"
BAD_POLICY = "appendfsync must be one of always, everysec, no (got {policy!r})"


class LogError(HeroDBError):
    """The log cannot be opened or read: wrong key, not a log, corruption in the middle."""


def derive_key(passphrase: bytes, salt: bytes) -> bytes:
    """32-byte key from the user's passphrase (scrypt, n=2**14, r=8, p=1)."""
    return Scrypt(salt=salt, length=32, n=2 ** 14, r=8, p=1).derive(passphrase)


def encode_records(records: Iterable[tuple[int, list[bytes]]]) -> bytes:
    """Records as one payload (pure; the inverse of `decode_records`)."""
    parts: list[bytes] = []
    add = parts.append
    small, u32, rec = _SMALL_LENGTHS, _U32.pack, _REC.pack
    for db, argv in records:
        add(rec(db, len(argv)))
        for arg in argv:
            n = len(arg)
            add(small[n] if n < 256 else u32(n))
            add(arg)
    return b"".join(parts)


def decode_records(payload: bytes) -> Iterator[tuple[int, list[bytes]]]:
    """Records of one payload; raises ValueError when the payload is malformed."""
    view, pos, end = memoryview(payload), 0, len(payload)
    while pos < end:
        if pos + _REC.size > end:
            raise ValueError("truncated record header")
        db, argc = _REC.unpack_from(view, pos)
        pos += _REC.size
        argv: list[bytes] = []
        for _ in range(argc):
            if pos + 4 > end:
                raise ValueError("truncated argument length")
            (n,) = _U32.unpack_from(view, pos)
            pos += 4
            if pos + n > end:
                raise ValueError("truncated argument")
            argv.append(bytes(view[pos:pos + n]))
            pos += n
        yield db, argv


class _Codec:
    """Frames and the header for one file: plain (crc32) or sealed (AEAD)."""

    def __init__(self, aead: ChaCha20Poly1305 | None, salt: bytes = b"") -> None:
        self.aead, self.salt = aead, salt

    def header(self) -> bytes:
        if self.aead is None:
            return MAGIC + PLAIN
        nonce = os.urandom(NONCE_BYTES)
        return MAGIC + SEALED + self.salt + nonce + self.aead.encrypt(nonce, CHECK_TOKEN, MAGIC)

    def frame(self, payload: bytes, index: int) -> bytes:
        if self.aead is None:
            return _PLAIN_HEAD.pack(len(payload) + 4, zlib.crc32(payload)) + payload
        nonce = os.urandom(NONCE_BYTES)
        sealed = self.aead.encrypt(nonce, payload, _U32.pack(index & 0xFFFFFFFF))
        return _U32.pack(NONCE_BYTES + len(sealed)) + nonce + sealed

    def open(self, body: bytes, index: int) -> bytes:
        """The payload of a frame body; raises ValueError when it does not check."""
        if self.aead is None:
            (crc,) = _U32.unpack_from(body, 0)
            payload = body[4:]
            if zlib.crc32(payload) != crc:
                raise ValueError("checksum mismatch")
            return payload
        try:
            return self.aead.decrypt(body[:NONCE_BYTES], body[NONCE_BYTES:],
                                     _U32.pack(index & 0xFFFFFFFF))
        except InvalidTag:
            raise ValueError("authentication failed") from None

    def min_body(self) -> int:
        return 4 if self.aead is None else NONCE_BYTES + TAG_BYTES


def _read_header(path: Path, data: bytes, passphrase: bytes | None) -> tuple[_Codec, int]:
    """The codec of an existing file and where its frames start; LogError when unusable."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + 1:
        raise LogError(NOT_A_LOG.format(path=path))
    mode, pos = data[len(MAGIC):len(MAGIC) + 1], len(MAGIC) + 1
    if mode == PLAIN:
        if passphrase:
            raise LogError(NOT_ENCRYPTED.format(path=path))
        return _Codec(None), pos
    if mode != SEALED:
        raise LogError(NOT_A_LOG.format(path=path))
    if not passphrase:
        raise LogError(NEEDS_KEY.format(path=path))
    check_len = NONCE_BYTES + len(CHECK_TOKEN) + TAG_BYTES
    if len(data) < pos + SALT_BYTES + check_len:
        raise LogError(NOT_A_LOG.format(path=path))
    salt = data[pos:pos + SALT_BYTES]
    pos += SALT_BYTES
    aead = ChaCha20Poly1305(derive_key(passphrase, salt))
    nonce, sealed = data[pos:pos + NONCE_BYTES], data[pos + NONCE_BYTES:pos + check_len]
    try:
        if aead.decrypt(nonce, sealed, MAGIC) != CHECK_TOKEN:
            raise InvalidTag()
    except InvalidTag:
        raise LogError(WRONG_KEY.format(path=path)) from None
    return _Codec(aead, salt), pos + check_len


def _new_codec(passphrase: bytes | None) -> _Codec:
    if not passphrase:
        return _Codec(None)
    salt = os.urandom(SALT_BYTES)
    return _Codec(ChaCha20Poly1305(derive_key(passphrase, salt)), salt)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AppendLog:
    """The persistence object given to the server as `log` (see the module docstring).

    Call order: `load()` once (replays records), then `append()` after each write that changed
    data, `flush()` after each batch and before replies, `tick()` once a second,
    `rewrite(dump)` when `should_rewrite()` (or on BGREWRITEAOF), `close()` at the end.
    Not thread-safe: call it from the server's one event-loop thread.
    """

    def __init__(self, path: Path, fsync: str = "everysec", key: bytes | str | None = None, *,
                 rewrite_growth: float = 2.0, rewrite_min_bytes: int = 64 << 20,
                 records_per_frame: int = 512) -> None:
        if fsync not in FSYNC_POLICIES:
            raise LogError(BAD_POLICY.format(policy=fsync))
        self.path = Path(path)
        self.fsync = fsync
        self.rewrite_growth = rewrite_growth
        self.rewrite_min_bytes = rewrite_min_bytes
        self.records_per_frame = records_per_frame
        passphrase = key.encode() if isinstance(key, str) else key
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._batch: list[tuple[int, list[bytes]]] = []
        self._encode_native = fastpath.function("encode_records")  # None: encode_records alone
        self._fd: int | None = None
        self._index = 0                    # number of the next frame (AEAD associated data)
        self._size = 0
        self._base_size = 0                # size after the last rewrite (or at load)
        self._dirty = False
        self._unsynced = False
        self._fsyncer: threading.Thread | None = None
        self._rewriter: threading.Thread | None = None
        self._rewrite_result: tuple[int, int] | BaseException | None = None
        self._rewrite_pending: list[bytes] | None = None
        self.rewrites = 0
        if self.path.exists() and self.path.stat().st_size > 0:
            with open(self.path, "rb") as f:
                head = f.read(len(MAGIC) + 1 + SALT_BYTES + NONCE_BYTES + len(CHECK_TOKEN)
                              + TAG_BYTES)
            self._codec, self._start = _read_header(self.path, head, passphrase)
        else:
            self._codec = _new_codec(passphrase)
            header = self._codec.header()
            self._write_atomically(self.path, [header])
            self._start = len(header)

    # ---- start ---------------------------------------------------------------------
    def load(self) -> Iterator[tuple[int, list[bytes]]]:
        """Every record in the log, oldest first; a torn final frame is dropped and cut off."""
        size = self.path.stat().st_size
        pos, index = self._start, 0
        with open(self.path, "rb") as f:
            f.seek(pos)
            while pos < size:
                why, n, records = self._read_frame(f, index)
                if why is not None:
                    if pos + 4 + n < size and n >= self._codec.min_body():
                        raise LogError(CORRUPT.format(path=self.path, offset=pos, why=why))
                    log.warning("%s: dropped a torn final record at offset %d (%d bytes: %s)",
                                self.path, pos, size - pos, why)
                    break
                yield from records
                pos += 4 + n
                index += 1
        self._open_for_append(pos, index, truncate=pos < size)

    def _read_frame(self, f: BinaryIO, index: int
                    ) -> tuple[str | None, int, list[tuple[int, list[bytes]]]]:
        head = f.read(4)
        if len(head) < 4:
            return "truncated frame length", 0, []
        (n,) = _U32.unpack(head)
        if n < self._codec.min_body() or n > MAX_FRAME_BYTES:
            return f"bad frame length {n}", n, []
        body = f.read(n)
        if len(body) < n:
            return f"frame cut short ({len(body)} of {n} bytes)", n, []
        try:
            return None, n, list(decode_records(self._codec.open(body, index)))
        except ValueError as exc:
            return str(exc), n, []

    def _open_for_append(self, end: int, index: int, truncate: bool) -> None:
        fd = os.open(self.path, os.O_WRONLY)
        if truncate:
            os.ftruncate(fd, end)
            os.fsync(fd)
        os.lseek(fd, end, os.SEEK_SET)
        self._fd, self._index, self._size, self._base_size = fd, index, end, end

    def _ensure_open(self) -> int:
        if self._fd is None:
            for _ in self.load():
                pass
        assert self._fd is not None
        return self._fd

    # ---- writing -------------------------------------------------------------------
    def append(self, db: int, argv: list[bytes]) -> None:
        """Queue one write; it reaches the file at the next `flush()`."""
        self._batch.append((db, argv))

    def flush(self, sync: bool = True) -> None:
        """Write the queued records as one frame; with `always`, fsync before returning.

        `sync=False` (group commit) leaves the fsync of `always` to a later `sync()`: the
        server then holds the replies of every connection served in this loop iteration and
        sends them after one `sync()`, so acknowledged still means fsynced.
        """
        if self._rewriter is not None and not self._rewriter.is_alive():
            self._finish_rewrite()
        if not self._batch:
            return
        fd = self._ensure_open()
        encode_native = self._encode_native
        payload = encode_native(self._batch) if encode_native is not None else None
        if payload is None:
            payload = encode_records(self._batch)
        self._batch.clear()
        frame = self._codec.frame(payload, self._index)
        self._index += 1
        _write_all(fd, frame)
        self._size += len(frame)
        if self._rewrite_pending is not None:
            self._rewrite_pending.append(payload)
        if self.fsync != "always":
            self._dirty = True
        elif sync:
            os.fdatasync(fd)
        else:
            self._unsynced = True

    def set_fsync(self, policy: str) -> None:
        """CONFIG SET appendfsync: switch the policy (fsyncing what is pending first)."""
        if policy not in FSYNC_POLICIES:
            raise LogError(BAD_POLICY.format(policy=policy))
        self.sync()
        if self._fd is not None and self._dirty:
            os.fdatasync(self._fd)
            self._dirty = False
        self.fsync = policy

    def sync(self) -> None:
        """Fsync what `flush(sync=False)` wrote (no-op when nothing is pending)."""
        if self._unsynced and self._fd is not None:
            os.fdatasync(self._fd)
        self._unsynced = False

    def tick(self) -> None:
        """Once a second: fsync in the background (everysec), finish a finished rewrite."""
        self.flush()
        if self.fsync == "everysec" and self._dirty and self._fd is not None and not (
                self._fsyncer and self._fsyncer.is_alive()):
            self._dirty = False
            self._fsyncer = threading.Thread(target=_fsync_quietly, args=(self._fd,),
                                             name="herodb-fsync", daemon=True)
            self._fsyncer.start()

    # ---- compaction ----------------------------------------------------------------
    @property
    def size(self) -> int:
        """Bytes in the log file now."""
        return self._size

    @property
    def rewriting(self) -> bool:
        return self._rewriter is not None

    def should_rewrite(self) -> bool:
        """True when the log grew past `rewrite_growth` × its size after the last rewrite."""
        return (self._rewriter is None and self._size >= self.rewrite_min_bytes
                and self._size >= self.rewrite_growth * max(self._base_size, 1))

    def rewrite(self, records: Iterable[tuple[int, list[bytes]]]) -> bool:
        """Start replacing the log by `records` (the live data); False if one is running.

        The records are encoded now (so the caller may change its data right after); the new
        file is written and fsynced in a background thread and swapped in by a later
        `flush()`/`tick()` (or `wait_rewrite()`), with the records appended meanwhile.
        """
        if self._rewriter is not None:
            return False
        self._ensure_open()
        self.flush()
        payloads = _chunked_payloads(records, self.records_per_frame)
        self._rewrite_pending = []
        self._rewrite_result = None
        self._rewriter = threading.Thread(target=self._write_new, args=(payloads,),
                                          name="herodb-rewrite", daemon=True)
        self._rewriter.start()
        return True

    def wait_rewrite(self) -> None:
        """Finish a running rewrite now (blocks until its file is written)."""
        if self._rewriter is not None:
            self._rewriter.join()
            self._finish_rewrite()

    def _tmp_path(self) -> Path:
        return self.path.with_name(self.path.name + ".rewrite.tmp")

    def _write_new(self, payloads: list[bytes]) -> None:
        tmp = self._tmp_path()
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                _write_all(fd, self._codec.header())
                for i, payload in enumerate(payloads):
                    _write_all(fd, self._codec.frame(payload, i))
                os.fsync(fd)
                self._rewrite_result = (len(payloads), os.lseek(fd, 0, os.SEEK_END))
            finally:
                os.close(fd)
        except BaseException as exc:  # reported by _finish_rewrite in the loop thread
            self._rewrite_result = exc

    def _finish_rewrite(self) -> None:
        assert self._rewriter is not None
        self._rewriter.join()
        result, pending = self._rewrite_result, self._rewrite_pending or []
        self._rewriter, self._rewrite_pending, self._rewrite_result = None, None, None
        tmp = self._tmp_path()
        if not isinstance(result, tuple):
            log.error("%s: log rewrite failed, keeping the old log: %s", self.path, result)
            tmp.unlink(missing_ok=True)
            return
        index, size = result
        fd = os.open(tmp, os.O_WRONLY | os.O_APPEND)
        for payload in pending:
            frame = self._codec.frame(payload, index)
            _write_all(fd, frame)
            index += 1
            size += len(frame)
        os.fsync(fd)
        os.replace(tmp, self.path)
        _fsync_dir(self.path)
        self._close_fd()
        self._fd, self._index, self._size, self._base_size = fd, index, size, size
        self.rewrites += 1
        log.info("%s: log rewritten (%d bytes)", self.path, size)

    # ---- end -----------------------------------------------------------------------
    def close(self) -> None:
        """Flush, finish a running rewrite, fsync and close. Idempotent."""
        if self._fd is None and not self._batch:
            return
        self.flush()
        self.wait_rewrite()
        if self._fd is not None:
            os.fsync(self._fd)
        self._close_fd()

    def _close_fd(self) -> None:
        if self._fsyncer is not None:
            self._fsyncer.join()
            self._fsyncer = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @staticmethod
    def _write_atomically(path: Path, chunks: list[bytes]) -> None:
        tmp = path.with_name(path.name + ".new.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            for chunk in chunks:
                _write_all(fd, chunk)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        _fsync_dir(path)


def _chunked_payloads(records: Iterable[tuple[int, list[bytes]]], per_frame: int) -> list[bytes]:
    payloads, chunk = [], []
    for record in records:
        chunk.append(record)
        if len(chunk) >= per_frame:
            payloads.append(encode_records(chunk))
            chunk = []
    if chunk:
        payloads.append(encode_records(chunk))
    return payloads


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _fsync_quietly(fd: int) -> None:
    try:
        os.fdatasync(fd)
    except OSError as exc:  # the fd may have been swapped by a rewrite meanwhile
        log.debug("background fsync failed: %s", exc)
