"""The HTTP front door (JSON-RPC 2.0, events, metrics, leaf); never executes a job itself."""
from .server import create_app, serve

__all__ = ["create_app", "serve"]
