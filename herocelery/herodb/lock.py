"""One HeroDB per data directory: an exclusive `flock` on `<dir>/herodb.lock`.

Two servers appending to one log corrupt it (interleaved frames, a "torn" tail that is in
fact the other server's data). So a HeroDB started with a data directory takes this lock
before it opens the log and holds it while it runs; the kernel drops it when the process
dies, however it dies, so a stale lock never blocks a restart. A second HeroDB on the same
directory refuses with one line naming the running one's pid.

The file also says where the holder listens (`{"pid": ..., "address": "host:port"}`), so a
program on the same machine can find a running HeroDB of a directory (`holder`).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from .errors import ConfigError

LOCK_FILE = "herodb.lock"
PROBE_GRACE_S = 0.3
LOCKED = ("{dir} is in use by another HeroDB (pid {pid}); two servers on one data directory "
          "would corrupt its log: stop that one first, or use another --dir")


class DirLocked(ConfigError):
    """Another HeroDB holds the data directory."""

    def __init__(self, message: str, pid: int | None) -> None:
        super().__init__(message)
        self.pid = pid


@dataclass(frozen=True)
class Holder:
    """The HeroDB that holds a data directory: its pid and, once it listens, its address."""

    pid: int | None
    address: str | None


class DirLock:
    """The exclusive lock of one data directory, held from `acquire` until `release` (or
    the end of the process)."""

    def __init__(self, data_dir: Path) -> None:
        self.path = Path(data_dir) / LOCK_FILE
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock or raise DirLocked naming the holder's pid. Never blocks."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        f = os.fdopen(fd, "r+")
        # `holder` takes a shared lock for an instant: a few tries tell it from a server
        deadline = time.monotonic() + PROBE_GRACE_S
        while True:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    f.close()
                    pid = _read(self.path).pid
                    raise DirLocked(LOCKED.format(dir=self.path.parent, pid=pid or "?"),
                                    pid) from None
                time.sleep(0.02)
        self._file = f
        self._write(None)

    def note_address(self, address: str) -> None:
        """Record where this server listens (for `holder`)."""
        if self._file is not None:
            self._write(address)

    def _write(self, address: str | None) -> None:
        assert self._file is not None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(json.dumps({"pid": os.getpid(), "address": address}))
        self._file.flush()

    def release(self) -> None:
        if self._file is not None:
            self._file.seek(0)
            self._file.truncate()
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()
            self._file = None


def holder(data_dir: Path) -> Holder | None:
    """The running HeroDB holding `data_dir`, or None when no process holds it."""
    path = Path(data_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    with os.fdopen(fd) as f:
        try:
            # a shared lock is refused only while some HeroDB holds the exclusive one
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(path)
        fcntl.flock(f, fcntl.LOCK_UN)
    return None


def _read(path: Path) -> Holder:
    try:
        data = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        data = {}
    pid = data.get("pid")
    address = data.get("address")
    return Holder(pid if isinstance(pid, int) else None,
                  address if isinstance(address, str) else None)
