"""HeroDB: a Redis-compatible server (RESP2/3, Lua, blocking pops, pub/sub); imports nothing else
from herocelery and never runs jobs."""
from .embedded import ThreadHandle, run_in_thread
from .errors import ConfigError, HeroDBError
from .server import HeroDB, ServerConfig

__all__ = ["HeroDB", "ServerConfig", "run_in_thread", "ThreadHandle", "HeroDBError", "ConfigError"]
