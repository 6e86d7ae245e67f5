"""The job store: flow and job records in HeroDB/Redis hashes.

Each flow and its jobs live in their context's database, the *home* their ids name
(`keys.home_of`); the store database (`self.r`) holds what belongs to the installation:
contexts, callers, runners, nodes. `home(id)` is the client of a record's database.

The only module that reads or writes job and flow records (and the indexes and leases that go
with them): the tiers call its methods, never a raw client with a key. A writer takes an
optional pipeline so the caller decides what is atomic. Multi-key state changes that must be
atomic (settling a job, cancelling a flow) are Lua scripts (`lua/*.lua`, loaded by
`store_lua.py`), which HeroDB runs as Redis does.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry
from redis.typing import EncodableT, FieldT

from .errors import NotFound, StoreError
from .keys import Keys, home_of
from .models import FlowRecord, FlowStatus, Job, JobStatus, now
from .store_lua import script

# A store that is restarting, loading its data, paused, failing over or unreachable: worth
# retrying with backoff, never a job's error (issue 13.2). BusyLoadingError (-LOADING) is a
# ConnectionError; -READONLY and -MASTERDOWN are answers of a replica or a failing primary.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    redis.exceptions.ConnectionError, redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError, redis.exceptions.MasterDownError)

BACKOFF_BASE_S = 0.05
BACKOFF_CAP_S = 2.0


def retries_for(budget_s: float, base_s: float = BACKOFF_BASE_S, cap_s: float = BACKOFF_CAP_S
                ) -> int:
    """How many retries with exponential backoff (base, 2·base, ... capped) wait about
    `budget_s` in total. Pure."""
    n, waited, delay = 0, 0.0, base_s
    while waited < budget_s:
        waited += min(cap_s, delay)
        delay *= 2
        n += 1
    return n


def store_retry(budget_s: float) -> Retry:
    """redis-py's per-command retry for the transient errors, bounded by `budget_s`."""
    return Retry(ExponentialBackoff(cap=BACKOFF_CAP_S, base=BACKOFF_BASE_S),
                 retries_for(budget_s), supported_errors=TRANSIENT_ERRORS)


def count_job_commands(runner: str, status: str, duration_s: float | None
                       ) -> list[list[Any]]:
    """The commands that count an ended job for /metrics. Pure."""
    from .keys import duration_bucket
    out: list[list[Any]] = [["HINCRBY", Keys.metrics(), f"jobs|{runner}|{status}", 1]]
    if duration_s is not None and duration_s >= 0:
        out.append(["HINCRBY", Keys.metrics(), f"dur|{runner}|{duration_bucket(duration_s)}", 1])
        out.append(["HINCRBY", Keys.metrics(), f"dursum_us|{runner}", int(duration_s * 1e6)])
    return out


def publish_command(flow_id: str, event: Mapping[str, Any]) -> list[Any]:
    return ["PUBLISH", Keys.events(flow_id), json.dumps(event)]


# ---- the client boundary: the store's clients decode replies (decode_responses=True), but
# redis-py types every reply bytes | str and takes hash fields as an invariant mapping
def text_hash(raw: Mapping[Any, Any]) -> dict[str, str]:
    """A hash as a store client reads it: str fields and values."""
    return cast("dict[str, str]", raw)


def texts(raw: Iterable[Any]) -> list[str]:
    """Set members as a store client reads them: str."""
    return cast("list[str]", list(raw))


def fields_of(values: Mapping[str, str]) -> Mapping[FieldT, EncodableT]:
    """A str hash as redis-py's hset types its mapping."""
    return cast("Mapping[FieldT, EncodableT]", values)


def encode(fields: Mapping[str, Any]) -> dict[str, str]:
    """Field values as stored: JSON for structured fields, text for the rest."""
    out: dict[str, str] = {}
    for key, value in fields.items():
        if key in Job.JSON_FIELDS:
            out[key] = json.dumps(value)
        elif isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif hasattr(value, "value"):
            out[key] = str(value.value)
        else:
            out[key] = str(value)
    return out


