"""Stopping child processes: SIGTERM, wait up to a deadline, then SIGKILL and reap.

One helper for what the launcher, the supervisor's runner manager and `up`'s Flower child
each wrote out by hand. Imports nothing else of herocelery.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence


def send(popen: subprocess.Popen[bytes], sig: int, *, group: bool = True) -> None:
    """Signal a child (its whole process group with `group`) if it still runs; a child that
    is already gone, or not ours to signal, is left alone."""
    if popen.poll() is not None:
        return
    try:
        if group:
            os.killpg(popen.pid, sig)
        else:
            popen.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def reap(popen: subprocess.Popen[bytes], deadline: float, *, group: bool = True) -> None:
    """Wait for a child until `deadline` (time.monotonic()); past it, SIGKILL and reap."""
    try:
        popen.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        send(popen, signal.SIGKILL, group=group)
        popen.wait()


def stop(popens: Sequence[subprocess.Popen[bytes]], timeout_s: float, *,
         group: bool = True) -> None:
    """SIGTERM every child at once, give them `timeout_s` together, SIGKILL what is left;
    every child is reaped when this returns."""
    for popen in popens:
        send(popen, signal.SIGTERM, group=group)
    deadline = time.monotonic() + timeout_s
    for popen in popens:
        reap(popen, deadline, group=group)
