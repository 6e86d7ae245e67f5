"""The processes of `herocelery up` on one machine: start in order, wait until ready, stop
in reverse, one installation per data directory (a lock file and a state file).

Order: HeroDB 1 (broker, results, job store, node1's data) first; each further node's HeroDB
starts while the supervisors start (`supervisor start --manage`, which start their runners);
then the API and optionally Flower. Ready means every managed runner answered a real ping and
the API answers /health. Stop: Flower and the API, then the supervisors (which stop their
runners), then the HeroDBs.
"""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, TextIO

from .errors import AlreadyRunning, ConfigError, HeroCeleryError, StoreError
from .local import (
    UP_LOCK,
    ensure_admin_key,
    is_local_url,
    read_up_state,
    remove_up_state,
    write_up_state,
)
from .settings import Settings

LOCK_GRACE_S = 0.3           # `local.up_running` probes the lock for an instant


@dataclass
class Service:
    """One process `up` started."""

    name: str
    node: str
    address: str
    pid: int
    log: str


def node_names(n: int) -> tuple[str, ...]:
    return tuple(f"node{i}" for i in range(1, n + 1))


def flower_conf() -> Path | None:
    """The package's flower.conf (package data: found by editable and wheel installs)."""
    path = Path(__file__).resolve().parent / "flower.conf"
    return path if path.exists() else None


