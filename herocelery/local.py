"""The local installation of a data directory, as every entry point finds it.

A data directory (the `data_dir` setting, default `~/.herocelery`) holds one installation:

    up.lock, up.json   `herocelery up` while it runs: the lock is held, the state (mode 0600)
                       says where its broker, store and API are
    herodb/            the embedded HeroDB's log; `herodb/herodb.lock` is held by the one
                       HeroDB serving it (herocelery/herodb/lock.py), with its address
    admin.key          the local admin key (mode 0600), made when the installation first
                       starts (`up`, `run`, or any command that opens the embedded HeroDB)
    herodb.users       shared-locked by every command using the embedded HeroDB; the last
    herodb.embedded    one leaving stops the HeroDB a command started (its pid here)

The rule (issue 12.3): on the same machine, as the same Unix user, the local admin key is
used when no key is given and the broker is this installation's own (found here, or a
configured loopback broker whose store knows the key). Beyond loopback, keys are required.

`connect(settings)` is the front door: Settings with a broker, whichever applies first —
the configured broker; the running `up`'s; the embedded HeroDB another command started on
the data directory; or one started now (holding the directory's lock). Commands share the
embedded HeroDB: it runs while any of them uses it and the last one stops it.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from .errors import NotRunning
from .settings import Settings

UP_LOCK = "up.lock"
UP_STATE = "up.json"
ADMIN_KEY = "admin.key"
HERODB_DIR = "herodb"
USERS_LOCK = "herodb.users"    # shared-locked by each command using the embedded HeroDB
EMBEDDED = "herodb.embedded"   # the pid of the embedded HeroDB a command started
STATE_WAIT_S = 30.0            # an `up` that holds its lock writes its state within seconds

Via = Literal["configured", "up", "herodb", "embedded"]

NOTHING_RUNS = ("no herocelery installation is running on {dir}: start one with "
                "`herocelery up` (or set HEROCELERY_BROKER_URL / --broker)")


@dataclass(frozen=True)
class UpState:
    """What a running `herocelery up` says about itself (its `up.json`)."""

    pid: int
    broker_url: str
    store_url: str
    api_url: str = ""
    flower_url: str = ""
    nodes: tuple[str, ...] = ("node1",)
    services: tuple[Mapping[str, Any], ...] = ()
    started_at: float = 0.0
    ready: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> UpState:
        return cls(pid=int(data["pid"]), broker_url=str(data["broker_url"]),
                   store_url=str(data["store_url"]), api_url=str(data.get("api_url") or ""),
                   flower_url=str(data.get("flower_url") or ""),
                   nodes=tuple(data.get("nodes") or ("node1",)),
                   services=tuple(data.get("services") or ()),
                   started_at=float(data.get("started_at") or 0.0),
                   ready=bool(data.get("ready")), raw=dict(data))


@dataclass(frozen=True)
class Local:
    """The installation a command uses: its settings (with a broker) and how it was found.

    `settings.api_key` may be the local admin key found here; processes this command starts
    get `for_children` instead (the key as configured), so the admin key never travels in
    an environment: a child on this machine finds the key file itself."""

    settings: Settings
    via: Via
    configured_key: str | None = None

    @property
    def for_children(self) -> Settings:
        return self.settings.with_(api_key=self.configured_key)


# ---- `up`: its lock and its state ---------------------------------------------------------
def up_running(data_dir: Path) -> bool:
    """True while some `herocelery up` holds the data directory's lock."""
    return _locked(Path(data_dir) / UP_LOCK)


def up_state(data_dir: Path, wait_s: float = 0.0) -> UpState | None:
    """The running `up`'s state; None when no `up` runs. An `up` that holds its lock but has
    not written its state yet is waited for up to `wait_s`."""
    deadline = time.monotonic() + wait_s
    while True:
        if not up_running(data_dir):
            return None
        raw = read_up_state(data_dir)
        if raw is not None:
            try:
                return UpState.from_json(raw)
            except (KeyError, TypeError, ValueError):
                pass
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.1)


