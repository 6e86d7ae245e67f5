"""Flows as users write them (Python, YAML, JSON, HeroScript) and handles to submitted ones;
never schedules or executes a job itself."""
from .api import Flow, FlowHandle, WaitTimeout, submit_spec
from .load import load

__all__ = ["Flow", "FlowHandle", "WaitTimeout", "load", "submit_spec"]
