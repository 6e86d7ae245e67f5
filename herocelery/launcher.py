"""The one place that starts, watches and stops the local processes of an installation:
HeroDB, supervisors that manage their node's runners (`supervisor start --manage`), the API
and Flower. `herocelery run`, `herocelery up` (installation.py), `herocelery.local` (the
embedded HeroDB of a command) and the test fixtures all start processes here, so the tests
run the shape users run.

Every child gets its own session (a stop signals its whole process group), dies with the
thread that started it (PR_SET_PDEATHSIG: start children from a long-lived thread), appends
its output to its log file, and sees the starter's environment without `HEROCELERY_*` plus
its Settings as `HEROCELERY_*` (the Settings are the whole configuration). Readiness is what
the process itself says: HeroDB its address in its lock file, a supervisor its heartbeat,
a managed runner what its supervisor reports of it (`running`: its loop reports consuming its
queue), naming a process that is the supervisor's child (so another installation sharing the
store cannot make ours look ready).
"""
from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import procs
from .errors import ConfigError, StoreError
from .settings import Settings, with_password

if TYPE_CHECKING:
    from .store import Store

READY_POLL_S = 0.1
KEY_FILE = "herodb.key"           # in the data directory, next to admin.key
SECRET_FILE = "herodb.secret"     # the HeroDBs' admin secret, in the data directory (0600)
LOG_FILE = "herodb.aof"           # HeroDB's log in its data directory (herodb/server.py)
ENCRYPTION_ENV = "HERODB_ENCRYPTION_KEY"
SECRET_ENV = ("HERODB_ENCRYPTION_KEY", "HERODB_ADMIN_SECRET")   # never passed on to a child
STOP_ORDER = {"flower": 0, "api": 0, "reconciler": 1, "supervisor": 2, "runner": 2,
              "herodb": 3}


def die_with_parent() -> None:
    """In the child: SIGTERM when the thread that started it ends (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def port_taken(host: str, port: int) -> bool:
    """True when another process listens on host:port (binding it fails with EADDRINUSE)."""
    import errno
    import socket
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Proc:
    """One child process: what it is, where it logs, where it listens (once known)."""

    name: str
    node: str
    popen: subprocess.Popen[bytes]
    log: Path
    address: str = ""
    kind: str = ""
    log_offset: int = 0                  # where this start's output begins in `log`
    data_dir: Path | None = None         # a HeroDB's data directory
    started_at: float = field(default_factory=time.time)
    password: str = field(default="", repr=False)   # a HeroDB's admin secret

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def url(self) -> str:
        """Where it listens; for a HeroDB, as admin (with its admin secret)."""
        if self.password and self.address.startswith("redis://"):
            return with_password(self.address, self.password) or self.address
        return self.address

    def running(self) -> bool:
        return self.popen.poll() is None

    def failure(self) -> str | None:
        """One line saying that (and why) the process ended; None while it runs."""
        code = self.popen.poll()
        if code is None:
            return None
        last = _last_line(self.log, self.log_offset)
        why = f": {last}" if last else ""
        return f"{self.name}{f' ({self.node})' if self.node not in ('', '-') else ''} " \
               f"exited with code {code}{why} (log: {self.log})"

    def signal(self, sig: int) -> None:
        procs.send(self.popen, sig)

    def stop(self, timeout_s: float = 15.0) -> None:
        procs.stop([self.popen], timeout_s)

    def reap(self, deadline: float) -> None:
        procs.reap(self.popen, deadline)


def _last_line(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return ""
    last = lines[-1]
    return last[len("Error: "):] if last.startswith("Error: ") else last[-300:]


def spawn(name: str, node: str, args: Sequence[str], settings: Settings, log: Path, *,
          kind: str = "", exe: Sequence[str] | None = None, address: str = "",
          env: Mapping[str, str] | None = None, detached: bool = False) -> Proc:
    """Start `herocelery ARGS` (or `exe ARGS`) in its own session; returns at once. A
    `detached` child does not die with its starter (the embedded HeroDB that commands
    share: the last one using it stops it, herocelery/local.py)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {k: v for k, v in os.environ.items()
                if not k.startswith("HEROCELERY_") and k not in SECRET_ENV}
    full_env.update(settings.to_env())
    full_env.update(env or {})
    offset = log.stat().st_size if log.exists() else 0
    with open(log, "ab") as out:
        popen = subprocess.Popen([*(exe or [sys.executable, "-m", "herocelery"]), *args],
                                 env=full_env, stdout=out, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, start_new_session=True,
                                 preexec_fn=None if detached else die_with_parent)
    return Proc(name, node, popen, log, address or f"pid {popen.pid}", kind or name, offset)


