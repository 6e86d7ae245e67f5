"""One job, one process: fork (or spawn), limits, capture, timeout and cancel.

The child gets its own session (so a timeout kills the whole process group), CPU and memory
rlimits, a temporary working directory, an allow-listed environment, and dies with its parent.
The parent watches pipes, the deadline and the cancel flag, and keeps at most `cap` bytes of
each pipe (the rest is read and dropped, so a chatty job can never block or fill memory).
"""
from __future__ import annotations

import os
import selectors
import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .child import set_parent_death_signal, setup

__all__ = ["Finished", "Limits", "child_setup", "job_env", "own_workdir",
           "set_parent_death_signal", "supervise"]


@dataclass(frozen=True)
class Limits:
    timeout_s: float
    cpu_s: int
    memory_bytes: int
    output_bytes: int
    env: Mapping[str, str] = field(default_factory=dict)
    uid: int = -1          # run as this Unix user (and group): `job_user`; -1 = the runner's
    gid: int = -1


@dataclass
class Finished:
    """What the parent saw: captured bytes per pipe, the wait status, and why it stopped."""

    output: dict[str, bytes]
    truncated: dict[str, bool]
    status: int
    timed_out: bool = False
    cancelled: bool = False

    @property
    def exit_code(self) -> int | None:
        return os.waitstatus_to_exitcode(self.status) if self.status >= 0 else None

    @property
    def signal(self) -> int | None:
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None


def child_setup(limits: Limits, workdir: str) -> None:
    """Runs in the child before the job: session, rlimits, cwd, the job's Unix user, then
    the parent-death signal (a change of user clears it)."""
    setup(limits.cpu_s, limits.memory_bytes, workdir, limits.uid, limits.gid)


def own_workdir(path: str, limits: Limits) -> None:
    """Hand the job's directory (and what the runner put in it) to the job's user."""
    if limits.uid < 0:
        return
    os.chown(path, limits.uid, limits.gid)
    for name in os.listdir(path):
        os.chown(os.path.join(path, name), limits.uid, limits.gid)


def supervise(pid: int, pipes: Mapping[str, int], limits: Limits,
              cancelled: Callable[[], bool], poll_s: float = 0.1,
              caps: Mapping[str, int] | None = None,
              reap: Callable[[int], int] | None = None) -> Finished:
    """Read the child's pipes until they close, killing its process group on timeout or cancel.

    `pipes` maps a name to the read end of a pipe (closed here)."""
    sel = selectors.DefaultSelector()
    bufs = {name: bytearray() for name in pipes}
    truncated = {name: False for name in pipes}
    for name, fd in pipes.items():
        os.set_blocking(fd, False)
        sel.register(fd, selectors.EVENT_READ, name)
    deadline = time.monotonic() + limits.timeout_s
    timed_out = was_cancelled = False
    open_fds = len(pipes)
    next_check = time.monotonic() + poll_s
    try:
        while open_fds:
            now = time.monotonic()
            if now >= deadline:
                timed_out = True
                break
            if now >= next_check:
                next_check = now + poll_s
                if cancelled():
                    was_cancelled = True
                    break
            for key, _ in sel.select(timeout=min(poll_s, max(0.0, deadline - now))):
                name = key.data
                try:
                    chunk = os.read(key.fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(key.fd)
                    open_fds -= 1
                    continue
                cap = (caps or {}).get(name, limits.output_bytes)
                room = cap - len(bufs[name])
                if room > 0:
                    bufs[name] += chunk[:room]
                if len(chunk) > room:
                    truncated[name] = True
    finally:
        if timed_out or was_cancelled:
            _kill_group(pid)
        sel.close()
        for fd in pipes.values():
            try:
                os.close(fd)
            except OSError:
                pass
    status = reap(pid) if reap is not None else os.waitpid(pid, 0)[1]
    if timed_out or was_cancelled:
        _kill_group(pid)  # anything the job left behind in its group
    return Finished({k: bytes(v) for k, v in bufs.items()}, truncated, status, timed_out,
                    was_cancelled)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def job_env(own: Mapping[str, str], base: Mapping[str, str], allow: tuple[str, ...]
            ) -> dict[str, str]:
    """The child's environment: allow-listed variables of `base`, then the job's own. Pure."""
    env = {k: base[k] for k in allow if k in base}
    env.update(own)
    return env
