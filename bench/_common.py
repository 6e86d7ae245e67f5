"""Shared helpers of the benchmarks: a real redis-server or HeroDB on a free port, machine info,
medians. Benchmarks measure ratios side by side in one run; they are not tests."""
from __future__ import annotations

import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


@contextmanager
def redis_server(appendfsync: str | None = None) -> Iterator[str]:
    """A real redis-server; yields its URL (no database). `appendfsync`: persist with an
    append-only log and that fsync policy (as HeroDB does); None: no persistence."""
    port = free_port()
    d = tempfile.mkdtemp(prefix="bench-redis-")
    aof = ["--appendonly", "no"] if appendfsync is None else \
        ["--appendonly", "yes", "--appendfsync", appendfsync]
    proc = subprocess.Popen([shutil.which("redis-server") or "redis-server", "--port", str(port),
                             "--bind", "127.0.0.1", "--save", "", *aof,
                             "--dir", d], stdout=subprocess.DEVNULL)
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


@contextmanager
def herodb_server(appendfsync: str = "everysec", encryption_key: str | None = None
                  ) -> Iterator[str]:
    port = free_port()
    d = tempfile.mkdtemp(prefix="bench-herodb-")
    env = dict(os.environ)
    env.pop("HERODB_ENCRYPTION_KEY", None)
    if encryption_key:
        env["HERODB_ENCRYPTION_KEY"] = encryption_key   # never on the command line
    proc = subprocess.Popen([sys.executable, "-m", "herocelery.herodb", "serve", "--port",
                             str(port), "--dir", d, "--appendfsync", appendfsync],
                            stdout=subprocess.DEVNULL, env=env)
    try:
        wait_port(port)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)


def machine() -> str:
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{os.cpu_count()} cores ({cpu}), {platform.machine()}, "
            f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}")


def median(values: list[float]) -> float:
    return statistics.median(values)


def rss_peak_kb(pid: int) -> int:
    """Peak resident set (VmHWM) of a process, in KiB; 0 if it is gone."""
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants."""
    out = [pid]
    try:
        children = open(f"/proc/{pid}/task/{pid}/children").read().split()
    except OSError:
        return out
    for c in children:
        out += tree_pids(int(c))
    return out


@contextmanager
def hero_installation(broker: str, concurrency: int) -> Iterator[tuple[str, object, object]]:
    """A server ("redis" or "herodb") with a supervisor and a python runner on node1; yields
    (server URL, Settings, Cluster)."""
    from herocelery.launcher import Cluster
    from herocelery.settings import Settings
    server = redis_server() if broker == "redis" else herodb_server()
    with server as url:
        settings = Settings.load(env={}, broker_url=url + "/1", concurrency=concurrency,
                                 data_dir=Path(tempfile.mkdtemp()), log_level="WARNING")
        with Cluster(settings, {"node1": ["python"]}, Path(tempfile.mkdtemp())) as cluster:
            yield url, settings, cluster
