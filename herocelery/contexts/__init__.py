"""Contexts, callers, API keys, permissions and job signatures; never runs or stores a job."""
from .admission import JobCheck, check_flow, check_signatures
from .model import LOCAL, Action, Caller, Context, Decision, Role, Scope
from .policy import may
from .registry import ContextError, Registry, scoped_url
from .signing import SigningKey

__all__ = ["Registry", "Context", "Caller", "Scope", "Role", "Action", "Decision", "may",
           "check_flow", "JobCheck", "check_signatures", "scoped_url", "SigningKey", "ContextError",
           "LOCAL"]
