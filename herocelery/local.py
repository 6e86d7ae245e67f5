"""The local installation of a data directory, as every entry point finds it.

A data directory (the `data_dir` setting, default `~/.herocelery`) holds one installation:

    up.lock, up.json   `herocelery up` while it runs: the lock is held, the state (mode 0600)
                       says where its broker, store and API are
    herodb/            the embedded HeroDB's log; `herodb/herodb.lock` is held by the one
                       HeroDB serving it (herocelery/herodb/lock.py), with its address
    admin.key          the local admin key (mode 0600), made when the installation first
                       starts (`up`, `run`, or any command that opens the embedded HeroDB)

The rule (issue 12.3): on the same machine, as the same Unix user, the local admin key is
used when no key is given and the broker is this installation's own (found here, or a
configured loopback broker whose store knows the key). Beyond loopback, keys are required.

`connect(settings)` is the front door: Settings with a broker, whichever applies first —
the configured broker; the running `up`'s; the HeroDB another command holds on the data
directory; or an embedded HeroDB started for the duration (holding the directory's lock).
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Literal, Mapping
from urllib.parse import urlsplit

from .errors import NotRunning
from .settings import Settings

UP_LOCK = "up.lock"
UP_STATE = "up.json"
ADMIN_KEY = "admin.key"
HERODB_DIR = "herodb"
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
    def from_json(cls, data: Mapping[str, Any]) -> "UpState":
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
    """The installation to use for one command (see the module docstring). With `start`
    and nothing running, an embedded HeroDB is started on the data directory for the
    duration (the local admin key is made at its first start); without, NotRunning."""
    found = find(settings)
    if found is not None:
        yield found
        return
    if not start:
        raise NotRunning(NOTHING_RUNS.format(dir=settings.data_dir))
    from .errors import StoreError
    from .launcher import start_herodb
    try:
        herodb = start_herodb(settings)
    except StoreError:
        found = find(settings)      # another command started one meanwhile: use it
        if found is None:
            raise
        yield found
        return
    try:
        embedded = with_local_secret(settings.with_(broker_url=herodb.address + "/1"))
        yield Local(ensure_admin_key(embedded), "embedded", settings.api_key)
    finally:
        herodb.stop()