# ---- HeroDB ---------------------------------------------------------------------------------
def launch_herodb(settings: Settings, *, data_dir: Path | None = None, port: int | None = None,
                  log: Path | None = None, name: str = "herodb", node: str = "node1",
                  secret_file: Path | None = None, detached: bool = False) -> Proc:
    """Start HeroDB on `data_dir` (default `<data_dir>/herodb`) on loopback, requiring the
    admin secret of `secret_file` (default: the data directory's, made at the first start);
    returns at once (`wait_herodb` waits until it listens). The secrets go by file, never
    on the command line or in the environment. A `detached` one does not die with its
    starter (the embedded HeroDB commands share, herocelery/local.py)."""
    try:
        import herocelery.herodb.cli  # noqa: F401
    except ImportError:
        raise ConfigError("the embedded HeroDB is not available in this installation; "
                          "pass --broker redis://HOST:PORT") from None
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)   # keys, logs, data
    data = data_dir or settings.data_dir / "herodb"
    data.mkdir(parents=True, exist_ok=True)
    log = log or settings.data_dir / "logs" / "herodb.log"
    args = ["serve", "--host", "127.0.0.1",
            "--port", str(settings.herodb_port if port is None else port), "--dir", str(data),
            "--appendfsync", settings.herodb_appendfsync]
    secret_file = secret_file or admin_secret_file(settings)
    password = read_private(secret_file)
    args += ["--admin-secret-file", str(secret_file)]
    if encryption_key(settings, data):
        args += ["--encryption-key-file", str(settings.data_dir / KEY_FILE)]
    proc = spawn(name, node, args, settings, log, kind="herodb",
                 exe=[sys.executable, "-m", "herocelery.herodb"], detached=detached)
    proc.address, proc.data_dir, proc.password = "", data, password
    return proc


def admin_secret_file(settings: Settings) -> Path:
    """`<data_dir>/herodb.secret`: the admin secret the installation's HeroDBs require, made
    (mode 0600) at the first start. ConfigError when others may read it."""
    path = settings.data_dir / SECRET_FILE
    if not path.exists():
        import secrets
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path           # another command made it meanwhile
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
    read_private(path)
    return path


def read_private(path: Path) -> str:
    """The text of a secret file that is this user's and readable by no one else;
    ConfigError otherwise."""
    st = path.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise ConfigError(f"{path} must belong to you and be readable by you only "
                          f"(chmod 600 {path})")
    text = path.read_text().strip()
    if not text:
        raise ConfigError(f"{path} is empty")
    return text


