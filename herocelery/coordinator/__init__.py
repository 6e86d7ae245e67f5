"""Turns a validated flow into work for supervisors and moves it on as jobs end; never
executes a job. Settling (`job_ended`, `dispatch`, `finish_flow`) lives below the tiers in
`herocelery.settle`; it is re-exported here for the coordinator's callers."""
from ..settle import dispatch, finish_flow, job_ended
from .submit import build_records, cancel, retry, submit

__all__ = ["submit", "cancel", "retry", "dispatch", "job_ended", "finish_flow", "build_records"]
