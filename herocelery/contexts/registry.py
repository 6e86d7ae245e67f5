"""The context registry and the API keys, stored in the job store's database.

The store's database is never a context database and, on a HeroDB with an admin secret,
is not registered for access keys, so only admin connections (the tiers) reach it. Contexts
get their own HeroDB database (`HERODB DBCREATE n PRIVATE`) and a readwrite access key
(`HERODB KEYCREATE n readwrite`); the key is kept here so runners can open that database and
nothing else. API keys are stored as SHA-256 hashes only; the key itself is shown once.
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from typing import Any, cast
from urllib.parse import quote, urlsplit, urlunsplit

import redis
from redis.typing import EncodableT, FieldT

from ..errors import HeroCeleryError, NotFound, PermissionDenied, StoreError
from ..keys import Keys
from ..models import NAME_PATTERN
from ..settings import Settings, with_db
from .model import ANYONE, LOCAL, Caller, Context, Role, Scope

DEFAULT = "default"
KEY_PREFIX = "hc_"
NAME_RE = re.compile(NAME_PATTERN)
RESERVED_NAMES = frozenset({"local", ANYONE})

BAD_NAME = ("{what} name {name!r} is not valid: letters, digits, '_', '.', '-' "
            "(at most 200, not starting with '.' or '-')")
NEEDS_KEY = ("this installation has API keys: authenticate with HEROCELERY_API_KEY or "
             "--api-key")
BAD_API_KEY = "the API key is not valid (unknown or revoked)"
NO_CONTEXT = "no context named {name!r} (create it: herocelery context create {name})"
NO_CALLER = "no API key named {name!r}"


class ContextError(HeroCeleryError):
    """A context or API key cannot be created or changed as asked."""

    exit_code = 2


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def check_name(what: str, name: str) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name) or name in RESERVED_NAMES:
        raise ContextError(BAD_NAME.format(what=what, name=name))
    return name


def db_of(url: str) -> int:
    parts = urlsplit(url)
    if parts.scheme == "unix":
        for item in parts.query.split("&"):
            if item.startswith("db="):
                return int(item[3:])
        return 0
    path = parts.path.strip("/")
    return int(path) if path.isdigit() else 0


def bare_url(url: str) -> str:
    """The same server without credentials."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))


def scoped_url(broker_url: str, ctx: Context) -> str:
    """The URL a runner uses for a context: only that database, with its access key.

    With an access key the credentials are `<db>:<key>` (HeroDB's `AUTH n key`), never the
    broker's; without one (no access model) the broker's address with the context's db."""
    if not ctx.access_key:
        return with_db(broker_url, ctx.db)
    parts = urlsplit(with_db(bare_url(broker_url), ctx.db))
    netloc = f"{ctx.db}:{quote(ctx.access_key, safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def register_on(node_admin: redis.Redis, ctx: Context) -> None:
    """Open context `ctx`'s database on another HeroDB with an access model (a node's own
    Hero DB, `node_db_url`) to the same access key: its database registered private and the
    key's SHA-256 granted readwrite, written as admin into that server's registry (database
    0, herodb/access.py). Idempotent."""
    meta, keys = f"herodb:db:{ctx.db}", f"herodb:keys:{ctx.db}"
    pipe = node_admin.pipeline(transaction=True)
    pipe.hsetnx(meta, "visibility", "private")
    pipe.hsetnx(meta, "created", str(int(time.time())))
    pipe.hset(keys, hashlib.sha256(ctx.access_key.encode()).hexdigest(), "readwrite")
    pipe.execute()


