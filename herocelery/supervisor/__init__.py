"""Admits jobs on a node and hands them to the right runner queue; never executes a job."""
from .admit import admit_batch, refusal
from .registry import is_alive, live_runner_types

__all__ = ["admit_batch", "refusal", "is_alive", "live_runner_types"]
