"""Prometheus text exposition of what the store and the broker know: jobs by status and
runner, job run time histograms, queue depths (LLEN of the kombu queues), runner state."""
from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from ..keys import (
    DURATION_BUCKETS_S,
    KOMBU_PRIORITY_STEPS,
    queue_keys,
    runner_queue,
    supervisor_queue,
)
from ..supervisor.registry import is_alive


def _esc(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**kv: Any) -> str:
    return "{" + ",".join(f'{k}="{_esc(v)}"' for k, v in kv.items()) + "}"


def render_jobs(counters: dict[str, int]) -> list[str]:
    """Job counters and histograms from the store's metrics hash. Pure."""
    lines = ["# HELP herocelery_jobs_total Jobs that ended, by runner and final status.",
             "# TYPE herocelery_jobs_total counter"]
    hist: dict[str, dict[str, int]] = {}
    sums: dict[str, int] = {}
    for key, value in sorted(counters.items()):
        parts = key.split("|")
        if parts[0] == "jobs" and len(parts) == 3:
            lines.append(f"herocelery_jobs_total{_labels(runner=parts[1], status=parts[2])} "
                         f"{value}")
        elif parts[0] == "dur" and len(parts) == 3:
            hist.setdefault(parts[1], {})[parts[2]] = value
        elif parts[0] == "dursum_us" and len(parts) == 2:
            sums[parts[1]] = value
    lines += ["# HELP herocelery_job_duration_seconds Run time of ended jobs (start to end).",
              "# TYPE herocelery_job_duration_seconds histogram"]
    for runner, buckets in sorted(hist.items()):
        total = 0
        for bound in DURATION_BUCKETS_S:
            total += buckets.get(repr(bound), 0)
            lines.append(f"herocelery_job_duration_seconds_bucket"
                         f"{_labels(runner=runner, le=repr(bound))} {total}")
        total += buckets.get("+Inf", 0)
        lines.append(f"herocelery_job_duration_seconds_bucket{_labels(runner=runner, le='+Inf')}"
                     f" {total}")
        lines.append(f"herocelery_job_duration_seconds_sum{_labels(runner=runner)} "
                     f"{sums.get(runner, 0) / 1e6:.6f}")
        lines.append(f"herocelery_job_duration_seconds_count{_labels(runner=runner)} {total}")
    return lines


def render(backend: Any, broker: Any) -> str:
    """The whole exposition. `broker` is a client of the broker's database (queues)."""
    store, settings = backend.store, backend.settings
    lines = render_jobs(store.metric_counters())
    nodes = sorted(set(store.nodes()) | set(settings.nodes))
    at = time.time()
    queues: list[tuple[str, str]] = []
    up_lines, state_lines, restart_lines = [], [], []
    for node in nodes:
        queues.append((node, supervisor_queue(node)))
        registered = store.runners(node)
        managed = store.runner_states(node)
        types = sorted({e["runner"] for e in registered if e.get("runner") != "supervisor"}
                       | set(managed))
        queues += [(node, runner_queue(node, t)) for t in types]
        alive = {e["runner"] for e in registered if is_alive(e, settings.heartbeat_s, at)}
        for t in ["supervisor", *types]:
            up_lines.append(f"herocelery_runner_up{_labels(node=node, runner=t)} "
                            f"{1 if t in alive else 0}")
        for t, st in sorted(managed.items()):
            labels = _labels(node=node, runner=t, state=st.get("state", ""))
            state_lines.append(f"herocelery_runner_state{labels} 1")
            restart_lines.append(f"herocelery_runner_restarts_total"
                                 f"{_labels(node=node, runner=t)} {int(st.get('restarts', 0))}")
    lines += ["# HELP herocelery_queue_depth Messages waiting in a queue (all priorities).",
              "# TYPE herocelery_queue_depth gauge"]
    for (node, queue), depth in zip(queues, _depths(broker, [q for _, q in queues]), strict=False):
        lines.append(f"herocelery_queue_depth{_labels(node=node, queue=queue)} {depth}")
    from ..reconciler.report import metrics_lines
    lines += metrics_lines(store.reconciler_counts(), store.reconcilers(), at)
    lines += ["# HELP herocelery_runner_up 1 when the worker heartbeats.",
              "# TYPE herocelery_runner_up gauge", *up_lines,
              "# HELP herocelery_runner_state Supervised runner state (running, dead, failed...).",
              "# TYPE herocelery_runner_state gauge", *state_lines,
              "# HELP herocelery_runner_restarts_total Restarts of a supervised runner.",
              "# TYPE herocelery_runner_restarts_total counter", *restart_lines]
    return "\n".join(lines) + "\n"


def _depths(broker: Any, queues: Iterable[str]) -> list[int]:
    names = list(queues)
    pipe = broker.pipeline(transaction=False)
    for q in names:
        for key in queue_keys(q):
            pipe.llen(key)
    raw = pipe.execute()
    n = len(KOMBU_PRIORITY_STEPS)
    return [sum(int(x) for x in raw[i * n:(i + 1) * n]) for i in range(len(names))]
