"""Seals of job records: what submission checked, bound to the record it was checked on.

Job records live in their context's database, which the context's own jobs can write (a
job's `ctx.db` opens it). The fields the supervisor and the runner act on — who the caller
is, which context, where, what runs and with which limits — are sealed when the coordinator
builds the record: an HMAC-SHA256 over those fields under the installation's seal key. The
key lives in the store's database, which no context key opens under HeroDB's access model,
and in the memory of the tiers (not readable by jobs: herocelery/hardening.py). The
supervisor checks the seal before dispatch and the runner just before it runs the job, so a
record whose sealed fields were rewritten (a sibling's `caller_id` set to `root`, its
`timeout_s` raised) is refused with PermissionDenied and never runs with them.

What admission and the runner act on besides the script (caller, context, node, runner and
the limits) is also kept as submitted, out of the context's reach (`Keys.trusted(home)` in
the store database): a record whose seal breaks is re-derived from that copy, and runs as
submitted when the seal then holds (a rewritten `caller_id` or `timeout_s` is simply not
used); a rewritten script, args or env cannot be re-derived, and the job is refused.

Fields that move while a job lives (status, attempts, generation, results, logs, the
prerequisite counters) are not sealed: they say how far the job got, not who it runs as.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from typing import Any

from ..keys import Keys
from ..models import Job

SEALED = ("id", "flow_id", "name", "caller_id", "context_id", "node", "runner", "script",
          "args", "env", "timeout_s", "retries", "retry_backoff_s", "allow_failure")
TAMPERED = ("the job's record was changed after submission (its sealed fields - caller, "
            "context, node, runner, script, args, env, limits - no longer match the seal); "
            "it is not run")

_keys: dict[Any, bytes] = {}
_lock = threading.Lock()


def seal_key(store_r: Any, *, fresh: bool = False) -> bytes:
    """The installation's seal key (made once, kept in the store database); cached per
    server for the life of the process (`fresh`: read it from the store again)."""
    pool = store_r.connection_pool
    where = (tuple(sorted((k, str(v)) for k, v in pool.connection_kwargs.items()
                          if k in ("host", "port", "path", "db"))))
    key = _keys.get(where)
    if key is not None and not fresh:
        return key
    with _lock:
        store_r.set(Keys.seal_key(), secrets.token_hex(32), nx=True)
        raw = store_r.get(Keys.seal_key())
        key = (raw.encode() if isinstance(raw, str) else raw) or b""
        _keys[where] = key
    return key


def verify(job: Job, store_r: Any) -> str | None:
    """`broken` under the installation's key. A seal that fails under the cached key is
    checked once more under the key the store holds now: a store that lost its data (a
    restart without persistence) gets a new key at the next submit, and a tier started
    before must not refuse every job from then on (issue 13.4)."""
    if broken(job, seal_key(store_r)) is None:
        return None
    return broken(job, seal_key(store_r, fresh=True))


TRUSTED = ("id", "flow_id", "name", "caller_id", "context_id", "node", "runner", "timeout_s",
           "retries", "retry_backoff_s", "allow_failure")


def trusted_copy(job: Job) -> str:
    """The fields of `job` kept out of the context's reach. Pure."""
    return json.dumps([getattr(job, name) for name in TRUSTED], separators=(",", ":"))


def restore(job: Job, job_id: str, store_r: Any) -> Job | None:
    """`job` (read from record `job_id`, whose seal broke) with the fields kept at submission
    put back, if its seal then holds; None when they cannot make it whole (the script, args
    or env were rewritten, or nothing was kept)."""
    from ..keys import home_of
    home = home_of(job_id)
    raw = store_r.hget(Keys.trusted(home), job_id) if home is not None else None
    if not raw:
        return None
    try:
        values = json.loads(raw)
        fixed = job.model_copy(update=dict(zip(TRUSTED, values, strict=False)))
    except (TypeError, ValueError):
        return None
    if fixed.id != job_id or verify(fixed, store_r) is not None:
        return None
    return fixed


def _message(job: Job) -> bytes:
    parts = []
    for name in SEALED:
        value = getattr(job, name)
        if name in ("args", "env"):
            parts.append(json.dumps(value, sort_keys=True, separators=(",", ":")))
        elif isinstance(value, bool):
            parts.append("1" if value else "0")
        elif isinstance(value, float):
            parts.append(repr(value))
        else:
            parts.append(str(value))
    return "\x1f".join(parts).encode()


def seal(job: Job, key: bytes) -> str:
    """The seal of `job`'s sealed fields under `key`. Pure."""
    return hmac.new(key, _message(job), hashlib.sha256).hexdigest()


def broken(job: Job, key: bytes) -> str | None:
    """Why `job`'s record may not be trusted (TAMPERED), or None when its seal holds. Pure."""
    if job.seal and hmac.compare_digest(job.seal, seal(job, key)):
        return None
    return TAMPERED