def encryption_key(settings: Settings, data: Path) -> str | None:
    """The key of the HeroDB log in `data`: the one in `<data_dir>/herodb.key`; a new one
    (mode 0600) when the log is new and `herodb_encrypt` is on; None for a plain log (one
    made before, or with `herodb_encrypt` off, stays plain: it cannot be encrypted in place).
    ConfigError when the key file may be read by others or belongs to another user."""
    path = settings.data_dir / KEY_FILE
    if path.exists():
        return read_private(path)
    log = data / LOG_FILE
    if not settings.herodb_encrypt or (log.exists() and log.stat().st_size > 0):
        return None
    import secrets
    key = secrets.token_hex(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key


def wait_herodb(proc: Proc, timeout_s: float = 30.0) -> Proc:
    """Wait until the HeroDB `proc` listens (its lock file names it and its address);
    StoreError with its own one-line reason when it exits or does not start in time."""
    from .herodb.lock import holder
    data = proc.data_dir
    assert data is not None, "wait_herodb: not a HeroDB process"
    deadline = time.monotonic() + timeout_s
    while True:
        failed = proc.failure()
        if failed is not None:
            raise StoreError(f"HeroDB did not start: {failed}")
        held = holder(data)
        if held is not None and held.pid == proc.pid and held.address:
            proc.address = f"redis://{held.address}"
            return proc
        if time.monotonic() > deadline:
            proc.stop()
            raise StoreError(f"HeroDB on {data} did not start within {timeout_s:g}s "
                             f"(log: {proc.log})")
        time.sleep(0.02)


def start_herodb(settings: Settings, timeout_s: float = 30.0, **where: Any) -> Proc:
    """`launch_herodb` + `wait_herodb`: a HeroDB that listens (its URL: `.url`)."""
    return wait_herodb(launch_herodb(settings, **where), timeout_s)


# ---- supervisors managing runners -----------------------------------------------------------
def supervisor_args(node: str, runners: Sequence[str] | None, *, concurrency: int = 0,
                    runner_concurrency: int = 0) -> list[str]:
    """`supervisor start --node NODE --manage [--runners ...]` arguments. Pure."""
    args = ["supervisor", "start", "--node", node, "--manage"]
    if runners is not None:
        args += ["--runners", ",".join(runners)]
    if concurrency:
        args += ["--concurrency", str(concurrency)]
    if runner_concurrency:
        args += ["--runner-concurrency", str(runner_concurrency)]
    return args


def runners_missing(store: Store, supervisors: Mapping[str, Proc],
                    expected: Mapping[str, Sequence[str]], heartbeat_s: float, *,
                    failed_ok: bool = False) -> list[str]:
    """What is not ready yet: `supervisor@<node>` for a supervisor not heartbeating,
    `<type>@<node>` for each expected runner that the node's supervisor itself does not yet
    report `running` (its published runner state, written since this supervisor started,
    naming a process that is the supervisor's child: another installation sharing the store
    cannot make ours look ready). Ready is the supervisor's own view, so `up`'s "ready" and
    what `runners()`/`status` show then agree (a runner's own heartbeat comes before the
    supervisor's next health pass has seen it). ConfigError for a runner that failed (past
    its restarts), unless `failed_ok`."""
    now = time.time()
    out = []
    for node, sup in supervisors.items():
        fresh = [e for e in store.runners(node)
                 if now - float(e.get("heartbeat", 0)) < 3 * heartbeat_s]
        if not any(e.get("runner") == "supervisor" and e.get("pid") == sup.pid for e in fresh):
            out.append(f"supervisor@{node}")
        wanted = expected.get(node, ())
        states: dict[str, Any] = store.runner_states(node) if wanted else {}
        for runner in wanted:
            st = states.get(runner) or {}
            if float(st.get("updated", 0)) < sup.started_at:   # a record of an earlier run
                out.append(f"{runner}@{node}")
                continue
            pid = st.get("pid")
            if st.get("state") == "running" and isinstance(pid, int) \
                    and _parent(pid) == sup.pid:
                continue
            if st.get("state") == "failed":
                if failed_ok:
                    continue
                raise ConfigError(f"runner {runner} on {node} failed: {st.get('reason', '')}")
            out.append(f"{runner}@{node}")
    return out


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


# ---- a group of processes ----------------------------------------------------------------------
@dataclass
class Processes:
    """Children started in order, watched together, stopped by kind: Flower and the API
    first, then supervisors (which stop their runners), then HeroDBs; later starts first
    within a kind."""

    procs: list[Proc] = field(default_factory=list)

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def check(self) -> None:
        """ConfigError naming the first child that exited."""
        for p in self.procs:
            failed = p.failure()
            if failed is not None:
                raise ConfigError(failed)

    def wait(self, missing: Callable[[], list[str]], timeout_s: float, *,
             on_tick: Callable[[], None] | None = None, logs: Path | None = None) -> None:
        """Poll `missing()` (what is not ready yet) until it is empty. ConfigError when a
        child exits meanwhile, or naming what is missing past `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                left = missing()
            except Exception as exc:  # noqa: BLE001 - the store is still starting
                left = [f"store ({exc})"]
            if not left:
                return
            self.check()
            if time.monotonic() > deadline:
                raise ConfigError(f"not ready after {timeout_s:g}s: {', '.join(left)}"
                                  + (f"; logs in {logs}" if logs else ""))
            if on_tick is not None:
                on_tick()
            time.sleep(READY_POLL_S)

    def stop(self, timeout_s: float = 20.0) -> None:
        ranks = sorted({STOP_ORDER.get(p.kind, 1) for p in self.procs})
        for rank in ranks:
            procs.stop([p.popen for p in reversed(self.procs)
                        if STOP_ORDER.get(p.kind, 1) == rank], timeout_s)
        self.procs.clear()


@dataclass
class Cluster:
    """Supervisors managing the runners of `topology` (node -> runner types), as `up`
    starts them; for `herocelery run`, tests and benchmarks."""

    settings: Settings
    topology: Mapping[str, Sequence[str]]
    log_dir: Path
    runner_concurrency: int = 0
    group: Processes = field(default_factory=Processes)
    supervisors: dict[str, Proc] = field(default_factory=dict)

    @property
    def procs(self) -> list[Proc]:
        return self.group.procs

    def start(self, timeout_s: float = 60.0) -> Cluster:
        """Start every node's supervisor and wait until each managed runner answers pings;
        ConfigError (everything stopped) when that fails."""
        try:
            for node, runners in self.topology.items():
                args = supervisor_args(node, list(runners),
                                       runner_concurrency=self.runner_concurrency)
                self.supervisors[node] = self.group.add(spawn(
                    f"supervisor-{node}", node, args, self.settings,
                    self.log_dir / f"supervisor-{node}.log", kind="supervisor"))
            self.wait_ready(timeout_s)
        except BaseException:
            self.stop()
            raise
        return self

    def runner_log(self, node: str, runner: str) -> Path:
        """The log file of a runner the node's supervisor manages (supervisor/manage.py)."""
        return self.settings.data_dir / "logs" / node / f"runner-{runner}.log"

    def wait_ready(self, timeout_s: float) -> None:
        from .store import Store
        store = Store.from_url(self.settings.store_url())
        try:
            self.group.wait(lambda: runners_missing(
                store, self.supervisors, self.topology, self.settings.heartbeat_s),
                timeout_s, logs=self.log_dir)
        finally:
            store.close()

    def stop(self, timeout_s: float = 15.0) -> None:
        self.group.stop(timeout_s)
        self.supervisors.clear()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
