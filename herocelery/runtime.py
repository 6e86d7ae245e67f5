"""What a worker process needs: settings, the Celery app and (lazily) the store clients.

Below the tiers: coordinator, supervisor, runners and the reconciler all receive a `Runtime`;
it carries data and clients, never a tier's function (settling is `settle.py`, imported
directly by whoever settles). `celeryapp.make_app` builds one per app.
"""
from __future__ import annotations

from typing import Any

from celery import Celery

from .settings import Settings
from .store import Store


class HeroApp(Celery):
    """A Celery app that carries its `Runtime` (set by `celeryapp.make_app`)."""

    runtime: Runtime


class Runtime:
    """Settings, the Celery app and (lazily) the store.

    `retry_s`: how long a store command is retried on a transient error before it raises;
    short for clients (a user waits), `store_retry_s` in the tiers' workers (`tier()`)."""

    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self.app = app
        self.retry_s = 3.0
        self._store: Store | None = None
        self._watch: Store | None = None
        # context id -> (valid until, the context); see runners/execute.py
        self.contexts: dict[str, tuple[float, Any]] = {}
        self.node: str | None = None   # the node a tier's worker serves (worker.py)
        # the node whose released jobs this worker admits itself (a runner, while it runs
        # one job: `settle.job_ended` keeps them in `released` instead of sending them to
        # the node's supervisor; celeryapp.run_task admits them with the supervisor's code)
        self.admit_here: str | None = None
        self.released: list[tuple[str, str, str, str]] = []   # (flow, job, node, name)

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.from_url(self.settings.store_url(), retry_s=self.retry_s)
            self._store.look_after_s = self.settings.reconcile_grace_s
        return self._store

    @property
    def watch(self) -> Store:
        """A store client that gives up fast, for periodic checks (lease renewal,
        cancellation): a check that fails is simply made again at the next tick."""
        if self._watch is None:
            self._watch = Store.from_url(self.settings.store_url(), retry_s=0.5)
        return self._watch

    def tier(self) -> Runtime:
        """Configure this runtime for a tier's worker: retry the store for `store_retry_s`."""
        self.retry_s = self.settings.store_retry_s
        return self

    def close(self) -> None:
        for store in (self._store, self._watch):
            if store is not None:
                store.close()
        self._store = self._watch = None
