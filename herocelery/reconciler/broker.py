"""What the broker holds: kombu's unacked messages (delivered to a worker, not yet acked) and
whether queues are empty; and putting a dead worker's messages back.

kombu's Redis transport emulates acknowledgements: a delivered message is kept in the
`unacked` hash (delivery tag -> [message, exchange, routing key]) and the `unacked_index`
sorted set (tag -> delivery time) until it is acked. A worker killed with SIGKILL leaves its
messages there, and kombu itself restores them only after the visibility timeout (an hour).
Every live worker reports the tags it holds with its heartbeat (`worker.LoopReport`), so a
tag nobody live reports is a dead worker's: restored at once, with kombu's own
`restore_by_tag`, so the message goes back to the front of its queue exactly as kombu would
put it back.
"""
from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ..keys import queue_keys

if TYPE_CHECKING:
    from kombu.transport.redis import Channel, QoS

MAX_UNACKED = 10_000          # a pass reads at most this many unacked messages (oldest first)
HERO_TASKS = ("hero.",)       # only our own messages are ever restored


@dataclass
class Unacked:
    """The unacked messages of our tasks: tag -> delivery time, and tag -> job ids."""

    delivered: dict[str, float] = field(default_factory=dict)
    jobs: dict[str, list[str]] = field(default_factory=dict)

    def holding(self, tags: Iterable[str]) -> set[str]:
        """Ids of the jobs inside the messages with these tags."""
        out: set[str] = set()
        for tag in tags:
            out.update(self.jobs.get(tag, ()))
        return out


def job_ids(message: Mapping[str, Any]) -> list[str] | None:
    """The job ids a hero task message carries (its first argument: one id or a list);
    None for a message that is not one of our tasks. Pure."""
    headers = message.get("headers") or {}
    if not str(headers.get("task", "")).startswith(HERO_TASKS):
        return None
    body = message.get("body", "")
    try:
        if (message.get("properties") or {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
    except (ValueError, TypeError, IndexError, KeyError):
        return []
    first = args[0] if args else None
    if isinstance(first, str):
        return [first]
    if isinstance(first, list):
        return [str(j) for j in first]
    return []


def read_unacked(channel: Channel) -> Unacked:
    """The unacked hero messages of the broker `channel` belongs to."""
    client = channel.client
    rows = client.zrange(channel.unacked_index_key, 0, MAX_UNACKED - 1, withscores=True)
    out = Unacked()
    if not rows:
        return out
    tags = [_text(tag) for tag, _ in rows]
    for (tag, score), raw in zip(rows, client.hmget(channel.unacked_key, tags), strict=False):
        if raw is None:       # acked between the two reads
            continue
        try:
            message = json.loads(_text(raw))[0]
        except (ValueError, IndexError, TypeError):
            continue
        ids = job_ids(message)
        if ids is None:
            continue
        out.delivered[_text(tag)] = float(score)
        out.jobs[_text(tag)] = ids
    return out


def restore(channel: Channel, tags: Iterable[str]) -> int:
    """Put these unacked messages back at the front of their queues (kombu's own restore:
    one transaction per message, a message acked meanwhile is left alone)."""
    n = 0
    # kombu-stubs type `qos` as the virtual transport's QoS; the Redis transport's (this one)
    # has restore_by_tag
    qos = cast("QoS", channel.qos)
    for tag in tags:
        qos.restore_by_tag(tag, leftmost=True)
        n += 1
    return n


def busy_queues(client: Any, queues: Iterable[str]) -> set[str]:
    """The queues (any priority) holding at least one message, in one round trip."""
    names = sorted(set(queues))
    if not names:
        return set()
    pipe = client.pipeline(transaction=False)
    for q in names:
        for key in queue_keys(q):
            pipe.llen(key)
    raw = pipe.execute()
    per = len(queue_keys(names[0]))
    return {q for i, q in enumerate(names) if any(int(x) for x in raw[i * per:(i + 1) * per])}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
