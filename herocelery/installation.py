"""The processes of `herocelery up` on one machine: which ones, in what order, and the
installation's lock and state file (the processes themselves are started, watched and
stopped by herocelery/launcher.py).

Order: HeroDB 1 (broker, results, job store, node1's data) first; each further node's HeroDB
starts while the supervisors start (`supervisor start --manage`, which start their runners);
then the API and optionally Flower. Ready means each node's supervisor reports every runner it
manages `running` (launcher.runners_missing) and the API answers /health. Stop: Flower and the
API, then the supervisors (which stop their runners), then the HeroDBs. One `up` per data
directory: `up.lock` held while it runs, `up.json` (mode 0600, herocelery/local.py) saying
where everything is.
"""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

from . import launcher
from .errors import AlreadyRunning, ConfigError
from .launcher import Proc, Processes
from .local import (
    UP_LOCK,
    ensure_admin_key,
    is_local_url,
    read_up_state,
    remove_up_state,
    stop_unused_embedded,
    write_up_state,
)
from .settings import Settings, without_password

LOCK_GRACE_S = 0.3           # `local.up_running` probes the lock for an instant


@dataclass
class Service:
    """One process `up` started, as the state file and the status table show it."""

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
        self.group = Processes()
        self.services: list[Service] = []
        self.supervisors: dict[str, Proc] = {}
        self.api: Proc | None = None
        self.api_url = ""
        self.flower_url = ""
        self._lock: TextIO | None = None
        self.started = 0.0
        self._expected: dict[str, list[str]] | None = None

    # ---- lock ---------------------------------------------------------------------------
    def acquire(self) -> None:
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        lock = open(self.data_dir / UP_LOCK, "a+")  # noqa: SIM115 - held while `up` runs
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
        if self.settings.broker_url is None and not stop_unused_embedded(self.data_dir):
            from .herodb.lock import holder
            held = holder(self.data_dir / "herodb")
            lock.close()
            raise ConfigError(f"the HeroDB of {self.data_dir} (pid "
                              f"{held.pid if held else '?'}) is in use by a command "
                              "(`herocelery run`, `flower`, `supervisor start` ...) or a "
                              "`herodb serve` of yours: let it finish or stop it, then start "
                              "`herocelery up`")
        if self.api_port and launcher.port_taken(self.settings.api_host, self.api_port):
            # before anything starts: another `up` (of another data directory) or API has it
            lock.close()
            raise ConfigError(f"the API port {self.settings.api_host}:{self.api_port} is in "
                              "use by another process (another `herocelery up`?): choose "
                              "another with `herocelery up --api-port P`")
        self._lock = lock

    # ---- start ----------------------------------------------------------------------------
    def start(self) -> None:
        """Start everything (from the calling thread, which must outlive the children)."""
        self.started = time.monotonic()
        if self._lock is None:
            self.acquire()
        self.log_dir.mkdir(parents=True, exist_ok=True)
        broker = self.settings.broker_url
        node_db: dict[str, str | None] = {self.nodes[0]: None}
        herodbs: list[Proc] = []
        secret: Path | None = None
        if broker is None:
            # every HeroDB of `up` requires the admin secret made at the first start
            # (<data_dir>/herodb.secret, mode 0600); every process reads it from there
            secret = launcher.admin_secret_file(self.settings)
            db1 = self._add(launcher.start_herodb(self.settings, name="herodb-1",
                                                  secret_file=secret))
            broker = db1.address + "/1"
            # every further node's HeroDB starts while the supervisors do: its runners need
            # it only once they run a job
            for node in self.nodes[1:]:
                port = launcher.free_port()
                sub = self.settings.with_(data_dir=self.data_dir / node)
                herodbs.append(self._add(launcher.launch_herodb(
                    sub, port=port, name=f"herodb-{node[4:]}", node=node, secret_file=secret)))
                node_db[node] = f"redis://127.0.0.1:{port}"
        else:  # an external broker: the nodes share it unless node_db_url says otherwise
            for node in self.nodes[1:]:
                node_db[node] = self.settings.node_db_url
        self.settings = self.settings.with_(broker_url=broker)
        if secret is not None:
            self.settings = self.settings.with_secret(secret)
        if is_local_url(broker):
            # the local admin key, made at the first start; the processes read it from the
            # data directory themselves (never from their environment)
            ensure_admin_key(self.settings)
        self.write_state()          # commands find the broker while the rest starts
        for node in self.nodes:
            sup_settings = self.settings.with_(node_db_url=node_db[node])
            if secret is not None:
                sup_settings = sup_settings.with_secret(secret)
            args = launcher.supervisor_args(node, None,
                                            runner_concurrency=self.runner_concurrency)
            self.supervisors[node] = self._add(launcher.spawn(
                "supervisor", node, args, sup_settings, self.log_dir / node / "supervisor.log",
                kind="supervisor"))
        # the coordinator side's reconciler: moves on what a dead process left (issue 13.1)
        self._add(launcher.spawn("reconciler", "-", ["reconciler", "start"], self.settings,
                                 self.log_dir / "reconciler.log", kind="reconciler"))
        self._start_api()
        for db in herodbs:
            launcher.wait_herodb(db, 60.0)
            self._service(db)         # its address is known now
        if self.flower:
            self._start_flower()
        self.write_state()

    def _add(self, proc: Proc) -> Proc:
        self.group.add(proc)
        if proc.address:
            self._service(proc)
        return proc

    def _service(self, proc: Proc) -> None:
        self.services.append(Service(proc.name, proc.node, proc.address, proc.pid,
                                     str(proc.log)))

    def _start_api(self) -> None:
        from .api.auth import require_safe_bind
        require_safe_bind(self.settings.api_host, self.settings.api_key)
        port = self.api_port or launcher.free_port()
        url = f"http://{self.settings.api_host}:{port}"
        self.api = self._add(launcher.spawn("api", "-", ["api", "serve", "--port", str(port)],
                                            self.settings, self.log_dir / "api.log",
                                            address=url))
        self.api_url = url

    def _start_flower(self) -> None:
        port = self.flower_port or launcher.free_port()
        host = os.environ.get("FLOWER_ADDRESS", "127.0.0.1")
        from .api.auth import is_loopback
        if not is_loopback(host) and not os.environ.get("FLOWER_BASIC_AUTH"):
            raise ConfigError("Flower beyond loopback needs FLOWER_BASIC_AUTH=user:password")
        url = f"http://{host}:{port}"
        self._add(launcher.spawn("flower", "-", ["flower", f"--port={port}", f"--address={host}"],
                                 self.settings, self.log_dir / "flower.log", address=url,
                                 env={"FLOWER_PORT": os.environ.get("FLOWER_PORT", str(port))}))
        self.flower_url = url

    # ---- readiness and state ----------------------------------------------------------------
    def wait_ready(self, timeout_s: float = 60.0,
                   on_tick: Callable[[], None] | None = None) -> float:
        """Block until the API answers and every managed runner answers pings (or failed);
        returns the seconds since `start` began. ConfigError naming what is missing past the
        timeout, or the process that exited."""
        from .store import Store
        t0 = self.started or time.monotonic()
        store = Store.from_url(self.settings.store_url())
        try:
            self.group.wait(lambda: self.not_ready(store),
                            max(0.0, timeout_s - (time.monotonic() - t0)),
                            on_tick=on_tick, logs=self.log_dir)
        finally:
            store.close()
        self.write_state(ready=True)
        return time.monotonic() - t0

    def not_ready(self, store: Any) -> list[str]:
        from .supervisor.manage import available, node_runner_types
        if self._expected is None:    # the managed types of each node, looked up once
            self._expected = {node: available(node_runner_types(i))
                              for i, node in enumerate(self.nodes)}
        out = launcher.runners_missing(store, self.supervisors, self._expected,
                                       self.settings.heartbeat_s, failed_ok=True)
        if not out and not _answers(self.api_url + "/health"):
            out.append("api")
        return out

    def write_state(self, ready: bool = False) -> None:
        """`up.json` (mode 0600): where the broker, store and API are, what runs."""
        write_up_state(self.data_dir, {
            "pid": os.getpid(), "started_at": time.time(), "data_dir": str(self.data_dir),
            # without the admin secret: commands read it from <data_dir>/herodb.secret
            "broker_url": without_password(self.settings.require_broker()),
            "store_url": without_password(self.settings.store_url()),
            "api_url": self.api_url, "flower_url": self.flower_url, "ready": ready,
            "nodes": list(self.nodes), "services": [asdict(s) for s in self.services]})

    # ---- stop ---------------------------------------------------------------------------------
    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop flower and the API, then the supervisors (which stop their runners), then the
        HeroDBs; remove the state file and release the lock. Nothing if this `up` never
        held the lock (a second `up` must not touch the first one's files)."""
        if self._lock is None:
            return
        self.group.stop(timeout_s)
        remove_up_state(self.data_dir)
        fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()
        self._lock = None


def _answers(url: str) -> bool:
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:
        return False
