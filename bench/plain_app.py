"""The plain Celery baseline: one no-op task that counts itself in Redis."""
from __future__ import annotations

import os
import time

import redis
from celery import Celery

app = Celery("plain", broker=os.environ["PLAIN_BROKER"], set_as_current=False)
app.conf.update(
    task_serializer="json", accept_content=["json"], task_ignore_result=True,
    worker_hijack_root_logger=False,
)
if os.environ.get("PLAIN_SAME_CONFIG") == "1":  # the options herocelery uses
    app.conf.update(task_acks_late=True, task_reject_on_worker_lost=True,
                    worker_prefetch_multiplier=1, worker_send_task_events=True,
                    task_send_sent_event=True)
_counter = None


def _client() -> redis.Redis:
    global _counter
    if _counter is None:
        _counter = redis.Redis.from_url(os.environ["PLAIN_COUNTER"])
    return _counter


@app.task(name="plain.noop")
def noop(key: str) -> None:
    _client().incr(key)


@app.task(name="plain.stamp")
def stamp(key: str) -> None:
    """The last link of a chain: when it ran (for the chain latency), then the count."""
    pipe = _client().pipeline(transaction=False)
    pipe.set(key + ":t", repr(time.time()))
    pipe.incr(key)
    pipe.execute()
