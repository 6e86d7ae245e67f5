"""Flows as code: `Flow("etl")`, `flow.job(...)`, `flow.submit()` -> `FlowHandle`."""
from __future__ import annotations

import atexit
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..errors import FlowError, HeroCeleryError
from ..models import TERMINAL_FLOW, FlowRecord, FlowSpec, FlowStatus, Job, JobSpec
from ..settings import Settings

if TYPE_CHECKING:
    from ..graph import ValidFlow
    from ..runtime import HeroApp
    from ..store import Store


class WaitTimeout(HeroCeleryError):
    """A flow did not end within the time given to `wait`."""


class Flow:
    """A DAG of jobs built in Python. Job names are unique; `after` names earlier jobs."""

    def __init__(self, name: str, *, context: str = "default") -> None:
        self.name = name
        self.context = context
        self._jobs: dict[str, JobSpec] = {}

    def job(self, name: str, *, script: str, runner: str = "python",
            after: Iterable[str] | str = (), retries: int = 0, timeout: float | None = None,
            node: str | None = None, allow_failure: bool = False,
            env: Mapping[str, str] | None = None, args: Mapping[str, Any] | None = None,
            retry_backoff: float | None = None) -> str:
        """Add a job; returns its name so it can be used in another job's `after`."""
        if name in self._jobs:
            raise FlowError(f"flow {self.name!r}, job {name!r}: defined twice")
        after_list = [after] if isinstance(after, str) else list(after)
        try:
            self._jobs[name] = JobSpec(runner=runner, script=script, after=after_list,
                                       retries=retries, timeout=timeout, node=node,
                                       allow_failure=allow_failure, env=dict(env or {}),
                                       args=dict(args or {}), retry_backoff=retry_backoff)
        except ValidationError as exc:
            from .load import describe_validation
            raise FlowError(f"flow {self.name!r}, job {name!r}: "
                            f"{describe_validation(exc)}") from None
        return name

    def spec(self) -> FlowSpec:
        from .load import spec_from_mapping
        return spec_from_mapping({"name": self.name, "context": self.context,
                                  "jobs": {k: v.model_dump() for k, v in self._jobs.items()}},
                                 f"flow {self.name!r}")

    def sign(self, key: Any) -> Flow:
        """Sign every job (ed25519) with `key`: a SigningKey or a key file path. A job changed
        after signing fails verification, so sign last."""
        from ..contexts.signing import SigningKey, canonical
        signer = SigningKey.load(key)
        for name, js in self._jobs.items():
            data = canonical(context=self.context, name=name, runner=js.runner,
                             script=js.script, args=js.args, env=js.env, after=js.after)
            sig = signer.sign(data)
            js.signatures = [s for s in js.signatures
                             if s.get("public_key") != sig["public_key"]] + [sig]
        return self

    def submit(self, settings: Settings | None = None, *, api_key: str | None = None,
               sign_with: Any = None) -> FlowHandle:
        """Validate, store and start this flow, as the owner of `api_key` (default: the
        `api_key` setting, else on this machine the local admin key), optionally signing
        every job first. With no broker configured it goes to the `herocelery up` running
        on the data directory (NotRunning when none runs)."""
        from ..errors import NotRunning
        from ..local import NOTHING_RUNS, find
        if sign_with is not None:
            self.sign(sign_with)
        settings = settings or Settings.load()
        found = find(settings)
        if found is None:
            raise NotRunning(NOTHING_RUNS.format(dir=settings.data_dir))
        return submit_spec(self.spec(), found.settings, api_key=api_key)


def submit_spec(spec: FlowSpec | ValidFlow, settings: Settings, *,
                api_key: str | None = None) -> FlowHandle:
    """Submit a flow (validated once: a `ValidFlow` for these settings is not checked again)
    and return its handle."""
    from ..coordinator import submit
    app = _submitter(settings)
    flow_id = submit(app.runtime, spec, api_key=api_key)
    return FlowHandle(flow_id, settings)


# Submitting clients kept for the life of the process, one per (process, settings): a
# fresh Celery app per submit cost ~15 ms (the app's finalize) plus ~8 new connections,
# the largest part of a short flow's latency (bench/bench_accounting.py). Bounded, so a
# process that talks to many installations (the tests) does not keep them all open.
_SUBMITTERS: OrderedDict[tuple[int, Settings], HeroApp] = OrderedDict()
_SUBMITTERS_MAX = 4
_SUBMITTERS_LOCK = threading.Lock()


def _submitter(settings: Settings) -> HeroApp:
    from ..celeryapp import make_app
    key = (os.getpid(), settings)
    with _SUBMITTERS_LOCK:
        app = _SUBMITTERS.get(key)
        if app is not None:
            _SUBMITTERS.move_to_end(key)
            return app
        app = _SUBMITTERS[key] = make_app(settings)
        while len(_SUBMITTERS) > _SUBMITTERS_MAX:
            _close(_SUBMITTERS.popitem(last=False)[1])
    return app


def _shared_store(settings: Settings) -> Store:
    return _submitter(settings).runtime.store


def _close(app: HeroApp) -> None:
    try:
        app.runtime.close()
        app.close()
    except Exception:  # noqa: BLE001 - closing clients of a server that is gone
        pass


@atexit.register
def _close_submitters() -> None:
    """Before the interpreter shuts down: no Celery noise at exit (DESIGN §5)."""
    with _SUBMITTERS_LOCK:
        for key, app in list(_SUBMITTERS.items()):
            if key[0] == os.getpid():
                _close(app)
        _SUBMITTERS.clear()


class FlowHandle:
    """A submitted flow: read its status and results from the store."""

    def __init__(self, flow_id: str, settings: Settings) -> None:
        self.id = flow_id
        self.settings = settings
        self._store = _shared_store(settings)   # this process's client of the store

    def record(self) -> FlowRecord:
        return self._store.flow(self.id)

    def status(self) -> FlowStatus:
        return self.record().status

    def jobs(self) -> dict[str, Job]:
        return self._store.flow_jobs(self.record())

    @property
    def results(self) -> dict[str, Any]:
        """Result of every job (None for jobs that did not finish)."""
        flow = self.record()
        names = list(flow.jobs)
        results = self._store.results(flow.jobs.values())
        return {n: r for n, (_, r) in zip(names, results, strict=False)}

    def progress(self) -> tuple[int, int]:
        """(jobs in a terminal state, all jobs)."""
        flow = self.record()
        return len(flow.jobs) - flow.remaining, len(flow.jobs)

    def wait(self, timeout: float | None = None, *, poll_s: float = 0.05,
             on_progress: Callable[[int, int], None] | None = None) -> FlowStatus:
        """Block until the flow ends; returns its final status. WaitTimeout past `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if on_progress is not None:
                flow = self.record()
                on_progress(len(flow.jobs) - flow.remaining, len(flow.jobs))
                status = flow.status
            else:  # the status alone: not the record's whole job map at every poll
                status = self._status()
            if status in TERMINAL_FLOW:
                return status
            if deadline is not None and time.monotonic() > deadline:
                raise WaitTimeout(f"flow {self.id} still {status.value} after "
                                  f"{timeout:g}s")
            time.sleep(poll_s)

    def _status(self) -> FlowStatus:
        (raw,) = self._store.flow_fields(self.id, "status")
        if raw is None:
            return self.record().status   # raises the store's NotFound, worded there
        return FlowStatus(raw)

    def close(self) -> None:
        """Nothing to release: the store client is the process's, shared (`_submitter`)."""
