"""HeroDB as a real subprocess: start it, wait until it listens, kill -9 it, read its logs."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from support import wait_for

LISTENING = re.compile(rb"herodb listening on 127\.0\.0\.1:(\d+)")


@dataclass
class HeroDB:
    """One HeroDB subprocess; `out`/`err` are files holding what it printed."""

    proc: subprocess.Popen[bytes]
    dir: Path
    out: Path
    err: Path
    port: int = 0
    extra: tuple[str, ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def kill(self) -> None:
        """kill -9: no chance to flush or fsync anything."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def herodb_command(data_dir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "herocelery.herodb", "serve", "--port", "0",
            "--dir", str(data_dir), *extra]


def launch_herodb(data_dir: Path, *extra: str, logs: Path | None = None) -> HeroDB:
    """Start HeroDB (does not wait); see `start_herodb`."""
    logs = logs or Path(tempfile.mkdtemp(prefix="hc-herodb-logs-"))
    n = len(list(logs.glob("out*")))
    out, err = logs / f"out{n}", logs / f"err{n}"
    with open(out, "wb") as o, open(err, "wb") as e:
        proc = subprocess.Popen(herodb_command(data_dir, *extra), stdout=o, stderr=e,
                                stdin=subprocess.DEVNULL)
    return HeroDB(proc, data_dir, out, err, extra=extra)


def start_herodb(data_dir: Path, *extra: str, logs: Path | None = None,
                 timeout: float = 20.0) -> HeroDB:
    """Start HeroDB on a free port and wait until it says it listens."""
    server = launch_herodb(data_dir, *extra, logs=logs)

    def listening() -> int:
        if server.proc.poll() is not None:
            raise RuntimeError(f"herodb exited with {server.proc.returncode}: "
                               f"{server.stderr()[-2000:]}")
        m = LISTENING.search(server.out.read_bytes())
        return int(m.group(1)) if m else 0

    try:
        server.port = wait_for(listening, timeout, what="herodb to listen")
    except BaseException:
        server.stop()
        raise
    return server
