"""A memory cap for jobs that run inside the runner's own process (rhai, heroscript).

Process-isolated runners (python, shell) get RLIMIT_AS in their own child process. In-process
runners share the worker process with the jobs before and after them, so `job_memory_cap`
raises nothing and changes nothing but the process's *soft* address-space limit, for the time
one job runs: current address space + the job's allowance (one allowance more for each job
running at once in other threads). An allocation past it fails with MemoryError in the job,
which the runner turns into its own script error; the process and the jobs after it go on.

Guarantee: while N jobs run under caps, the process's address space grows by at most the sum
of their allowances; the previous soft limit is back when the last one ends.
"""
from __future__ import annotations

import os
import resource
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_PAGE = os.sysconf("SC_PAGE_SIZE")
_lock = threading.Lock()
_active: list[int] = []                 # allowances of the jobs running now
_state: dict[str, int] = {}              # "base": address space when the first job began


def address_space() -> int:
    """The process's current virtual size in bytes (what RLIMIT_AS limits)."""
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[0]) * _PAGE


def _apply(saved: tuple[int, int]) -> None:
    soft, hard = saved
    if not _active:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        return
    want = _state["base"] + sum(_active)
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft != resource.RLIM_INFINITY:
        want = min(want, soft)
    resource.setrlimit(resource.RLIMIT_AS, (want, hard))


_saved: list[tuple[int, int]] = []


@contextmanager
def job_memory_cap(allowance: int) -> Iterator[None]:
    """Run the body with the process's address space capped at its size now + allowance
    (0 or less: no cap)."""
    if allowance <= 0:
        yield
        return
    with _lock:
        if not _active:
            _saved.append(resource.getrlimit(resource.RLIMIT_AS))
            _state["base"] = address_space()
        _active.append(allowance)
        _apply(_saved[-1])
    try:
        yield
    finally:
        with _lock:
            _active.remove(allowance)
            _apply(_saved[-1])
            if not _active:
                _saved.pop()