class Registry:
    """Contexts and API keys over an admin client of the job store's database."""

    def __init__(self, r: redis.Redis, settings: Settings) -> None:
        self.r = r
        self.settings = settings
        self._protected: bool | None = None

    # ---- the server ---------------------------------------------------------------------
    def protected(self) -> bool:
        """True when the server enforces HeroDB's access model (an admin secret is set)."""
        if self._protected is None:
            probe = redis.Redis.from_url(bare_url(self.settings.require_broker()), protocol=2,
                                         socket_timeout=5)
            try:
                probe.execute_command("DBSIZE")
                self._protected = False
            except redis.AuthenticationError:  # NOAUTH: the access model is on
                self._protected = True
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise StoreError(f"cannot reach the store's server: {exc}") from None
            except redis.RedisError as exc:
                self._protected = "NOAUTH" in str(exc) or "NOPERM" in str(exc)
            finally:
                probe.close()
        return self._protected

    def _reserved(self) -> set[int]:
        s = self.settings
        return {0, db_of(s.require_broker()), s.backend_db, s.store_db, s.context_db}

    # ---- contexts -----------------------------------------------------------------------
    def create_context(self, name: str, *, admins: Iterable[str] = (),
                       readers: Iterable[str] = (), executors: Iterable[str] = (),
                       require_signatures: bool = False, signers: Iterable[str] = ()
                       ) -> Context:
        """Allocate a database (and an access key when the server has an access model)."""
        check_name("context", name)
        signers = frozenset(signers)
        for s in signers:
            if not re.fullmatch(r"[0-9a-f]{64}", s):
                raise ContextError(f"signer {s!r} is not an ed25519 public key (64 hex digits)")
        if not self.r.hsetnx(Keys.context(name), "name", name):
            raise ContextError(f"context {name!r} already exists")
        try:
            db, access_key = self._allocate(name)
        except BaseException:
            self.r.delete(Keys.context(name))
            raise
        ctx = Context(name=name, db=db, access_key=access_key, admins=frozenset(admins),
                      readers=frozenset(readers), executors=frozenset(executors),
                      require_signatures=require_signatures, signers=signers,
                      created_at=time.time())
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(Keys.context(name), mapping=_to_hash(ctx))
        pipe.sadd(Keys.contexts(), name)
        pipe.execute()
        return ctx

    def _allocate(self, name: str) -> tuple[int, str]:
        """A database of its own for context `name`: claimed in `Keys.context_dbs()` (HSETNX,
        so two concurrent creates never share one) and, with an access model, registered
        private with a new readwrite key. The default context always gets `context_db`."""
        protected = self.protected()
        if name == DEFAULT:
            candidates = [self.settings.context_db]
        else:
            count = self._database_count()
            taken = self._reserved() | {c.db for c in self.contexts()}
            if protected:
                taken |= {int(row[0]) for row in self.r.execute_command("HERODB", "DBLIST")}
            candidates = [n for n in range(1, count) if n not in taken]
        for db in candidates:
            if not self.r.hsetnx(Keys.context_dbs(), str(db), name):
                if name == DEFAULT and self.r.hget(Keys.context_dbs(), str(db)) == DEFAULT:
                    pass  # a default context half-made before: finish it
                else:
                    continue
            if not protected:
                return db, ""
            try:
                self.r.execute_command("HERODB", "DBCREATE", db, "PRIVATE")
            except redis.ResponseError as exc:
                if "already registered" not in str(exc) or name != DEFAULT:
                    self.r.hdel(Keys.context_dbs(), str(db))
                    if "already registered" in str(exc):
                        continue  # registered outside herocelery meanwhile: not ours
                    raise ContextError(f"cannot allocate database {db}: {exc}") from None
            key = self.r.execute_command("HERODB", "KEYCREATE", db, "readwrite")
            return db, key.decode() if isinstance(key, bytes) else str(key)
        raise ContextError(f"no free database left for context {name!r}: the server has "
                           f"{self._database_count()} (HeroDB: --databases)")

    def _protect(self, ctx: Context) -> Context:
        """A context made while the server had no admin secret (an `up` data directory of an
        earlier version): register its database private with an access key of its own now,
        so its jobs never get the broker's credentials."""
        try:
            self.r.execute_command("HERODB", "DBCREATE", ctx.db, "PRIVATE")
        except redis.ResponseError as exc:
            if "already registered" not in str(exc):
                raise ContextError(f"cannot protect database {ctx.db} of context "
                                   f"{ctx.name!r}: {exc}") from None
        key = self.r.execute_command("HERODB", "KEYCREATE", ctx.db, "readwrite")
        access_key = key.decode() if isinstance(key, bytes) else str(key)
        self.r.hset(Keys.context(ctx.name), "access_key", access_key)
        return Context(**{**ctx.__dict__, "access_key": access_key})

    def _database_count(self) -> int:
        try:
            reply = self.r.config_get("databases")
            return int(reply.get("databases") or 16)
        except (redis.RedisError, ValueError):
            return 16

    def context(self, name: str) -> Context:
        """The context; `default` is created on first use. NotFound for unknown names."""
        raw = _hash(self.r.hgetall(Keys.context(name)))
        if raw and "db" in raw:
            ctx = _from_hash(raw)
            if not ctx.access_key and self.protected():
                ctx = self._protect(ctx)
            return ctx
        if name == DEFAULT:
            try:
                return self.create_context(DEFAULT)
            except ContextError:
                raw = _hash(self.r.hgetall(Keys.context(name)))
                if raw and "db" in raw:
                    return _from_hash(raw)
                raise
        raise NotFound(NO_CONTEXT.format(name=name))

    def contexts(self) -> list[Context]:
        names = sorted(_texts(self.r.smembers(Keys.contexts())))
        pipe = self.r.pipeline(transaction=False)
        for n in names:
            pipe.hgetall(Keys.context(n))
        return [_from_hash(raw) for raw in pipe.execute() if raw and "db" in raw]

    def delete_context(self, name: str) -> Context:
        """Forget a context and drop all its data (and its database's access keys)."""
        ctx = self.context(name)
        if ctx.access_key or self.protected():
            try:
                self.r.execute_command("HERODB", "DBDELETE", ctx.db)
            except redis.ResponseError as exc:
                if "not registered" not in str(exc):
                    raise ContextError(f"cannot drop database {ctx.db}: {exc}") from None
        else:
            client = redis.Redis.from_url(with_db(self.settings.require_broker(), ctx.db))
            try:
                client.flushdb()
            finally:
                client.close()
        pipe = self.r.pipeline(transaction=True)
        pipe.delete(Keys.context(name))
        pipe.srem(Keys.contexts(), name)
        pipe.hdel(Keys.context_dbs(), str(ctx.db))
        pipe.execute()
        return ctx

    def grant(self, name: str, caller: str, role: Role) -> Context:
        if caller != ANYONE:
            check_name("caller", caller)
        return self._change_acl(name, lambda acl: acl[role].add(caller))

    def revoke(self, name: str, caller: str, role: Role | None = None) -> Context:
        """Remove one role (or every role when `role` is None) of `caller` in a context."""
        def change(acl: dict[Role, set[str]]) -> None:
            for r in ([role] if role else list(Role)):
                acl[r].discard(caller)
        return self._change_acl(name, change)

    def _change_acl(self, name: str, change: Any) -> Context:
        self.context(name)
        key = Keys.context(name)
        out: list[Context] = []

        def tx(pipe: Any) -> None:
            raw = pipe.hgetall(key)
            if not raw or "db" not in raw:
                raise NotFound(NO_CONTEXT.format(name=name))
            ctx = _from_hash(raw)
            acl = {r: set(ctx.members(r)) for r in Role}
            change(acl)
            pipe.multi()
            pipe.hset(key, mapping={f"{r.value}s": json.dumps(sorted(acl[r])) for r in Role})
            out.append(Context(**{**ctx.__dict__, "admins": frozenset(acl[Role.admin]),
                                  "readers": frozenset(acl[Role.reader]),
                                  "executors": frozenset(acl[Role.executor])}))
        self.r.transaction(tx, key)
        return out[-1]

    # ---- callers and API keys -----------------------------------------------------------
    def has_keys(self) -> bool:
        return bool(self.r.scard(Keys.callers()))

    def create_key(self, name: str, scope: Scope) -> str:
        """A new API key for caller `name`; returns the key (only its hash is stored)."""
        check_name("API key", name)
        if not self.r.hsetnx(Keys.caller(name), "name", name):
            raise ContextError(f"an API key named {name!r} already exists (revoke it first)")
        api_key = KEY_PREFIX + secrets.token_urlsafe(32)
        h = key_hash(api_key)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(Keys.caller(name), mapping={"scope": Scope(scope).value, "key_hash": h,
                                              "created_at": repr(time.time())})
        pipe.set(Keys.api_key(h), name)
        pipe.sadd(Keys.callers(), name)
        pipe.execute()
        return api_key

    def callers(self) -> list[dict[str, str]]:
        names = sorted(_texts(self.r.smembers(Keys.callers())))
        pipe = self.r.pipeline(transaction=False)
        for n in names:
            pipe.hgetall(Keys.caller(n))
        return [{"name": n, "scope": raw.get("scope", ""), "key_id": raw.get("key_hash", "")[:12],
                 "created_at": raw.get("created_at", "")}
                for n, raw in zip(names, pipe.execute(), strict=False) if raw]

    def revoke_key(self, name: str) -> None:
        raw = _hash(self.r.hgetall(Keys.caller(name)))
        if not raw:
            raise NotFound(NO_CALLER.format(name=name))
        pipe = self.r.pipeline(transaction=True)
        if raw.get("key_hash"):
            pipe.delete(Keys.api_key(raw["key_hash"]))
        pipe.delete(Keys.caller(name))
        pipe.srem(Keys.callers(), name)
        pipe.execute()

    def authenticate(self, api_key: str | None) -> Caller:
        """The caller of an API key. With no key: the local admin while the installation has
        no API keys at all (single-user), else PermissionDenied."""
        if not api_key:
            if self.has_keys():
                raise PermissionDenied(NEEDS_KEY)
            return LOCAL
        name = self.r.get(Keys.api_key(key_hash(api_key)))
        if name is None:
            raise PermissionDenied(BAD_API_KEY)
        return self.caller(str(name))

    def caller(self, name: str) -> Caller:
        """A caller by name, as the supervisor re-checks it; PermissionDenied if unknown now."""
        if name == LOCAL.name and not self.has_keys():
            return LOCAL
        raw = _hash(self.r.hgetall(Keys.caller(name)))
        if not raw or "scope" not in raw:
            raise PermissionDenied(f"caller {name!r} has no valid API key (unknown or revoked)")
        return Caller(name, Scope(raw["scope"]))


