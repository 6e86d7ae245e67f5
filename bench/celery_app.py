"""Plain Celery app for the broker comparison (HeroDB vs redis-server): broker and result
backend from the environment."""
from __future__ import annotations

import os

from celery import Celery

app = Celery("bench", broker=os.environ["BENCH_BROKER"], backend=os.environ["BENCH_BACKEND"],
             set_as_current=False)
app.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json",
                worker_hijack_root_logger=False, result_expires=3600)


@app.task(name="bench.noop")
def noop(x: int = 0) -> int:
    return x


@app.task(name="bench.add1")
def add1(x: int) -> int:
    return x + 1


@app.task(name="bench.total")
def total(xs: list[int]) -> int:
    return sum(xs)
