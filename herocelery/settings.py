"""One settings object, built at the entry point from flags, environment and an optional file.

No other module reads the environment; the object is passed down. Units live in the names.
"""
from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import TypeAdapter, ValidationError

from .errors import ConfigError

ENV_PREFIX = "HEROCELERY_"
RUNNER_TYPES: tuple[str, ...] = ("python", "shell", "heroscript", "rhai", "osis")


def _default_data_dir() -> Path:
    return Path("~/.herocelery").expanduser()


@dataclass(frozen=True)
class Settings:
    """Everything configurable. Built at the entry point; no other module reads the environment."""

    broker_url: str | None = None            # None: start the embedded HeroDB
    # the password of broker_url (and node_db_url) is read from this file, never carried in
    # an environment: processes we start get the URLs without it and read the file
    broker_secret_file: Path | None = None
    backend_db: int = 2                      # Celery results: this database of the broker's server
    store_db: int = 3                        # job and flow records live here
    context_db: int = 4                      # the default context's data (runners' HeroDB)
    data_dir: Path = field(default_factory=_default_data_dir)
    node: str = "node1"                      # default node of jobs and of `supervisor start`
    nodes: tuple[str, ...] = ("node1",)
    runner_types: tuple[str, ...] = RUNNER_TYPES
    job_timeout_s: float = 300.0
    job_retry_backoff_s: float = 1.0
    max_jobs_per_flow: int = 20_000
    max_script_bytes: int = 1_048_576
    max_log_bytes: int = 65_536
    job_memory_bytes: int = 1_073_741_824    # RLIMIT_AS of python/shell jobs
    job_cpu_s: int = 600                     # RLIMIT_CPU of python/shell jobs
    env_allow: tuple[str, ...] = ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "TMPDIR")
    visibility_timeout_s: float = 3600.0     # must exceed the longest job timeout (kombu#337)
    lease_s: float = 10.0                    # a running job's lease; renewed while it runs
    store_retry_s: float = 30.0              # tiers retry an unreachable store this long
    lost_runs_limit: int = 2                 # extra runs of a job whose worker died mid-run
    reconcile_interval_s: float = 2.0        # a reconciler pass every this many seconds
    reconcile_grace_s: float = 10.0          # a released job unheard of this long is looked at
    reconcile_batch: int = 500               # jobs a pass looks at per context database
    heartbeat_s: float = 2.0                 # runner registry heartbeat interval
    supervisor_batch: int = 64               # jobs admitted per supervisor message
    concurrency: int = 0                     # worker processes per runner; 0 = number of CPUs
    herodb_port: int = 0                     # embedded HeroDB port; 0 = a free port
    herodb_appendfsync: str = "everysec"
    herodb_encrypt: bool = True              # a new embedded HeroDB log: encrypted at rest
    log_level: str = "WARNING"
    # ---- running it (`herocelery up`, the API, supervised runners) -------------------
    api_host: str = "127.0.0.1"              # beyond loopback requires api_key
    api_port: int = 8780                     # 0 = a free port
    api_key: str | None = None               # Bearer key of the API; None: loopback only, no key
    api_cors_origins: tuple[str, ...] = ()   # other origins whose pages may call the API (keyed)
    node_db_url: str | None = None           # this node's Hero DB (runners' data); None: broker's
    runner_restart_limit: int = 5            # restarts of a dying runner before it is `failed`
    runner_backoff_s: float = 0.5            # first restart delay; doubles per restart, max 30 s
    health_interval_s: float = 0.5           # how often a supervisor checks its runners' health
    runner_wait_s: float = 120.0             # a released job waits this long for a live runner
    health_timeout_s: float = 10.0           # a runner whose loop is silent this long is `dead`
    job_user: str | None = None              # python/shell jobs run as this user (runner: root)

    # ---- construction ---------------------------------------------------------------
    @classmethod
    def load(cls, *, file: str | Path | None = None, env: Mapping[str, str] | None = None,
             **overrides: Any) -> Settings:
        """Defaults < file < environment (HEROCELERY_*) < explicit overrides (flags)."""
        values: dict[str, Any] = {}
        env = os.environ if env is None else env
        path = file or env.get(ENV_PREFIX + "CONFIG")
        if path:
            values.update(_read_file(Path(path)))
        known = {f.name: f for f in fields(cls)}
        for name in known:
            raw = env.get(ENV_PREFIX + name.upper())
            if raw is not None and raw != "":
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"unknown setting(s): {', '.join(unknown)}")
        converted = {k: _convert(known[k], v) for k, v in values.items()}
        settings = cls(**converted)
        settings.check()
        if settings.broker_secret_file is not None:
            settings = settings.with_secret(settings.broker_secret_file)
        return settings

    def with_secret(self, path: Path) -> Settings:
        """These settings with the broker's password read from `path`, put into broker_url
        and node_db_url where they carry none (`to_env` leaves it out again)."""
        try:
            secret = Path(path).read_text().strip()
        except OSError as exc:
            raise ConfigError(f"broker_secret_file {path}: cannot read it: "
                              f"{exc.strerror}") from None
        if not secret:
            raise ConfigError(f"broker_secret_file {path} is empty")
        return self.with_(broker_secret_file=Path(path),
                          broker_url=with_password(self.broker_url, secret),
                          node_db_url=with_password(self.node_db_url, secret))

    def check(self) -> None:
        if self.visibility_timeout_s <= self.job_timeout_s:
            raise ConfigError(
                f"visibility_timeout_s ({self.visibility_timeout_s}) must exceed job_timeout_s "
                f"({self.job_timeout_s}): a longer job would be delivered twice")
        if self.herodb_appendfsync not in ("always", "everysec", "no"):
            raise ConfigError("herodb_appendfsync must be always, everysec or no")
        if self.broker_url is not None and urlsplit(self.broker_url).scheme not in (
                "redis", "rediss", "unix"):
            raise ConfigError(f"broker_url must be a redis:// URL, got {self.broker_url!r}")

    def with_(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    # ---- derived --------------------------------------------------------------------
    def require_broker(self) -> str:
        if self.broker_url is None:
            raise ConfigError("no broker configured: set HEROCELERY_BROKER_URL or --broker")
        return self.broker_url

    def broker_db(self) -> int:
        """The database number of the broker URL (where the queues are)."""
        parts = urlsplit(self.require_broker())
        if parts.scheme == "unix":
            for item in parts.query.split("&"):
                if item.startswith("db=") and item[3:].isdigit():
                    return int(item[3:])
            return 0
        path = parts.path.strip("/")
        return int(path) if path.isdigit() else 0

    def backend_url(self) -> str:
        return with_db(self.require_broker(), self.backend_db)

    def store_url(self) -> str:
        return with_db(self.require_broker(), self.store_db)

    def worker_concurrency(self) -> int:
        return self.concurrency or (os.cpu_count() or 1)

    def to_env(self) -> dict[str, str]:
        """The settings as HEROCELERY_* variables, for the worker processes we start."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if self.broker_secret_file is not None and f.name in ("broker_url", "node_db_url"):
                value = without_password(value)     # the child reads broker_secret_file
            if isinstance(value, tuple):
                value = ",".join(value)
            out[ENV_PREFIX + f.name.upper()] = str(value)
        return out


def with_db(url: str, db: int) -> str:
    """The same server address with another database number."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = "&".join(p for p in parts.query.split("&") if p and not p.startswith("db="))
        query = f"{query}&db={db}" if query else f"db={db}"
        return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, ""))