def _hash(raw: Mapping[Any, Any]) -> dict[str, str]:
    """A hash as this registry's client reads it: str keys and values (decode_responses=True;
    redis-py types every reply bytes | str whatever the client)."""
    return cast("dict[str, str]", raw)


def _texts(raw: Iterable[Any]) -> list[str]:
    """Set members as this registry's client reads them: str (see `_hash`)."""
    return cast("list[str]", list(raw))


def _to_hash(ctx: Context) -> dict[FieldT, EncodableT]:
    return {"name": ctx.name, "db": str(ctx.db), "access_key": ctx.access_key,
            "admins": json.dumps(sorted(ctx.admins)), "readers": json.dumps(sorted(ctx.readers)),
            "executors": json.dumps(sorted(ctx.executors)),
            "require_signatures": "1" if ctx.require_signatures else "0",
            "signers": json.dumps(sorted(ctx.signers)), "created_at": repr(ctx.created_at)}


def _from_hash(raw: dict[str, str]) -> Context:
    def names(field: str) -> frozenset[str]:
        return frozenset(json.loads(raw.get(field) or "[]"))
    return Context(name=raw["name"], db=int(raw["db"]), access_key=raw.get("access_key", ""),
                   admins=names("admins"), readers=names("readers"),
                   executors=names("executors"),
                   require_signatures=raw.get("require_signatures") == "1",
                   signers=names("signers"), created_at=float(raw.get("created_at") or 0))


EMBEDDED_ADMIN = "local-admin"


def embedded_admin_key(registry: Registry, path: str | Any) -> str | None:
    """The single-user installation's admin key, kept in `path` (mode 600): created on the
    first run (when the installation has no API keys), read back afterwards. None when the
    installation already has keys but not this file (then the user's own key is used)."""
    import os
    from pathlib import Path
    file = Path(path)
    if file.exists():
        key = file.read_text().strip()
        try:
            registry.authenticate(key)
            return key
        except PermissionDenied:
            pass
    if registry.has_keys():
        return None
    key = registry.create_key(EMBEDDED_ADMIN, Scope.admin)
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(file), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(key + "\n")
    return key
