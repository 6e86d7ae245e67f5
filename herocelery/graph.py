"""Pure decisions about a flow's graph: validation, readiness, what a failure skips.

No I/O here; every function is tested with tables of cases.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import networkx as nx

from .errors import FlowError
from .models import FAILED_JOB, TERMINAL_JOB, FlowSpec, FlowStatus, JobStatus

if TYPE_CHECKING:
    from .settings import Settings


@dataclass(frozen=True)
class ValidFlow:
    """A flow spec that passed `validate` under the limits it carries: what `checked` returns
    and what the coordinator accepts without checking it again (issue 17.4). Made only by
    `checked` (or `signed`, which adds signatures and changes nothing validate looks at)."""

    spec: FlowSpec
    runner_types: frozenset[str]
    max_jobs: int
    max_script_bytes: int

    def holds_for(self, settings: Settings) -> bool:
        """Whether these are the limits `settings` set (else the flow is checked again).
        Pure."""
        return (self.runner_types == frozenset(settings.runner_types)
                and self.max_jobs == settings.max_jobs_per_flow
                and self.max_script_bytes == settings.max_script_bytes)

    def signed(self, spec: FlowSpec) -> ValidFlow:
        """The same flow with its jobs' signatures added (`contexts.signing.sign_spec`). Pure.
        ValueError when `spec` differs from this one in anything but the signatures."""
        strip = {"jobs": {"__all__": {"signatures"}}}
        if spec.model_dump(exclude=strip) != self.spec.model_dump(exclude=strip):
            raise ValueError(f"flow {spec.name!r}: not the validated flow with signatures")
        return ValidFlow(spec, self.runner_types, self.max_jobs, self.max_script_bytes)


def checked(spec: FlowSpec | ValidFlow, settings: Settings) -> ValidFlow:
    """The flow validated under `settings`' limits, once: a `ValidFlow` that holds for them
    is returned as it is. FlowError as `validate`."""
    if isinstance(spec, ValidFlow):
        if spec.holds_for(settings):
            return spec
        spec = spec.spec
    validate(spec, runner_types=settings.runner_types, max_jobs=settings.max_jobs_per_flow,
             max_script_bytes=settings.max_script_bytes)
    return ValidFlow(spec, frozenset(settings.runner_types), settings.max_jobs_per_flow,
                     settings.max_script_bytes)


def validate(spec: FlowSpec, *, runner_types: Iterable[str], max_jobs: int,
             max_script_bytes: int) -> nx.DiGraph[str]:
    """Check a flow before anything is stored; return its graph (edge: prerequisite -> job).

    Raises FlowError naming the flow, the job and the field.
    """
    where = f"flow {spec.name!r}"
    if not spec.jobs:
        raise FlowError(f"{where}: has no jobs")
    if len(spec.jobs) > max_jobs:
        raise FlowError(f"{where}: {len(spec.jobs)} jobs, over the limit of {max_jobs}")
    known = set(runner_types)
    graph: nx.DiGraph[str] = nx.DiGraph()
    graph.add_nodes_from(spec.jobs)
    for name, job in spec.jobs.items():
        if job.runner not in known:
            raise FlowError(f"{where}, job {name!r}, field 'runner': unknown runner type "
                            f"{job.runner!r} (known: {', '.join(sorted(known))})")
        size = len(job.script.encode())
        if size > max_script_bytes:
            raise FlowError(f"{where}, job {name!r}, field 'script': {size} bytes, over the "
                            f"limit of {max_script_bytes}")
        if not job.script.strip():
            raise FlowError(f"{where}, job {name!r}, field 'script': is empty")
        seen: set[str] = set()
        for pre in job.after:
            if pre not in spec.jobs:
                raise FlowError(f"{where}, job {name!r}, field 'after': unknown prerequisite "
                                f"{pre!r}")
            if pre in seen:
                raise FlowError(f"{where}, job {name!r}, field 'after': {pre!r} listed twice")
            seen.add(pre)
            graph.add_edge(pre, name)
    try:
        cycle = nx.find_cycle(graph)
    except nx.NetworkXNoCycle:
        return graph
    names = [edge[0] for edge in cycle] + [cycle[0][0]]
    raise FlowError(f"{where}: cycle between jobs {' -> '.join(names)}")


def dependents(spec: FlowSpec) -> dict[str, list[str]]:
    """For each job, the jobs that list it in `after`, in flow order."""
    out: dict[str, list[str]] = {name: [] for name in spec.jobs}
    for name, job in spec.jobs.items():
        for pre in job.after:
            out[pre].append(name)
    return out


def descendants(children: Mapping[str, Iterable[str]], start: str) -> list[str]:
    """Every job reachable from `start` (excluding it), breadth first."""
    seen: set[str] = set()
    order: list[str] = []
    queue = deque(children.get(start, ()))
    while queue:
        node = queue.popleft()
        if node in seen:
            continue
        seen.add(node)
        order.append(node)
        queue.extend(children.get(node, ()))
    return order


def ready(after: Mapping[str, Iterable[str]], statuses: Mapping[str, JobStatus],
          allowed_failures: Iterable[str] = ()) -> list[str]:
    """Jobs that may start now: still waiting, and every prerequisite settled successfully
    (finished, or failed with allow_failure)."""
    ok = {JobStatus.finished}
    allowed = set(allowed_failures)
    out = []
    for name, pres in after.items():
        if statuses[name] not in (JobStatus.created, JobStatus.waiting_for_prerequisites):
            continue
        if all(statuses[p] in ok or (p in allowed and statuses[p] in FAILED_JOB) for p in pres):
            out.append(name)
    return out


def flow_outcome(statuses: Mapping[str, JobStatus], allowed_failures: Iterable[str] = ()
                 ) -> FlowStatus:
    """The status of a flow whose jobs are all terminal."""
    allowed = set(allowed_failures)
    values = set(statuses.values())
    if JobStatus.cancelled in values:
        return FlowStatus.cancelled
    for name, status in statuses.items():
        if status is JobStatus.skipped:
            return FlowStatus.error
        if status in FAILED_JOB and name not in allowed:
            return FlowStatus.error
    return FlowStatus.finished


def rerun_set(children: Mapping[str, Iterable[str]], statuses: Mapping[str, JobStatus]
              ) -> list[str]:
    """Jobs `flow retry` runs again: failed, skipped or cancelled ones and all they feed."""
    again = {JobStatus.error, JobStatus.timeout, JobStatus.skipped, JobStatus.cancelled}
    out: dict[str, None] = {}
    for name, status in statuses.items():
        if status in again or status not in TERMINAL_JOB:
            out[name] = None
            for d in descendants(children, name):
                out[d] = None
    return [n for n in statuses if n in out]

