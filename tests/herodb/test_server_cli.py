"""`python -m herocelery.herodb serve` as a parent process sees it: the port on stdout, a Unix
socket, a clean stop on SIGTERM, and one clear line (no traceback) for bad options."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import redis
from support import free_port, wait_for

SERVE = [sys.executable, "-m", "herocelery.herodb", "serve"]


def test_serve_prints_its_port_listens_on_a_unix_socket_and_stops_on_sigterm(tmp_path: Path
                                                                             ) -> None:
    sock = tmp_path / "h.sock"
    proc = subprocess.Popen([*SERVE, "--port", "0", "--unix-socket", str(sock)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = proc.stdout.readline().decode()  # type: ignore[union-attr]
        m = re.fullmatch(r"herodb listening on 127\.0\.0\.1:(\d+)\n", line)
        assert m, line
        assert redis.Redis(port=int(m.group(1))).set("k", "v")
        assert redis.Redis(unix_socket_path=str(sock)).get("k") == b"v"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        assert not sock.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_bad_option_is_one_clear_line() -> None:
    out = subprocess.run([*SERVE, "--appendfsync", "sometimes"], capture_output=True, timeout=30)
    assert out.returncode == 2 and b"sometimes" in out.stderr and b"Traceback" not in out.stderr


def test_a_port_in_use_is_one_clear_line(tmp_path: Path) -> None:
    first = subprocess.Popen([*SERVE, "--port", "0"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
    try:
        port = re.search(rb":(\d+)", first.stdout.readline()).group(1)  # type: ignore[union-attr]
        out = subprocess.run([*SERVE, "--port", port], capture_output=True, timeout=30)
        assert out.returncode == 1
        assert b"cannot listen on 127.0.0.1:" + port in out.stderr
        assert b"Traceback" not in out.stderr
    finally:
        first.terminate()
        first.wait(10)


def test_free_port_helper_and_server_agree() -> None:
    port = free_port()
    proc = subprocess.Popen([*SERVE, "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    try:
        assert proc.stdout.readline().decode().strip().endswith(f":{port}")  # type: ignore[union-attr]
        wait_for(lambda: redis.Redis(port=port).ping(), 10, what="ping")
    finally:
        proc.terminate()
        proc.wait(10)
