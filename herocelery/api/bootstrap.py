"""The API keys of a deployment whose services start on their own (compose.yaml): an admin key
for the API and a registrar key for the nodes, made once in the store and handed to the
services as settings files (`api_key: ...`, mode 0600) that they load with HEROCELERY_CONFIG,
so no key is typed, put on a command line or kept in an environment variable.

Guarantees: idempotent (a file whose key the store accepts with the right scope is kept);
a missing or stale file gets a fresh key (the old key of that name is revoked first); the
files are written atomically, readable by their owner only.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError, NotFound, PermissionDenied
from ..settings import Settings

KEYS = (("admin.yaml", "compose-admin", "admin"), ("registrar.yaml", "compose-nodes",
                                                    "registrar"))


def read_key(path: Path) -> str | None:
    """The `api_key` of a settings file, or None when it is missing or has none."""
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    key = data.get("api_key") if isinstance(data, dict) else None
    return str(key) if key else None


def write_key(path: Path, key: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(f"# made by `herocelery api init-keys`; load with HEROCELERY_CONFIG\n"
                  f"api_key: {key}\n")
    os.chmod(tmp, 0o600)
    tmp.replace(path)


def init_keys(settings: Settings, directory: Path) -> dict[str, str]:
    """Make sure `directory` holds a valid admin and registrar key file; returns
    file name -> `kept` or `created`."""
    from ..contexts import Registry, Scope
    from ..store import Store
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{directory}: cannot create the keys directory: "
                          f"{exc.strerror}") from None
    store = Store.from_url(settings.store_url())
    out: dict[str, str] = {}
    try:
        registry = Registry(store.r, settings)
        for file, name, scope in KEYS:
            path = directory / file
            if _valid(registry, read_key(path), name, scope):
                out[file] = "kept"
                continue
            try:
                registry.revoke_key(name)
            except NotFound:
                pass
            write_key(path, registry.create_key(name, Scope(scope)))
            out[file] = "created"
    finally:
        store.close()
    return out


def _valid(registry: Any, key: str | None, name: str, scope: str) -> bool:
    if key is None:
        return False
    try:
        caller = registry.authenticate(key)
    except PermissionDenied:
        return False
    return bool(caller.name == name and caller.scope.value == scope)
