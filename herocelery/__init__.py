"""herocelery: the Hero Code job system on Celery.

Front door for flows as code: ``Flow`` and ``Settings``.
"""
from .errors import HeroCeleryError
from .settings import Settings

__all__ = ["Flow", "HeroCeleryError", "Settings"]


def __getattr__(name: str) -> object:
    # Flow pulls in pydantic and networkx; keep `import herocelery.herodb` light.
    if name == "Flow":
        from .flow import Flow
        return Flow
    raise AttributeError(name)
