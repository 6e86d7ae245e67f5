"""Turns a validated flow into work for supervisors and moves it on as jobs end; never
executes a job."""
from .progress import dispatch, finish_flow, job_ended
from .submit import build_records, cancel, retry, submit

__all__ = ["submit", "cancel", "retry", "dispatch", "job_ended", "finish_flow", "build_records"]
