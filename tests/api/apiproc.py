"""Starting a real API server (`herocelery api serve`) as a subprocess for tests, through the
one orchestrator (herocelery/launcher.py) as `up` starts its API."""
from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from herocelery import launcher


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
    once it says its address in its log."""
    proc = launcher.spawn("api", "-", ["api", "serve", "--port", "0", *extra], settings, log,
                          env=env)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        failed = proc.failure()
        if failed is not None:
            raise AssertionError(f"{failed}: {log.read_text()[-2000:]}")
        with open(log, "rb") as f:
            f.seek(proc.log_offset)
            m = re.search(rb"listening on (http://\S+)", f.read())
        if m:
            return ApiProc(proc.popen, m.group(1).decode(), log)
        time.sleep(0.05)
    proc.stop()
    raise AssertionError(f"api server did not start in {timeout_s}s: {log.read_text()[-2000:]}")
