"""Starting the Celery workers of the tiers: one supervisor per node, one worker per runner
type per node. A worker registers itself in the node's registry and heartbeats from its main
process; it unregisters when it stops, so a stopped runner disappears at once and a killed one
goes stale after three heartbeats.

Each heartbeat carries what the worker's own event loop last reported (`LoopReport`, a
consumer bootstep run by the loop's timer): when it ran (`loop_at`), whether it consumes its
queue, and the delivery tags of the messages it holds (reserved, waiting for a countdown, or
running). Health is judged from that, not from a task sent through the queue, so a runner
whose processes are all busy is not mistaken for a dead one, and no health check shows up as
a task in Flower; the reconciler uses the held tags to tell a dead worker's messages from a
live one's.
"""
from __future__ import annotations

import os
import socket
import threading
import time
from typing import Any

from celery import signals

from .celeryapp import make_app
from .keys import runner_queue, supervisor_queue
from .settings import Settings
from .store import Store


class Heartbeat:
    """Registers one worker in the registry and refreshes it every `heartbeat_s`."""

    def __init__(self, settings: Settings, node: str, runner: str, worker: str, *,
                 processes: int = 1) -> None:
        self.settings, self.node, self.runner, self.worker = settings, node, runner, worker
        self.processes = processes
        self.loop: dict[str, Any] | None = None   # the latest LoopReport (set by the loop)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._store: Store | None = None

    def beat(self) -> None:
        if self._store is None:
            self._store = Store.from_url(self.settings.store_url())
        report = self.loop or {"consuming": False}
        self._store.register_runner(self.node, self.runner, self.worker,
                                    {"pid": os.getpid(), "host": socket.gethostname(),
                                     "node": self.node, "processes": self.processes,
                                     "heartbeat_s": self.settings.heartbeat_s,
                                     "broker_db": self.settings.broker_db(), **report})

    def start(self, **_: Any) -> None:
        def loop() -> None:
            while True:
                try:
                    self.beat()
                except Exception:  # store unreachable for a moment: next beat retries
                    pass
                if self._stop.wait(self.settings.heartbeat_s):
                    return
        self._thread = threading.Thread(target=loop, name="hero-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, **_: Any) -> None:
        self._stop.set()
        try:
            if self._store is None:
                self._store = Store.from_url(self.settings.store_url())
            self._store.unregister_runner(self.node, self.runner, self.worker)
        except Exception:
            pass


def loop_report(consumer: Any, queue: str) -> dict[str, Any]:
    """What the worker's event loop knows right now: that it runs, whether it consumes
    `queue`, and the delivery tags of every message it holds. Called from the loop itself,
    so Celery's request registry is read without racing it."""
    from celery.worker import state
    tasks = getattr(consumer, "task_consumer", None)
    consuming = bool(tasks is not None and tasks.consuming_from(queue))
    held = []
    for request in list(state.requests.values()):
        tag = getattr(getattr(request, "message", None), "delivery_tag", None)
        if tag is not None:
            held.append(str(tag))
    return {"loop_at": time.time(), "consuming": consuming, "queue": queue, "held": held}


def loop_step(beat: Heartbeat, queue: str, interval_s: float) -> type:
    """A consumer bootstep that has the worker's event loop report into `beat` every
    `interval_s` (restarted with the consumer after a lost broker connection)."""
    from celery import bootsteps

    class LoopReport(bootsteps.StartStopStep):
        requires = ("celery.worker.consumer.tasks:Tasks",)

        def __init__(self, c: Any, **kwargs: Any) -> None:
            self.tref: Any = None
            super().__init__(c, **kwargs)

        def start(self, c: Any) -> None:
            self.report(c)
            self.tref = c.timer.call_repeatedly(interval_s, self.report, (c,))

        def stop(self, c: Any) -> None:
            if self.tref is not None:
                c.timer.cancel(self.tref)
                self.tref = None
            beat.loop = None      # not consuming until the consumer starts again

        shutdown = stop

        def report(self, c: Any) -> None:
            beat.loop = loop_report(c, queue)

    return LoopReport


# A tier's Celery consumer (runners and supervisors). After a lost broker connection Celery's
# consumer reconnects with kombu's default intervals:
# tries at 0, 2, 6, 12 s ..., so a store back after 2.5 s (HeroDB restarted) was reached only
# at 6 s. A tier retries soon and often instead: 0.2 s, then 0.5 s more each time, at most 2 s.
RECONNECT = {"interval_start": 0.2, "interval_step": 0.5, "interval_max": 2.0}


def _consumer_class() -> type:
    from celery.worker.consumer import Consumer as CeleryConsumer

    class Consumer(CeleryConsumer):
        def ensure_connected(self, conn: Any) -> Any:
            ensure = conn.ensure_connection

            def quick(*args: Any, **kwargs: Any) -> Any:
                for key, value in RECONNECT.items():
                    kwargs.setdefault(key, value)
                return ensure(*args, **kwargs)
            conn.ensure_connection = quick
            return super().ensure_connected(conn)

        def on_connection_error_after_connected(self, exc: Any) -> None:
            # Celery collects the lost connection, then closes it. collect() drops the
            # transport's address (transport.client = None), which every channel of that
            # connection still needs: closing the default channel (it restores its unacked
            # messages) and acking a job that finishes after the reconnect both raised
            # AttributeError ('NoneType' ... 'hostname'), an "Unrecoverable error" that
            # killed the whole worker at every store restart with jobs in hand (its
            # supervisor started another seconds later). The old channels keep the address:
            # their restore and acks reach the store again; if anything else of that kind
            # breaks, the messages stay in kombu's unacked set for the reconciler.
            conn = self.connection
            transport = getattr(conn, "_transport", None)
            address = getattr(transport, "client", None)
            if conn is not None and transport is not None and address is not None:
                collect = conn.collect

                def collect_keeping_address(*args: Any, **kwargs: Any) -> Any:
                    try:
                        return collect(*args, **kwargs)
                    finally:
                        transport.client = address
                # replaced on this one connection object, on purpose
                conn.collect = collect_keeping_address  # type: ignore[method-assign]
            try:
                super().on_connection_error_after_connected(exc)
            except AttributeError:
                self.connection = None
    return Consumer


def _watch(app: Any, beat: Heartbeat, queue: str, settings: Settings) -> None:
    app.conf.worker_consumer = _consumer_class()
    app.steps["consumer"].add(loop_step(beat, queue, min(1.0, settings.heartbeat_s / 2)))
    signals.worker_ready.connect(beat.start, weak=False)
    signals.worker_shutdown.connect(beat.stop, weak=False)


def worker_name(role: str, node: str, runner: str | None = None) -> str:
    parts = [role, node] + ([runner] if runner else []) + [str(os.getpid())]
    return "-".join(parts) + "@" + socket.gethostname()


def start_supervisor(settings: Settings, node: str, *, concurrency: int = 4,
                     manage: list[str] | None = None, runner_concurrency: int = 0,
                     manager: Any = None) -> None:
    """Run a supervisor worker for `node` in this process until it is stopped. With `manage`
    (or an already started RunnerManager `manager`), it also starts, restarts, health-checks
    and finally stops those runner workers."""
    if manage and manager is None:
        from .supervisor.manage import RunnerManager
        manager = RunnerManager(settings, node, manage, concurrency=runner_concurrency)
        manager.start()                       # runners start while the supervisor does
    if manager is not None:
        signals.worker_shutdown.connect(manager.stop, weak=False)
    app = make_app(settings)
    app.runtime.tier()
    name = worker_name("supervisor", node)
    beat = Heartbeat(settings, node, "supervisor", name)
    _watch(app, beat, supervisor_queue(node), settings)
    serve(app, queue=supervisor_queue(node), name=name, pool="threads",
          concurrency=concurrency, log_level=settings.log_level)


def start_runner(settings: Settings, runner: str, node: str, *, concurrency: int = 0) -> None:
    """Run a worker for one runner type on `node` in this process until it is stopped."""
    from .runners import get_runner
    get_runner(runner)  # fail fast on an unknown or unavailable type
    if runner in ("python", "shell"):
        from .hardening import job_ids
        job_ids(settings.job_user)  # fail fast: no such user, or not root to switch to it
    app = make_app(settings)
    app.runtime.tier()
    app.runtime.node = node   # it admits what its jobs release on this node (celeryapp.py)
    name = worker_name("runner", node, runner)
    conc = concurrency or settings.worker_concurrency()
    beat = Heartbeat(settings, node, runner, name, processes=conc)
    _watch(app, beat, runner_queue(node, runner), settings)
    serve(app, queue=runner_queue(node, runner), name=name, pool="prefork", concurrency=conc,
          log_level=settings.log_level)


def serve(app: Any, *, queue: str, name: str, pool: str, concurrency: int,
          log_level: str) -> None:
    """Run a Celery worker consuming `queue` until it is stopped, then exit with its code.

    The same worker `celery worker -Q ... --without-gossip --without-mingle` starts, built
    directly: skipping Celery's command line (it imports every `celery` sub-command) saves
    about 0.6 s of CPU per worker process, measured in bench/bench_up.py."""
    import sys
    worker = app.Worker(hostname=name, queues=[queue], pool_cls=pool, concurrency=concurrency,
                        without_gossip=True, without_mingle=True, loglevel=log_level)
    worker.start()
    sys.exit(worker.exitcode)
