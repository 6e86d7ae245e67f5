"""Pub/sub channels of connections without admin rights, kept per database (issue 19.4).

Redis pub/sub ignores databases: any client hears every channel. With the access model on
(an admin secret), HeroDB scopes channels the way it scopes keys:

- A subscription made by a connection without admin rights lives in the database selected
  when it was made. It hears only messages published in that database (by anyone), and only
  while the connection may still read that database (rights are re-read per message, as they
  are per command, so a deleted key stops the stream at once).
- A message published by a connection without admin rights stays in its database: it reaches
  that database's scoped subscriptions and the admin subscriptions of connections whose
  selected database is that one; never an admin listening from another database (Celery's
  broker on database 1, the job store, Flower).
- Admin subscriptions are plain Redis: they hear every message published by an admin, in any
  database, plus what non-admins publish in the database the admin connection has selected.
  Admin publishes reach the admin subscriptions and the scoped subscriptions of the database
  they were published in.

kombu names its fanout channels after the database (`/1.celery.pidbox`, `/1.celeryev/...`),
so with these rules a context key can neither hear a worker's events nor broadcast a control
command (`shutdown`) to the workers: it can publish only inside its own database.
Without an access model none of this applies (the engine keeps Redis' global channels).
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .commands.base import glob_match
from .protocol import Push, encode

Registry = dict[bytes, set[Any]]


class ScopedChannels:
    """Per-database registries of the scoped subscriptions (channel name -> connections)."""

    def __init__(self) -> None:
        self.channels: dict[int, Registry] = {}
        self.patterns: dict[int, Registry] = {}

    def add(self, c: Any, name: bytes, pattern: bool, db: int) -> None:
        (self.patterns if pattern else self.channels).setdefault(db, {}) \
            .setdefault(name, set()).add(c)

    def remove(self, c: Any, name: bytes, pattern: bool, db: int) -> None:
        registries = self.patterns if pattern else self.channels
        registry = registries.get(db)
        if registry is None:
            return
        subs = registry.get(name)
        if subs is not None:
            subs.discard(c)
            if not subs:
                del registry[name]
        if not registry:
            del registries[db]

    def deliver(self, db: int, channel: bytes, message: bytes,
                may_read: Callable[[Any, int], bool]) -> int:
        """Send a message published in `db` to that database's scoped subscribers that may
        still read it; returns how many received it."""
        count = 0
        exact = self.channels.get(db, {}).get(channel)
        if exact:
            frames: dict[int, bytes] = {}
            for sub in list(exact):
                if not may_read(sub, db):
                    continue
                data = frames.get(sub.proto)
                if data is None:
                    data = frames[sub.proto] = encode(Push([b"message", channel, message]),
                                                      sub.proto)
                sub.send(data)
                count += 1
        for pattern, subs in list(self.patterns.get(db, {}).items()):
            if glob_match(pattern, channel):
                for sub in list(subs):
                    if may_read(sub, db):
                        sub.send(encode(Push([b"pmessage", pattern, channel, message]),
                                        sub.proto))
                        count += 1
        return count

    # ---- what PUBSUB and INFO show --------------------------------------------------------
    def channel_names(self, db: int) -> Iterable[bytes]:
        return self.channels.get(db, {}).keys()

    def numsub(self, db: int, channel: bytes) -> int:
        return len(self.channels.get(db, {}).get(channel, ()))

    def numpat(self, db: int) -> int:
        return len(self.patterns.get(db, {}))

    def total(self, pattern: bool) -> int:
        return sum(len(r) for r in (self.patterns if pattern else self.channels).values())
