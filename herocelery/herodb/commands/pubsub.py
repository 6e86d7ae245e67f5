"""Pub/sub commands: PUBLISH SUBSCRIBE UNSUBSCRIBE PSUBSCRIBE PUNSUBSCRIBE PUBSUB."""
from __future__ import annotations

from typing import Any

from ..errors import UNKNOWN_SUBCOMMAND, CommandError
from ..protocol import Push, Raw, encode
from .base import Command, glob_match, registrar

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


@command("PUBLISH", 3, "pubsub fast")
def publish(c: Any, argv: list[bytes]) -> Any:
    return c.engine.publish(argv[1], argv[2], c)


def _confirm(c: Any, kind: bytes, name: bytes | None) -> bytes:
    return encode(Push([kind, name, c.subscribed]), c.proto)


def _sub(c: Any, argv: list[bytes], pattern: bool) -> Any:
    kind = b"psubscribe" if pattern else b"subscribe"
    frames = []
    for name in argv[1:]:
        c.engine.subscribe(c, name, pattern)
        frames.append(_confirm(c, kind, name))
    return Raw(b"".join(frames))


def _unsub(c: Any, argv: list[bytes], pattern: bool) -> Any:
    kind = b"punsubscribe" if pattern else b"unsubscribe"
    names = argv[1:] or sorted(c.patterns if pattern else c.channels)
    if not names:
        return Raw(_confirm(c, kind, None))
    frames = []
    for name in names:
        c.engine.unsubscribe(c, name, pattern)
        frames.append(_confirm(c, kind, name))
    return Raw(b"".join(frames))


@command("SUBSCRIBE", -2, "pubsub noscript")
def subscribe(c: Any, argv: list[bytes]) -> Any:
    return _sub(c, argv, False)


@command("PSUBSCRIBE", -2, "pubsub noscript")
def psubscribe(c: Any, argv: list[bytes]) -> Any:
    return _sub(c, argv, True)


@command("UNSUBSCRIBE", -1, "pubsub noscript")
def unsubscribe(c: Any, argv: list[bytes]) -> Any:
    return _unsub(c, argv, False)


@command("PUNSUBSCRIBE", -1, "pubsub noscript")
def punsubscribe(c: Any, argv: list[bytes]) -> Any:
    return _unsub(c, argv, True)


@command("PUBSUB", -2, "pubsub")
def pubsub(c: Any, argv: list[bytes]) -> Any:
    """What a connection may see: everything (admin, or no access model), else only the
    channels of its database (scoped.py); an admin also sees its database's scoped ones."""
    sub = argv[1].upper()
    engine = c.engine
    scoped = engine.scoped
    everything = engine.access is None or c.admin
    if sub == b"CHANNELS" and len(argv) <= 3:
        pattern = argv[2] if len(argv) == 3 else None
        names = set(engine.channels) if everything else set()
        names.update(scoped.channel_names(c.db))
        return [ch for ch in names if pattern is None or glob_match(pattern, ch)]
    if sub == b"NUMSUB":
        out: list[Any] = []
        for ch in argv[2:]:
            n = len(engine.channels.get(ch, ())) if everything else 0
            out.extend((ch, n + scoped.numsub(c.db, ch)))
        return out
    if sub == b"NUMPAT" and len(argv) == 2:
        return (len(engine.patterns) if everything else 0) + scoped.numpat(c.db)
    if sub in (b"SHARDCHANNELS",) and len(argv) <= 3:
        return []
    if sub == b"SHARDNUMSUB":
        return [x for ch in argv[2:] for x in (ch, 0)]
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "PUBSUB"))
