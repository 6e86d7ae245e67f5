"""OSIS: typed objects with indexes in the job's context database; never leaves that database."""
from .runner import RUNNER, register_heroscript, register_rhai, rhai_bindings
from .schema import ModelRegistry, OsisError, OsisModel, define, fulltext, indexed
from .store import Osis

__all__ = ["RUNNER", "Osis", "OsisModel", "OsisError", "ModelRegistry", "define", "indexed",
           "fulltext",
           "register_heroscript", "register_rhai", "rhai_bindings"]
