"""Finds jobs and flows that nobody moves any more — their message or their worker is gone —
and moves them on (re-dispatch, or end them `error` past their limits); never executes a
job. Runs alone (`herocelery reconciler start`) or on the coordinator side of `up`/`run`."""
from .decide import Action, JobView, decide, orphans
from .loop import PassReport, Reconciler

__all__ = ["Reconciler", "PassReport", "Action", "JobView", "decide", "orphans"]
