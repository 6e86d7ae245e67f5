"""Starting a real API server (`herocelery api serve`) as a subprocess for tests."""
from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass
class ApiProc:
    popen: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_api(settings, log: Path, *extra: str, env: dict[str, str] | None = None,
              timeout_s: float = 20.0) -> ApiProc:
    """`herocelery api serve --port 0` with the settings as HEROCELERY_* variables; returns
    once it prints its address."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    full_env.update(settings.to_env())
    full_env.update(env or {})
    err = open(log, "ab")
    popen = subprocess.Popen([sys.executable, "-m", "herocelery", "api", "serve", "--port", "0",
                              *extra], stdout=subprocess.PIPE, stderr=err,
                             stdin=subprocess.DEVNULL, env=full_env)
    err.close()
    assert popen.stdout is not None
    deadline = time.monotonic() + timeout_s
    buf = b""
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise AssertionError(f"api server exited {popen.returncode}: "
                                 f"{log.read_text()[-2000:]}")
        ready, _, _ = select.select([popen.stdout], [], [], 0.2)
        if ready:
            buf += os.read(popen.stdout.fileno(), 4096)
            m = re.search(rb"listening on (http://\S+)", buf)
            if m:
                return ApiProc(popen, m.group(1).decode(), log)
    popen.kill()
    raise AssertionError(f"api server did not start in {timeout_s}s: {log.read_text()[-2000:]}")
