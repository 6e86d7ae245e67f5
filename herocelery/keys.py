"""Every key herocelery writes. Nothing else formats a key.

The canonical Hero Code names are kept: ``hero:job:<id>`` (hash), ``hero:flow:<id>`` (hash),
``hero:runners:<node>`` (hash, runner type -> heartbeat record).
"""
from __future__ import annotations

import uuid

PREFIX = "hero"


def record_id(home: int) -> str:
    """A fresh flow or job id naming its home: the database of the context it belongs to
    (`<db>-<32 hex>`), so any process holding the id finds the record without a lookup."""
    return f"{home}-{uuid.uuid4().hex}"


def home_of(record_id: str) -> int | None:
    """The database a flow or job id names; None for an id that names none. Pure."""
    head, sep, tail = record_id.partition("-")
    if not sep or not head.isdigit() or len(head) > 4 or not tail:
        return None
    return int(head)


class Keys:
    """Key formatting for the job store.

    Flow, job, lease and log keys (and the `flows` index, metrics) live in the home database of
    the record (`home_of`); contexts, callers, keys, runners and nodes in the store database."""

    @staticmethod
    def job(job_id: str) -> str:
        return f"{PREFIX}:job:{job_id}"

    @staticmethod
    def flow(flow_id: str) -> str:
        return f"{PREFIX}:flow:{flow_id}"

    @staticmethod
    def flows() -> str:
        """Sorted set of flow ids scored by creation time."""
        return f"{PREFIX}:flows"

    @staticmethod
    def runners(node: str) -> str:
        return f"{PREFIX}:runners:{node}"

    @staticmethod
    def nodes() -> str:
        """Set of node names that registered a runner."""
        return f"{PREFIX}:nodes"

    @staticmethod
    def lease(job_id: str) -> str:
        """Held by the runner executing a job; a second delivery finding it held stands down."""
        return f"{PREFIX}:lease:{job_id}"

    @staticmethod
    def inflight() -> str:
        """Sorted set: released jobs not yet terminal -> when the reconciler looks at them
        next (released, dispatched, started; the settle script removes a job)."""
        return f"{PREFIX}:inflight"

    @staticmethod
    def finishing() -> str:
        """Sorted set: flows whose last job settled -> when; finish_flow removes them, so one
        left behind (its settler died before finishing the flow) is the reconciler's."""
        return f"{PREFIX}:finishing"

    @staticmethod
    def reconcilers() -> str:
        """Hash (store database): reconciler name -> its last pass (JSON), for `status`."""
        return f"{PREFIX}:reconcilers"

    @staticmethod
    def reconciler_counts() -> str:
        """Hash (store database): what the reconcilers did (stale found, re-dispatched,
        failed, restored messages, finished flows), for /metrics."""
        return f"{PREFIX}:reconciler-counts"

    @staticmethod
    def logs(job_id: str) -> str:
        return f"{PREFIX}:logs:{job_id}"

    @staticmethod
    def runner_states(node: str) -> str:
        """Hash: runner type -> state managed by the node's supervisor (running/dead/failed)."""
        return f"{PREFIX}:runnerstate:{node}"

    @staticmethod
    def metrics() -> str:
        """Hash of counters for /metrics: `jobs|<runner>|<status>`, `dur|<runner>|<le>`..."""
        return f"{PREFIX}:metrics"

    @staticmethod
    def events_pattern() -> str:
        """Pattern matching every flow's event channel."""
        return f"{PREFIX}:events:*"

    @staticmethod
    def context(name: str) -> str:
        """Hash: a context's database, access key, ACL and signing policy."""
        return f"{PREFIX}:context:{name}"

    @staticmethod
    def contexts() -> str:
        """Set of context names."""
        return f"{PREFIX}:contexts"

    @staticmethod
    def context_dbs() -> str:
        """Hash: database number -> the context that claimed it (no two contexts share one)."""
        return f"{PREFIX}:context-dbs"

    @staticmethod
    def caller(name: str) -> str:
        """Hash: a caller's scope and the SHA-256 of its API key."""
        return f"{PREFIX}:caller:{name}"

    @staticmethod
    def callers() -> str:
        """Set of caller names (one API key each)."""
        return f"{PREFIX}:callers"

    @staticmethod
    def seal_key() -> str:
        """String (store database): the key job records are sealed with (contexts/seal.py)."""
        return f"{PREFIX}:seal-key"

    @staticmethod
    def trusted(home: int) -> str:
        """Hash (store database): job id -> its caller, context, node, runner and limits as
        submitted, for jobs whose records live in database `home` (contexts/seal.py)."""
        return f"{PREFIX}:trusted:{home}"

    @staticmethod
    def api_key(key_hash: str) -> str:
        """String: the caller name owning the API key with this SHA-256."""
        return f"{PREFIX}:apikey:{key_hash}"

    @staticmethod
    def osis_schema(model: str) -> str:
        """String: the JSON definition of a model stored as data, shared by all runners."""
        return f"{PREFIX}:osis-schema:{model}"

    @staticmethod
    def osis_object(model: str, ns: str, obj_id: str) -> str:
        """Hash: one OSIS object (in the context's database). With an empty id: the prefix
        the OSIS set script completes with the id it draws."""
        return f"{PREFIX}:osis:{model}:{ns}:obj:{obj_id}"

    @staticmethod
    def osis_index(model: str, ns: str) -> str:
        """Sorted set (all scores 0) indexing one model in one namespace: members
        `field\\0value\\0id` for every indexed value, and `\\x01\\0sortkey\\0id` for
        paging in id order. Equality and prefix searches are ZRANGEBYLEX ranges."""
        return f"{PREFIX}:osis:{model}:{ns}:index"

    @staticmethod
    def osis_fulltext(model: str, ns: str) -> str:
        """HeroDB full-text index (FT.*, not a key) of one model's `fulltext` fields in one
        namespace; documents are the objects' ids."""
        return f"{PREFIX}:osis:{model}:{ns}:fulltext"

    @staticmethod
    def osis_seq(model: str, ns: str) -> str:
        """Counter: the last numeric id given to a model's object in a namespace."""
        return f"{PREFIX}:osis:{model}:{ns}:seq"

    @staticmethod
    def events(flow_id: str) -> str:
        """Pub/sub channel of a flow's status changes."""
        return f"{PREFIX}:events:{flow_id}"


# upper bounds (seconds) of the job run time histogram buckets; the last bucket is +Inf
DURATION_BUCKETS_S: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                                         60.0, 300.0)


def duration_bucket(seconds: float) -> str:
    """The histogram bucket a run time falls in: its upper bound as text, or `+Inf`. Pure."""
    for bound in DURATION_BUCKETS_S:
        if seconds <= bound:
            return repr(bound)
    return "+Inf"


# kombu's Redis transport keeps priorities 3, 6, 9 of a queue in sibling lists: queue + sep + n
KOMBU_PRIORITY_SEP = "\x06\x16"
KOMBU_PRIORITY_STEPS = (0, 3, 6, 9)


def queue_keys(queue: str) -> list[str]:
    """Every list kombu may use for a queue (one per priority step). Pure."""
    return [queue if p == 0 else f"{queue}{KOMBU_PRIORITY_SEP}{p}" for p in KOMBU_PRIORITY_STEPS]


def supervisor_queue(node: str) -> str:
    return f"supervisor.{node}"


def runner_queue(node: str, runner: str) -> str:
    return f"runner.{node}.{runner}"
