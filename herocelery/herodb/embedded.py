"""HeroDB inside another program: a background thread with its own event loop (tests, and the
embedded default of `herocelery run`)."""
from __future__ import annotations

import asyncio
import threading
from typing import Any

from .server import HeroDB, ServerConfig


def new_event_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
        return uvloop.new_event_loop()
    except ImportError:
        return asyncio.new_event_loop()


class ThreadHandle:
    """A HeroDB running in a background thread (tests, embedded mode)."""

    def __init__(self, server: HeroDB, loop: asyncio.AbstractEventLoop,
                 thread: threading.Thread) -> None:
        self.server = server
        self.loop = loop
        self.thread = thread

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return f"redis://{self.server.config.host}:{self.server.port}"

    def stop(self) -> None:
        if self.thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
            try:
                fut.result(10)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(10)


def run_in_thread(config: ServerConfig, log: Any = None, access: Any = None) -> ThreadHandle:
    """Start HeroDB in a daemon thread; returns when it listens (or raises its start error)."""
    server = HeroDB(config, log, access)
    loop = new_event_loop()
    started = threading.Event()
    failure: list[BaseException] = []

    def main() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(server.start())
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=main, name="herodb", daemon=True)
    thread.start()
    started.wait()
    if failure:
        raise failure[0]
    return ThreadHandle(server, loop, thread)