def _free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _try(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), or the HeroCeleryError it raised (to hand over from a thread)."""
    try:
        return fn(*args)
    except HeroCeleryError as exc:
        return exc


def _die_with_parent() -> None:
    import ctypes
    try:
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


class Installation:
    """The processes of `up`, started in order and stopped in reverse."""

    def __init__(self, settings: Settings, *, nodes: int = 1, flower: bool = False,
                 api_port: int | None = None, flower_port: int = 5555,
                 runner_concurrency: int = 0) -> None:
        if nodes < 1:
            raise ConfigError("--nodes must be at least 1")
        self.nodes = node_names(nodes)
        self.settings = settings.with_(nodes=self.nodes)
        self.flower, self.flower_port = flower, flower_port
        self.api_port = settings.api_port if api_port is None else api_port
        self.runner_concurrency = runner_concurrency
        self.data_dir = settings.data_dir
        self.log_dir = self.data_dir / "logs"
        self.services: list[Service] = []
        self.procs: list[tuple[Service, subprocess.Popen[bytes]]] = []
        self.herodbs: list[Any] = []
        self.api_url = ""
        self.flower_url = ""
        self._lock: TextIO | None = None
        self.started = 0.0
        self._expected: dict[str, list[str]] | None = None

    # ---- lock ---------------------------------------------------------------------------
    def acquire(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = open(self.data_dir / UP_LOCK, "a+")
        deadline = time.monotonic() + LOCK_GRACE_S
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.02)
                    continue
                lock.close()
                info = read_up_state(self.data_dir) or {}
                raise AlreadyRunning(
                    f"herocelery up is already running on {self.data_dir} (pid "
                    f"{info.get('pid', '?')}, API {info.get('api_url', '?')}); see `herocelery "
                    "status`, or stop it (Ctrl-C) before starting another") from None
        self._lock = lock

    # ---- start ----------------------------------------------------------------------------
    def start(self) -> None:
        self.started = time.monotonic()
        from .launcher import start_herodb
        if self._lock is None:
            self.acquire()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        broker = self.settings.broker_url
        if broker is None:
            db1 = start_herodb(self.settings)
            self.herodbs.append(db1)
            broker = db1.url + "/1"
            self._record(Service("herodb-1", "node1", db1.url, db1.popen.pid,
                                 str(self.log_dir / "herodb.log")))
        self.settings = self.settings.with_(broker_url=broker)
        if is_local_url(broker):
            # the local admin key, made at the first start; the processes read it from the
            # data directory themselves (never from their environment)
            ensure_admin_key(self.settings)
        self.write_state()          # commands find the broker while the rest starts
        node_db: dict[str, str | None] = {self.nodes[0]: None}
        pending: list[tuple[str, threading.Thread, list[Any]]] = []
        for node in self.nodes[1:]:
            if self.herodbs:
                # the node's own HeroDB starts while its supervisor does; its runners only
                # need it once they run a job
                port = _free_port()
                sub = self.settings.with_(data_dir=self.data_dir / node, herodb_port=port)
                box: list[Any] = []
                t = threading.Thread(target=lambda s=sub, b=box: b.append(_try(start_herodb, s)),
                                     daemon=True)
                t.start()
                pending.append((node, t, box))
                node_db[node] = f"redis://127.0.0.1:{port}"
            else:  # an external broker: the nodes share it unless node_db_url says otherwise
                node_db[node] = self.settings.node_db_url
        for node in self.nodes:
            env = self.settings.with_(node_db_url=node_db[node]).to_env()
            if node_db[node] is None:
                env.pop("HEROCELERY_NODE_DB_URL", None)
            args = ["supervisor", "start", "--node", node, "--manage"]
            if self.runner_concurrency:
                args += ["--runner-concurrency", str(self.runner_concurrency)]
            self._spawn("supervisor", node, args, env, self.log_dir / node / "supervisor.log")
        # the coordinator side's reconciler: moves on what a dead process left (issue 13.1)
        self._spawn("reconciler", "-", ["reconciler", "start"], self.settings.to_env(),
                    self.log_dir / "reconciler.log")
        self._start_api()
        for node, t, box in pending:
            t.join(60)
            db = box[0] if box else StoreError(f"HeroDB of {node} did not start")
            if isinstance(db, Exception):
                raise db
            self.herodbs.append(db)
            self._record(Service(f"herodb-{node[4:]}", node, db.url, db.popen.pid,
                                 str(self.data_dir / node / "logs" / "herodb.log")))
        if self.flower:
            self._start_flower()
        self.write_state()

    def _spawn(self, name: str, node: str, args: list[str], env: dict[str, str], log: Path,
               exe: list[str] | None = None, address: str = "") -> subprocess.Popen[bytes]:
        log.parent.mkdir(parents=True, exist_ok=True)
        full_env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")},
                    **env}
        with open(log, "ab") as out:
            popen = subprocess.Popen((exe or [sys.executable, "-m", "herocelery"]) + args,
                                     env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=_die_with_parent)
        service = Service(name, node, address or f"pid {popen.pid}", popen.pid, str(log))
        self.services.append(service)
        self.procs.append((service, popen))
        return popen

    def _record(self, service: Service) -> None:
        self.services.append(service)

    def _start_api(self) -> None:
        from .api.auth import require_safe_bind
        require_safe_bind(self.settings.api_host, self.settings.api_key)
        port = self.api_port or _free_port()
        env = self.settings.to_env()
        url = f"http://{self.settings.api_host}:{port}"
        self._spawn("api", "-", ["api", "serve", "--port", str(port)], env,
                    self.log_dir / "api.log", address=url)
        self.api_url = url

    def _start_flower(self) -> None:
        port = self.flower_port or _free_port()
        env = self.settings.to_env()
        env.setdefault("FLOWER_PORT", str(port))
        host = os.environ.get("FLOWER_ADDRESS", "127.0.0.1")
        from .api.auth import is_loopback
        if not is_loopback(host) and not os.environ.get("FLOWER_BASIC_AUTH"):
            raise ConfigError("Flower beyond loopback needs FLOWER_BASIC_AUTH=user:password")
        url = f"http://{host}:{port}"
        self._spawn("flower", "-", ["flower", f"--port={port}", f"--address={host}"], env,
                    self.log_dir / "flower.log", address=url)
        self.flower_url = url

    # ---- readiness and state ----------------------------------------------------------------
    def wait_ready(self, timeout_s: float = 60.0,
                   on_tick: Callable[[], None] | None = None) -> float:
        """Block until the API answers and every managed runner answers pings (or failed);
        returns the seconds since `start` began. ConfigError naming what is missing past the
        timeout."""
        import urllib.request

        from .store import Store
        t0 = self.started or time.monotonic()
        store = Store.from_url(self.settings.store_url())
        try:
            while True:
                missing = self.not_ready(store)
                if not missing:
                    try:
                        with urllib.request.urlopen(self.api_url + "/health", timeout=2):
                            self.write_state(ready=True)
                            return time.monotonic() - t0
                    except OSError:
                        missing = ["api"]
                for service, popen in self.procs:
                    if popen.poll() is not None:
                        raise ConfigError(f"{service.name} ({service.node}) exited with code "
                                          f"{popen.returncode}; see {service.log}")
                if time.monotonic() - t0 > timeout_s:
                    raise ConfigError(f"not ready after {timeout_s:g}s: {', '.join(missing)}; "
                                      f"logs in {self.log_dir}")
                if on_tick is not None:
                    on_tick()
                time.sleep(0.2)
        finally:
            store.close()

    def not_ready(self, store: Any) -> list[str]:
        from .supervisor.manage import available, node_runner_types
        if self._expected is None:    # the managed types of each node, looked up once
            self._expected = {node: available(node_runner_types(i))
                              for i, node in enumerate(self.nodes)}
        out = []
        for node in self.nodes:
            states = store.runner_states(node)
            for runner in self._expected[node]:
                if states.get(runner, {}).get("state") not in ("running", "failed"):
                    out.append(f"{runner}@{node}")
        return out

    def write_state(self, ready: bool = False) -> None:
        """`up.json` (mode 0600): where the broker, store and API are, what runs."""
        write_up_state(self.data_dir, {
            "pid": os.getpid(), "started_at": time.time(), "data_dir": str(self.data_dir),
            "broker_url": self.settings.broker_url, "store_url": self.settings.store_url(),
            "api_url": self.api_url, "flower_url": self.flower_url, "ready": ready,
            "nodes": list(self.nodes), "services": [asdict(s) for s in self.services]})

    # ---- stop ---------------------------------------------------------------------------------
    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop flower and the API, then the supervisors (which stop their runners), then the
        HeroDBs; remove the state file and release the lock. Nothing if this `up` never
        held the lock (a second `up` must not touch the first one's files)."""
        if self._lock is None:
            return
        order = sorted(self.procs, key=lambda sp: {"flower": 0, "api": 1}.get(sp[0].name, 2))
        for _, popen in order:
            if popen.poll() is None:
                try:
                    os.killpg(popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + timeout_s
        for _, popen in order:
            try:
                popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                popen.wait()
        self.procs.clear()
        for db in reversed(self.herodbs):
            db.stop()
        self.herodbs.clear()
        remove_up_state(self.data_dir)
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
