"""An in-process runtime for tests, like dramatiq's StubBroker or huey's immediate mode.

The coordinator, the supervisor's admission and the runner's executor run as they do in the
workers, against the real store (redis-server or HeroDB) and its real settle scripts; only
the hand-overs between them stay in this process: `canvas.send`, the one seam where messages
leave, gives them to the `InProcess` attached to the app instead of the broker, and `drain()`
delivers them in order (a countdown is honoured as a due time). No Celery worker, no broker
traffic, no fork per hand-over; a flow of a few jobs settles in milliseconds.

The runtime also stands in for the workers' registry entries: it heartbeats a supervisor and
the runner types it is given on its node, so placement and admission see them live.

Wiring, like `celeryapp`: it imports the tiers; no tier imports it.
"""
from __future__ import annotations

import heapq
import itertools
import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

from celery.canvas import Signature

from .canvas import ADMIT_TASK, RUN_TASK
from .celeryapp import make_app
from .runtime import Runtime
from .settings import Settings

SUPERVISOR = "supervisor"


@dataclass(order=True)
class Message:
    """One hand-over waiting for delivery: due time, then the order it was sent in."""

    due: float
    seq: int
    task: str = field(compare=False)
    args: tuple[Any, ...] = field(compare=False)
    kwargs: dict[str, Any] = field(compare=False)
    task_id: str | None = field(compare=False, default=None)


class Retry(Exception):
    """What `task.retry` raises in process: the message was sent again with its countdown."""


class _Task:
    """Stands in for the bound Celery task a runner body gets: `retry` re-sends the message."""

    def __init__(self, hub: InProcess, message: Message) -> None:
        self.hub, self.message = hub, message

    def retry(self, countdown: float | None = None, max_retries: Any = None) -> Exception:
        self.hub.put(self.message.task, self.message.args, self.message.kwargs,
                     countdown=countdown, task_id=self.message.task_id)
        return Retry()


class InProcess:
    """A runtime whose hand-overs run in this process. Use as a context manager, or `close()`.

    `runners`: the runner types it serves on `settings.node` (the registry entries it keeps
    fresh); `processes`: how many job processes each says it has (admission's batching)."""

    def __init__(self, settings: Settings, runners: Sequence[str], *, processes: int = 1
                 ) -> None:
        self.settings = settings
        self.app = make_app(settings, name="herocelery-inprocess")
        self.app.inprocess = self          # type: ignore[attr-defined]  # canvas.send's seam
        self.runtime: Runtime = self.app.runtime
        self.runners = list(runners)
        self.processes = processes
        self.worker = f"inprocess@{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.queue: list[Message] = []
        self.delivered: list[Message] = []
        self._seq = itertools.count()
        self._beat_at = 0.0
        self.beat()

    # ---- the seam -------------------------------------------------------------------------
    def accept(self, signatures: Iterable[Signature], countdown: float | None) -> None:
        """What canvas.send does with signatures of this app: queue them here."""
        for sig in signatures:
            self.put(str(sig.task), tuple(sig.args), dict(sig.kwargs), countdown=countdown,
                     task_id=sig.options.get("task_id"))

    def put(self, task: str, args: tuple[Any, ...], kwargs: dict[str, Any], *,
            countdown: float | None = None, task_id: str | None = None) -> None:
        due = time.monotonic() + (countdown or 0.0)
        heapq.heappush(self.queue, Message(due, next(self._seq), task, args, kwargs, task_id))

    # ---- delivery -------------------------------------------------------------------------
    def step(self) -> bool:
        """Deliver the next message (waiting for it if it is not due yet); False if none."""
        if not self.queue:
            return False
        message = heapq.heappop(self.queue)
        wait = message.due - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.beat()
        self.delivered.append(message)
        self._deliver(message)
        return True

    def drain(self, *, timeout_s: float = 30.0, max_messages: int = 100_000) -> int:
        """Deliver messages until none is left; returns how many. TimeoutError past
        `timeout_s` or `max_messages` (something keeps sending)."""
        deadline = time.monotonic() + timeout_s
        n = 0
        while self.queue:
            if time.monotonic() > deadline or n >= max_messages:
                raise TimeoutError(f"in-process runtime: {len(self.queue)} message(s) still "
                                   f"queued after {n} delivered")
            self.step()
            n += 1
        return n

    def _deliver(self, message: Message) -> None:
        from .runners.execute import run_job, run_jobs
        from .supervisor import admit_batch
        rt = self.runtime
        if message.task == ADMIT_TASK:
            admit_batch(rt, list(message.args[0]))
        elif message.task == RUN_TASK:
            target, flow_id = message.args[0], message.kwargs.get("flow_id", "")
            try:
                if isinstance(target, list):
                    run_jobs(rt, list(target), flow_id)
                else:
                    run_job(rt, _Task(self, message), target, flow_id)
            except Retry:
                pass
        else:
            raise ValueError(f"in-process runtime: no task {message.task!r}")

    # ---- the workers it stands in for --------------------------------------------------------
    def beat(self, *, force: bool = False) -> None:
        """Registry heartbeats of this node's supervisor and runners, as live workers send."""
        now = time.monotonic()
        if not force and now - self._beat_at < self.settings.heartbeat_s / 2:
            return
        self._beat_at = now
        store = self.runtime.store
        info = {"pid": os.getpid(), "host": socket.gethostname(), "node": self.settings.node,
                "processes": self.processes, "heartbeat_s": self.settings.heartbeat_s,
                "broker_db": self.settings.broker_db(), "consuming": True}
        for kind in [SUPERVISOR, *self.runners]:
            store.register_runner(self.settings.node, kind, self.worker, info)

    def close(self) -> None:
        store = self.runtime.store
        for kind in [SUPERVISOR, *self.runners]:
            store.unregister_runner(self.settings.node, kind, self.worker)
        self.runtime.close()
        self.app.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