class Store:
    """Typed access to the records; every key comes from `Keys`."""

    def __init__(self, client: redis.Redis, *, look_after_s: float = 10.0) -> None:
        self.r = client
        # a released job the reconciler has not heard of for this long is looked at
        self.look_after_s = look_after_s
        self._homes: dict[int, redis.Redis] = {}
        self._settle = client.register_script(script("settle"))
        self._cancel = client.register_script(script("cancel"))
        self._release = client.register_script(script("release"))
        self._renew = client.register_script(script("renew"))
        self._steal = client.register_script(script("steal"))
        self._claim = client.register_script(script("claim"))
        self._set_if_generation = client.register_script(script("set_if_generation"))
        self._reclaim = client.register_script(script("reclaim"))

    @classmethod
    def from_url(cls, url: str, *, retry_s: float = 3.0, timeout_s: float = 60.0) -> Store:
        """A store on `url`. Every command (pipelines and scripts included) is retried with
        backoff on TRANSIENT_ERRORS for about `retry_s` before the error is raised: short for
        clients that show it to a user, long (`store_retry_s`) for the tiers. `timeout_s`
        bounds a reply (a store that vanished without closing the connection); a script
        that is re-run after a lost reply is harmless (claims re-take their own lease,
        settles find the job terminal, and the reconciler moves on what that left)."""
        return cls(redis.Redis.from_url(
            url, decode_responses=True, health_check_interval=30, retry=store_retry(retry_s),
            socket_timeout=timeout_s, socket_connect_timeout=min(5.0, timeout_s),
            socket_keepalive=True))

    def home(self, record_id: str) -> redis.Redis:
        """The client of the database a flow or job id names (the store database for an id
        that names none). NotFound when the id names a database no context holds."""
        db = home_of(record_id)
        if db is None:
            return self.r
        if db not in self._homes and db not in self.homes():
            raise NotFound(f"no flow or job with id {record_id!r}: it names database {db}, "
                           "which belongs to no context (deleted, or lost with the store's "
                           "data after a restart without persistence)")
        return self.database(db)

    def database(self, db: int) -> redis.Redis:
        """A client of database `db` on the store's server, with the store's credentials."""
        client = self._homes.get(db)
        if client is None:
            pool = self.r.connection_pool
            client = redis.Redis(connection_pool=redis.ConnectionPool(
                connection_class=pool.connection_class, max_connections=pool.max_connections,
                **{**pool.connection_kwargs, "db": db}))
            self._homes[db] = client
        return client

    def homes(self) -> list[int]:
        """Every database holding records: the contexts' (claimed in the store database)."""
        return sorted(int(db) for db in self.r.hkeys(Keys.context_dbs()))

    def close(self) -> None:
        for client in self._homes.values():
            client.close()
        self._homes.clear()
        self.r.close()

    def ping(self) -> None:
        try:
            self.r.ping()
        except redis.RedisError as exc:
            raise StoreError(f"cannot reach the job store: {exc}") from None

    # ---- flows ------------------------------------------------------------------------
    def create_flow(self, flow: FlowRecord, jobs: Iterable[Job]) -> None:
        """Store a flow and all its jobs in one transaction, in the flow's home."""
        pipe = self.home(flow.id).pipeline(transaction=True)
        ready = {}
        for job in jobs:
            pipe.hset(Keys.job(job.id), mapping=fields_of(job.to_hash()))
            if job.pending == 0:
                ready[job.id] = flow.created_at + self.look_after_s
        pipe.hset(Keys.flow(flow.id), mapping=fields_of(flow.to_hash()))
        pipe.zadd(Keys.flows(), {flow.id: flow.created_at})
        if ready:
            pipe.zadd(Keys.inflight(), ready)   # released: the reconciler's to watch
        pipe.execute()

    def flow(self, flow_id: str) -> FlowRecord:
        raw = self.home(flow_id).hgetall(Keys.flow(flow_id))
        if not raw:
            raise NotFound(f"no flow with id {flow_id!r} in the store: never submitted here, "
                           "or lost with the store's data (a restart without persistence)")
        return FlowRecord.from_hash(text_hash(raw))

    def set_flow(self, flow_id: str, pipe: Any = None, **fields: Any) -> None:
        (pipe or self.home(flow_id)).hset(Keys.flow(flow_id), mapping=fields_of(encode(fields)))

    def flow_fields(self, flow_id: str, *names: str) -> list[str | None]:
        """Some fields of a flow's record as stored (None: absent), one round trip."""
        return cast("list[str | None]", self.home(flow_id).hmget(Keys.flow(flow_id), list(names)))

    def end_flow(self, flow_id: str, status: FlowStatus, at: float,
                 event: Mapping[str, Any]) -> None:
        """Give a flow its final status, take it off the reconciler's `finishing` index and
        announce it, in one round trip."""
        pipe = self.home(flow_id).pipeline(transaction=False)
        self.set_flow(flow_id, pipe, status=status, finished_at=at)
        pipe.zrem(Keys.finishing(), flow_id)
        self.publish(flow_id, event, pipe)
        pipe.execute()

    def rerun(self, flow_id: str, again: Sequence[tuple[str, int]]) -> None:
        """Start jobs of an ended flow again, in one transaction: each (job id, its pending
        prerequisites) loses its outcome and waits again in a new generation (a fresh task
        id, never a revoked one); those with nothing pending join the reconciler's
        `inflight` index; the flow is `started` again with `len(again)` jobs to go."""
        pipe = self.home(flow_id).pipeline(transaction=True)
        for job_id, pending in again:
            _same_home(flow_id, job_id)
            pipe.hdel(Keys.job(job_id), "result", "error", "started_at", "finished_at",
                      "task_id")
            self.set_job(job_id, pipe, status=JobStatus.waiting_for_prerequisites,
                         pending=pending, attempts=0, logs="")
            pipe.hincrby(Keys.job(job_id), "generation", 1)
        ready = [jid for jid, pending in again if pending == 0]
        if ready:
            pipe.zadd(Keys.inflight(), {jid: now() + self.look_after_s for jid in ready})
        pipe.hdel(Keys.flow(flow_id), "finished_at")
        self.set_flow(flow_id, pipe, status=FlowStatus.started, remaining=len(again))
        pipe.execute()

    def flow_ids(self, limit: int = 50) -> list[str]:
        """The newest flows of every context, newest first."""
        newest: list[tuple[float, str]] = []
        for db in self.homes():
            rows = cast("list[tuple[str, float]]", self.database(db).zrevrange(
                Keys.flows(), 0, max(0, limit - 1), withscores=True))
            newest += [(score, fid) for fid, score in rows]
        newest.sort(reverse=True)
        return [fid for _, fid in newest[:limit]]

    def flows(self, limit: int = 50) -> list[FlowRecord]:
        """The newest flows of every context, newest first (one round trip per context)."""
        ids = self.flow_ids(limit)
        by_home: dict[int | None, list[str]] = {}
        for fid in ids:
            by_home.setdefault(home_of(fid), []).append(fid)
        found: dict[str, FlowRecord] = {}
        for group in by_home.values():
            pipe = self.home(group[0]).pipeline(transaction=False)
            for fid in group:
                pipe.hgetall(Keys.flow(fid))
            for fid, raw in zip(group, pipe.execute(), strict=False):
                if raw:  # else its context was deleted meanwhile
                    found[fid] = FlowRecord.from_hash(raw)
        return [found[fid] for fid in ids if fid in found]

    def flow_ids_starting(self, prefix: str, limit: int = 10) -> list[str]:
        """Up to `limit` flow ids that start with `prefix` (`4-1a2b`), or whose hex part
        does when `prefix` names no database (`1a2b`); for ids given as a unique prefix."""
        head, dash, tail = prefix.partition("-")
        if dash and head.isdigit():
            homes = [int(head)] if int(head) in self.homes() else []
            pattern = f"{head}-{_glob_escape(tail)}*"
        else:
            homes, pattern = self.homes(), f"*-{_glob_escape(prefix)}*"
        out: list[str] = []
        for db in homes:
            for fid, _ in self.database(db).zscan_iter(Keys.flows(), match=pattern, count=1000):
                out.append(fid)
                if len(out) >= limit:
                    return sorted(out)
        return sorted(out)

    # ---- jobs -------------------------------------------------------------------------
    def job(self, job_id: str) -> Job:
        raw = self.home(job_id).hgetall(Keys.job(job_id))
        if not raw:
            raise NotFound(f"no job with id {job_id!r}")
        return Job.from_hash(text_hash(raw))

    def jobs(self, job_ids: Iterable[str]) -> list[Job]:
        """Jobs of one home (one flow's, typically), read in one round trip."""
        ids = list(job_ids)
        out = []
        for jid, raw in zip(ids, self._per_job(ids, "HGETALL"), strict=False):
            if not raw:
                raise NotFound(f"no job with id {jid!r}")
            out.append(Job.from_hash(raw))
        return out

    def _per_job(self, ids: list[str], command: str, *args: str) -> list[Any]:
        """One command on each job's record, all in one home, in one round trip."""
        if not ids:
            return []
        pipe = self.home(ids[0]).pipeline(transaction=False)
        for jid in ids:
            _same_home(ids[0], jid)
            pipe.execute_command(command, Keys.job(jid), *args)
        return pipe.execute()

    def job_fields(self, job_ids: Iterable[str], *names: str) -> list[list[str | None]]:
        """Some fields of each job's record as stored (None: absent); jobs of one home, one
        round trip."""
        return [list(row) for row in self._per_job(list(job_ids), "HMGET", *names)]

    def job_field(self, job_id: str, name: str) -> str | None:
        """One field of a job's record as stored (None: absent, or no such job)."""
        value = self.home(job_id).hget(Keys.job(job_id), name)
        return None if value is None else str(value)

    def update_jobs(self, updates: Iterable[tuple[str, Mapping[str, Any], Sequence[str]]]
                    ) -> None:
        """Several jobs' records changed in one round trip (jobs of one home): each
        (job id, fields to write, fields to drop); the drops go first."""
        rows = list(updates)
        if not rows:
            return
        pipe = self.home(rows[0][0]).pipeline(transaction=False)
        for job_id, fields, drop in rows:
            _same_home(rows[0][0], job_id)
            if drop:
                pipe.hdel(Keys.job(job_id), *drop)
            if fields:
                self.set_job(job_id, pipe, **fields)
        pipe.execute()

    def descendants(self, job_id: str) -> list[str]:
        """Ids of every job downstream of `job_id`, read level by level from the records
        (one round trip per level)."""
        r = self.home(job_id)
        seen: dict[str, None] = {}
        level = [job_id]
        while level:
            pipe = r.pipeline(transaction=False)
            for jid in level:
                pipe.hget(Keys.job(jid), "dependents")
            nxt = []
            for raw in pipe.execute():
                for d in json.loads(raw or "[]"):
                    if d not in seen:
                        seen[d] = None
                        nxt.append(d)
            level = nxt
        return list(seen)

    def run_state(self, job_id: str, flow_id: str) -> tuple[str | None, int, str | None]:
        """(job status, job generation, flow status) of a running job, one round trip: what
        its keeper watches to stop a cancelled or superseded run."""
        _same_home(flow_id, job_id)
        pipe = self.home(job_id).pipeline(transaction=False)
        pipe.hmget(Keys.job(job_id), "status", "generation")
        pipe.hget(Keys.flow(flow_id), "status")
        (status, generation), flow_status = pipe.execute()
        return status, int(generation or 0), flow_status

    def flow_jobs(self, flow: FlowRecord) -> dict[str, Job]:
        return {job.name: job for job in self.jobs(flow.jobs.values())}

    def results(self, job_ids: Iterable[str]) -> list[tuple[str | None, Any]]:
        """(status, result) of each job (jobs of one home)."""
        out = []
        for status, result in self._per_job(list(job_ids), "HMGET", "status", "result"):
            out.append((status, json.loads(result) if result else None))
        return out

    def set_job(self, job_id: str, pipe: Any = None, **fields: Any) -> None:
        (pipe or self.home(job_id)).hset(Keys.job(job_id), mapping=fields_of(encode(fields)))

    def set_job_if(self, job_id: str, in_generation: int, **fields: Any) -> bool:
        """Write fields only while the job is still in generation `in_generation` (nobody
        retried or re-dispatched it meanwhile); True if written."""
        flat: list[str] = []
        for key, value in encode(fields).items():
            flat += [key, value]
        return bool(self._set_if_generation(keys=[Keys.job(job_id)], args=[in_generation, *flat],
                                            client=self.home(job_id)))

    # ---- atomic transitions -------------------------------------------------------------
    def settle(self, flow_id: str, job_id: str, fields: Mapping[str, Any],
               release: list[str], skip: list[str], *, lease_token: str | None = None,
               generation: int | None = None,
               effects: Iterable[Sequence[Any]] = ()) -> tuple[int, list[str]]:
        """Record a job's final state, release or skip its dependents, count the flow down,
        in one atomic script.

        `lease_token`: the settling execution's lease, released in the same call.
        `generation`: settle only if the job is still in this generation (a run that was
        superseded by a retry or a re-dispatch records nothing). `effects`: commands
        (metrics, PUBLISH of live events) run only if this call settles the job.
        Returns (jobs still not terminal in the flow, released job ids that are now ready);
        (-1, []) if the job was already terminal (a second delivery, or cancelled).
        """
        flat: list[str] = []
        for key, value in encode(fields).items():
            flat += [key, value]
        for jid in (job_id, *release, *skip):
            _same_home(flow_id, jid)
        keys = [Keys.flow(flow_id), Keys.job(job_id), Keys.inflight(), Keys.finishing()] + \
            [Keys.job(j) for j in release] + [Keys.job(j) for j in skip]
        tail: list[Any] = []
        count = 0
        for command in effects:
            tail += [len(command), *command]
            count += 1
        lease = [Keys.lease(job_id), lease_token] if lease_token else ["", ""]
        gen = "" if generation is None else str(generation)
        at = time.time()
        args = [len(release), repr(at), len(flat) // 2, *flat, *lease, gen, Keys.job(""),
                repr(at + self.look_after_s), Keys.flow(""), count, *tail]
        out = self._settle(keys=keys, args=args, client=self.home(flow_id))
        remaining = int(out[0])
        if remaining < 0 and len(out) == 1:
            return -1, []
        return remaining, [release[int(i) - 1] for i in out[1:]]

    def cancel(self, flow_id: str, job_ids: list[str]) -> list[str] | None:
        """Mark every non-terminal job and the flow cancelled; None if the flow had ended."""
        for jid in job_ids:
            _same_home(flow_id, jid)
        out = self._cancel(keys=[Keys.flow(flow_id)] + [Keys.job(j) for j in job_ids],
                           args=[repr(time.time()), Keys.inflight(), Keys.job("")],
                           client=self.home(flow_id))
        if int(out[0]) == -1:
            return None
        return [job_ids[int(i) - 1] for i in out[1:]]

    def reclaim(self, job_id: str, status: str, generation: int, *, new_status: str,
                note: Mapping[str, Any] | None = None) -> int:
        """The reconciler's atomic claim of a stale job (see RECLAIM_LUA): its new
        generation, or 0 when the job changed since it was read (someone else took it, or
        its run came back)."""
        at = time.time()
        return int(self._reclaim(
            keys=[Keys.job(job_id), Keys.lease(job_id), Keys.inflight()],
            args=[status, generation, repr(at), repr(at + self.look_after_s), job_id,
                  new_status, json.dumps(dict(note)) if note else ""],
            client=self.home(job_id)))

    # ---- the reconciler's indexes (per context database) ------------------------------------
    def inflight_due(self, db: int, until: float, limit: int) -> list[str]:
        """Up to `limit` released jobs of database `db` due for a look at `until`."""
        return [str(i) for i in self.database(db).zrangebyscore(
            Keys.inflight(), "-inf", until, start=0, num=limit)]

    def inflight_rows(self, db: int, job_ids: Sequence[str], *names: str
                      ) -> list[tuple[list[str | None], bool]]:
        """(fields as stored, whether its lease is held) of each job, one round trip."""
        pipe = self.database(db).pipeline(transaction=False)
        for jid in job_ids:
            pipe.hmget(Keys.job(jid), *names)
            pipe.exists(Keys.lease(jid))
        raw = pipe.execute()
        return [(list(raw[2 * i]), bool(raw[2 * i + 1])) for i in range(len(job_ids))]

    def reschedule(self, db: int, forget: Sequence[str], later: Mapping[str, float]) -> None:
        """Take jobs off the `inflight` index, and look at others again later (job id ->
        when), one round trip. XX: a job that settled since it was read stays out of the
        index."""
        pipe = self.database(db).pipeline(transaction=False)
        if forget:
            pipe.zrem(Keys.inflight(), *forget)
        if later:
            pipe.zadd(Keys.inflight(), dict(later), xx=True)
        pipe.execute()

    def finishing_due(self, db: int, until: float, limit: int) -> list[str]:
        """Up to `limit` flows of database `db` whose last job settled before `until`."""
        return [str(f) for f in self.database(db).zrangebyscore(
            Keys.finishing(), "-inf", until, start=0, num=limit)]

    def unmark_finishing(self, db: int, flow_id: str) -> None:
        self.database(db).zrem(Keys.finishing(), flow_id)

    # ---- the reconcilers' own records (store database) -------------------------------------
    def record_reconciler(self, name: str, state: Mapping[str, Any],
                          counts: Mapping[str, int]) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(Keys.reconcilers(), name, json.dumps(dict(state)))
        for key, n in counts.items():
            if n:
                pipe.hincrby(Keys.reconciler_counts(), key, n)
        pipe.execute()

    def reconcilers(self) -> dict[str, dict[str, Any]]:
        return {str(k): json.loads(v) for k, v in self.r.hgetall(Keys.reconcilers()).items()}

    def reconciler_counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.r.hgetall(Keys.reconciler_counts()).items()}

    # ---- leases: one live execution per job -----------------------------------------------
    def renew(self, job_id: str, token: str, lease_s: float, generation: int = 0) -> bool:
        """Extend this execution's lease (taking it back if it lapsed while the store was
        away); False when another execution holds it."""
        return bool(self._renew(keys=[Keys.lease(job_id), Keys.job(job_id)],
                                args=[token, int(lease_s * 1000), generation],
                                client=self.home(job_id)))

    def release(self, job_id: str, token: str) -> None:
        self._release(keys=[Keys.lease(job_id)], args=[token], client=self.home(job_id))

    def claim_job(self, job_id: str, flow_id: str, token: str, lease_s: float, worker: str
                  ) -> tuple[str, Any]:
        """Atomically: check the job may run, take its lease, count the attempt, mark it
        started and announce it. Returns ("ok", Job) or (verdict, detail)."""
        at = now()
        event = json.dumps({"type": "job", "flow_id": flow_id, "job_id": job_id,
                            "status": "started", "at": at})
        _same_home(flow_id, job_id)
        out = self._claim(keys=[Keys.job(job_id), Keys.flow(flow_id), Keys.lease(job_id)],
                          args=[token, int(lease_s * 1000), repr(at), worker,
                                Keys.events(flow_id), event], client=self.home(job_id))
        return self._claim_result(job_id, out)

    def _claim_result(self, job_id: str, out: list[Any]) -> tuple[str, Any]:
        verdict = str(out[0])
        if verdict != "ok":
            return verdict, (out[1] if len(out) > 1 else None)
        flat = out[1:]
        raw = {str(flat[i]): flat[i + 1] for i in range(0, len(flat), 2)}
        return "ok", Job.from_hash(raw)

    def steal(self, job_id: str, holder: str, token: str, lease_s: float) -> bool:
        """Take over the lease of a holder known to be dead (compare-and-set)."""
        return bool(self._steal(keys=[Keys.lease(job_id)],
                                args=[holder, token, int(lease_s * 1000)],
                                client=self.home(job_id)))

    # ---- runner registry ----------------------------------------------------------------
    def register_runner(self, node: str, runner: str, worker: str, info: Mapping[str, Any]
                        ) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(Keys.runners(node), f"{runner}@{worker}",
                  json.dumps({**info, "runner": runner, "worker": worker,
                              "heartbeat": time.time()}))
        pipe.sadd(Keys.nodes(), node)
        pipe.execute()

    def unregister_runner(self, node: str, runner: str, worker: str) -> None:
        self.r.hdel(Keys.runners(node), f"{runner}@{worker}")

    def runners(self, node: str) -> list[dict[str, Any]]:
        return [json.loads(v) for v in self.r.hgetall(Keys.runners(node)).values()]

    def nodes(self) -> list[str]:
        return sorted(texts(self.r.smembers(Keys.nodes())))

    def live_workers(self, nodes: Iterable[str], heartbeat_s: float) -> dict[str, set[str]]:
        """node -> the worker kinds (runner types, and `supervisor`) with a fresh heartbeat
        there (`live_entries`)."""
        return {node: {str(e.get("runner")) for e in rows}
                for node, rows in self.live_entries(nodes, heartbeat_s).items()}

    def live_entries(self, nodes: Iterable[str], heartbeat_s: float
                     ) -> dict[str, list[dict[str, Any]]]:
        """node -> the registry entries (`register_runner`) of its workers with a fresh
        heartbeat: younger than three intervals, as supervisor.registry.is_alive judges (the
        worker's own interval when it says, else `heartbeat_s`); one round trip."""
        names = list(nodes)
        pipe = self.r.pipeline(transaction=False)
        for node in names:
            pipe.hvals(Keys.runners(node))
        at = time.time()
        out: dict[str, list[dict[str, Any]]] = {}
        for node, values in zip(names, pipe.execute(), strict=False):
            entries = [json.loads(v) for v in values]
            out[node] = [e for e in entries if at - float(e.get("heartbeat", 0))
                         < 3 * max(heartbeat_s, float(e.get("heartbeat_s") or 0))]
        return out

    def publish(self, flow_id: str, event: Mapping[str, Any], pipe: Any = None) -> None:
        """Announce a status change on the flow's channel (fire and forget)."""
        (pipe or self.r).publish(Keys.events(flow_id), json.dumps(event))  # server-wide

    # ---- supervised runner state and metrics (read by the API) ---------------------------
    def set_runner_state(self, node: str, runner: str, state: Mapping[str, Any],
                         pipe: Any = None) -> None:
        (pipe or self.r).hset(Keys.runner_states(node), runner, json.dumps(dict(state)))

    def set_runner_states(self, node: str, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Every supervised runner's state of a node, one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for runner, state in states.items():
            self.set_runner_state(node, runner, state, pipe)
        pipe.execute()

    def runner_states(self, node: str) -> dict[str, dict[str, Any]]:
        states = text_hash(self.r.hgetall(Keys.runner_states(node)))
        return {k: json.loads(v) for k, v in states.items()}

    def metric_counters(self) -> dict[str, int]:
        """The /metrics counters, summed over every context's database (jobs count where
        they settle, in their home)."""
        out: dict[str, int] = {}
        for db in self.homes():
            for k, v in text_hash(self.database(db).hgetall(Keys.metrics())).items():
                out[k] = out.get(k, 0) + int(v)
        return out


def _glob_escape(text: str) -> str:
    """`text` matched literally inside a SCAN/ZSCAN MATCH pattern. Pure."""
    return "".join("\\" + ch if ch in "*?[]\\" else ch for ch in text)


def _same_home(anchor: str, record_id: str) -> None:
    """StoreError unless both ids name the same database: one atomic step or one round trip
    never spans two contexts."""
    if home_of(anchor) != home_of(record_id):
        raise StoreError(f"records {anchor!r} and {record_id!r} belong to different contexts' "
                         "databases")