def read_up_state(data_dir: Path) -> dict[str, Any] | None:
    """`up.json` as written (whether or not `up` still runs); None when absent or torn."""
    try:
        data = json.loads((Path(data_dir) / UP_STATE).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_up_state(data_dir: Path, state: Mapping[str, Any]) -> None:
    """Write `up.json` atomically, readable by its owner only (it names the broker)."""
    path = Path(data_dir) / UP_STATE
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(json.dumps(dict(state), indent=2))
    os.chmod(tmp, 0o600)                 # a file left by an older version keeps its mode
    tmp.replace(path)


def remove_up_state(data_dir: Path) -> None:
    try:
        (Path(data_dir) / UP_STATE).unlink()
    except FileNotFoundError:
        pass


def _locked(path: Path) -> bool:
    """True while another open file description holds an exclusive flock on `path`."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    with os.fdopen(fd) as f:
        try:
            # shared, and only for an instant: the owner's exclusive lock retries past it
            fcntl.flock(f, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(f, fcntl.LOCK_UN)
    return False


# ---- the local admin key ------------------------------------------------------------------
def admin_key_path(data_dir: Path) -> Path:
    return Path(data_dir) / ADMIN_KEY


def admin_key(data_dir: Path) -> str | None:
    """The local admin key of the data directory, if there is one and it belongs to this
    Unix user (a file of another user, or one others may read, is not used)."""
    path = admin_key_path(data_dir)
    try:
        st = path.stat()
        if st.st_uid != os.geteuid() or st.st_mode & 0o077:
            return None
        key = path.read_text().strip()
    except OSError:
        return None
    return key or None


def is_local_url(url: str) -> bool:
    """A broker on this machine: a Unix socket, or a loopback host. Pure."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return True
    host = parts.hostname or ""
    if host == "localhost":
        return True
    import ipaddress
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def with_local_key(settings: Settings, *, check: bool = True) -> Settings:
    """`settings` with the local admin key as `api_key` when none is given and the broker is
    on this machine. With `check`, a key the broker's store does not know (another
    installation's key; a loopback Redis of its own) is not used."""
    if settings.api_key or settings.broker_url is None or not is_local_url(settings.broker_url):
        return settings
    key = admin_key(settings.data_dir)
    if key is None or (check and not _store_knows(settings, key)):
        return settings
    return settings.with_(api_key=key)


def _store_knows(settings: Settings, key: str) -> bool:
    from .contexts.registry import Registry
    from .errors import PermissionDenied
    from .store import Store
    store = Store.from_url(settings.store_url())
    try:
        Registry(store.r, settings).authenticate(key)
        return True
    except PermissionDenied:
        return False
    finally:
        store.close()


def ensure_admin_key(settings: Settings) -> Settings:
    """Create the local admin key at an installation's first start (when its store has no
    API keys yet) and return settings using it; settings unchanged when a key is given or
    the installation already has keys of its own (then the user's key is needed)."""
    if settings.api_key:
        return settings
    from .contexts.registry import Registry, embedded_admin_key
    from .store import Store
    store = Store.from_url(settings.store_url())
    try:
        key = embedded_admin_key(Registry(store.r, settings), admin_key_path(settings.data_dir))
    finally:
        store.close()
    return settings.with_(api_key=key) if key else settings


def with_local_secret(settings: Settings) -> Settings:
    """`settings` (whose broker is this data directory's own HeroDB) with its admin secret,
    read from `<data_dir>/herodb.secret` (launcher.py made it at the first start)."""
    from .launcher import SECRET_FILE, read_private
    path = Path(settings.data_dir) / SECRET_FILE
    if not path.exists():
        return settings            # a HeroDB of an older version, started without one
    read_private(path)
    return settings.with_secret(path)


# ---- the API of the running `up` (for HeroClient()) ---------------------------------------
def api_endpoint(settings: Settings) -> tuple[str, str | None]:
    """(URL, key) of the local API: the running `up`'s address and the key to present (the
    `api_key` setting, else the local admin key). NotRunning when no `up` runs."""
    state = up_state(settings.data_dir, wait_s=STATE_WAIT_S)
    if state is None or not state.api_url:
        raise NotRunning(f"herocelery up is not running on {settings.data_dir}: start it "
                         "with `herocelery up`")
    return state.api_url, settings.api_key or admin_key(settings.data_dir)


# ---- the front door -----------------------------------------------------------------------
def find(settings: Settings) -> Local | None:
    """The running installation `settings` points at, without starting anything: the
    configured broker, the running `up`, or a HeroDB serving the data directory."""
    key = settings.api_key
    if settings.broker_url is not None:
        return Local(with_local_key(settings), "configured", key)
    state = up_state(settings.data_dir, wait_s=STATE_WAIT_S)
    if state is not None:
        nodes = tuple(dict.fromkeys((*state.nodes, *settings.nodes)))
        found = with_local_secret(settings.with_(broker_url=state.broker_url, nodes=nodes))
        return Local(with_local_key(found, check=False), "up", key)
    from .herodb.lock import holder
    held = holder(settings.data_dir / HERODB_DIR)
    if held is not None and held.address:
        found = with_local_secret(settings.with_(broker_url=f"redis://{held.address}/1"))
        return Local(with_local_key(found), "herodb", key)
    if held is not None:
        raise NotRunning(f"the HeroDB of {settings.data_dir} (pid {held.pid}) is starting; "
                         "try again in a moment")
    return None


@contextmanager
def connect(settings: Settings, *, start: bool = True) -> Iterator[Local]:
    """The installation to use for one command (see the module docstring). With no broker
    configured and no `up` running, the data directory's embedded HeroDB is shared by the
    commands using it: a command uses the one another command started, or (with `start`)
    starts one, and the last command using it stops it; without `start` and none running,
    NotRunning."""
    if settings.broker_url is not None or up_state(settings.data_dir,
                                                   wait_s=STATE_WAIT_S) is not None:
        found = find(settings)
        if found is not None:
            yield found
            return
    with _shared_herodb(settings, start=start) as found:
        yield found


# ---- the embedded HeroDB, shared by the commands using it ---------------------------------
@contextmanager
def _shared_herodb(settings: Settings, *, start: bool) -> Iterator[Local]:
    """Every command using the data directory's embedded HeroDB holds a shared lock on
    `herodb.users` while it does; leaving, a command that can then take it exclusively is
    the last one, and stops the HeroDB a command started (`herodb.embedded` names it; a
    HeroDB started by hand with `herodb serve` is never stopped). So one command never
    stops the HeroDB under another (before, a short `run` stopped it under a long one)."""
    data_dir = Path(settings.data_dir)
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    users = open(data_dir / USERS_LOCK, "a+")  # noqa: SIM115 - held while the command runs
    started = None
    try:
        fcntl.flock(users, fcntl.LOCK_SH)      # waits while the last user stops the HeroDB
        with _stopped_on_sigterm():
            found, started = _use_or_start(settings, start=start)
            try:
                yield found
            finally:
                fcntl.flock(users, fcntl.LOCK_UN)
                stop_unused_embedded(data_dir, users)
    finally:
        users.close()
        if started is not None and started.running() is False:
            started.popen.wait()               # reap the HeroDB this command started


def _use_or_start(settings: Settings, *, start: bool) -> tuple[Local, Any]:
    """(the installation, the HeroDB process this command started or None): the running
    embedded HeroDB (waiting out one that is starting), else with `start` a new one."""
    from .errors import StoreError
    from .herodb.lock import holder
    from .launcher import start_herodb
    key = settings.api_key
    deadline = time.monotonic() + STATE_WAIT_S
    while True:
        held = holder(settings.data_dir / HERODB_DIR)
        if held is not None and held.address:
            found = with_local_secret(settings.with_(broker_url=f"redis://{held.address}/1"))
            return Local(with_local_key(found), "herodb", key), None
        if held is None:
            if not start:
                raise NotRunning(NOTHING_RUNS.format(dir=settings.data_dir))
            try:
                herodb = start_herodb(settings, detached=True)
            except StoreError:
                if holder(settings.data_dir / HERODB_DIR) is None:
                    raise
                continue                       # another command started one meanwhile
            _write_private(Path(settings.data_dir) / EMBEDDED, str(herodb.pid))
            embedded = with_local_secret(settings.with_(broker_url=herodb.address + "/1"))
            return Local(ensure_admin_key(embedded), "embedded", key), herodb
        if time.monotonic() > deadline:
            raise NotRunning(f"the HeroDB of {settings.data_dir} (pid {held.pid}) did not "
                             f"start listening within {STATE_WAIT_S:g}s")
        time.sleep(0.05)


def stop_unused_embedded(data_dir: Path, users: Any = None, timeout_s: float = 20.0) -> bool:
    """Stop the embedded HeroDB a command started on `data_dir` when no command uses it
    (nobody holds `herodb.users`); True when none runs afterwards. `up` calls it before it
    starts its own (one left by a command that was killed)."""
    from .herodb.lock import holder
    own = users is None
    if own:
        try:
            users = open(Path(data_dir) / USERS_LOCK, "a+")  # noqa: SIM115
        except OSError:
            return holder(Path(data_dir) / HERODB_DIR) is None
    try:
        try:
            fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False                       # another command uses it: it stops it
        try:
            marker = Path(data_dir) / EMBEDDED
            try:
                pid = int(marker.read_text().strip())
            except (OSError, ValueError):
                pid = None
            held = holder(Path(data_dir) / HERODB_DIR)
            if held is None or pid is None or held.pid != pid:
                return held is None            # none, or not one a command started
            import signal
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout_s
            while holder(Path(data_dir) / HERODB_DIR) is not None:
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                    deadline += timeout_s
                time.sleep(0.02)
            marker.unlink(missing_ok=True)
            return True
        finally:
            fcntl.flock(users, fcntl.LOCK_UN)
    finally:
        if own:
            users.close()


@contextmanager
def _stopped_on_sigterm() -> Iterator[None]:
    """SIGTERM (or the terminal closing) ends the command through its `finally` blocks, so
    the HeroDB it shares is released (and stopped by the last user), not left behind. Only
    in the main thread, and only where nobody else handles these signals."""
    import signal
    import threading
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)
    saved = {}
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            saved[sig] = signal.signal(sig, on_term)
    try:
        yield
    finally:
        for sig, handler in saved.items():
            if signal.getsignal(sig) is on_term:
                signal.signal(sig, handler)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