def with_password(url: str | None, secret: str) -> str | None:
    """`url` with `secret` as its password, unless it names credentials already. Pure."""
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme == "unix" or "@" in parts.netloc:
        return url
    from urllib.parse import quote
    return urlunsplit((parts.scheme, f":{quote(secret, safe='')}@{parts.netloc}", parts.path,
                       parts.query, parts.fragment))


def without_password(url: str) -> str:
    """`url` without credentials. Pure."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query,
                       parts.fragment))


def _read_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read settings file: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: settings file must be a mapping of name: value")
    return data


def _convert(f: dataclasses.Field[Any], value: Any) -> Any:
    """A setting's value (text from the environment or a file, or a typed flag) converted
    by pydantic to the field's declared type: `"false"` is False, `"3"` is 3. Lists may be
    written as comma-separated text; numbers given to a text setting are kept as text; paths
    are expanded (`~`). ConfigError naming the setting otherwise."""
    hint = _hints()[f.name]
    if _is_tuple(hint):
        if isinstance(value, str):
            value = tuple(v.strip() for v in value.split(",") if v.strip())
        elif isinstance(value, (list, tuple)):
            value = tuple(str(v) for v in value)
    elif _takes_text(hint) and isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    try:
        out = _adapter(f.name).validate_python(value)
    except ValidationError:
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        raise ConfigError(f"setting {f.name}: {value!r} is not a valid {kind}") from None
    return out.expanduser() if isinstance(out, Path) else out


@cache
def _hints() -> dict[str, Any]:
    return get_type_hints(Settings)


@cache
def _adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(_hints()[name])


def _is_tuple(hint: Any) -> bool:
    return get_origin(hint) is tuple


def _takes_text(hint: Any) -> bool:
    return hint is str or str in get_args(hint)
