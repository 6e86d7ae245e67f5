"""HyperLogLog: PFADD PFCOUNT PFMERGE, values Redis 7.0 reads and writes byte for byte
(``hll.py``): a ``GET`` of an HLL key and every ``PFCOUNT`` answer as redis-server's would."""
from __future__ import annotations

from typing import Any

from .. import hll
from ..errors import WRONGTYPE, CommandError
from ..protocol import OK
from .base import Command, registrar

COMMANDS: list[Command] = []
command = registrar(COMMANDS)


def _max_bytes(c: Any) -> int:
    try:
        return int(c.engine.config.get("hll-sparse-max-bytes"))
    except (TypeError, ValueError, KeyError, AttributeError):
        return 3000


def _get(c: Any, key: bytes) -> bytes | None:
    value = c.store.get_typed(key, bytes)
    if value is not None and not hll.is_hll(value):
        raise CommandError(hll.NOT_HLL)
    return value


def _store(c: Any, key: bytes, value: bytearray) -> None:
    c.store.set(key, bytes(value), keep_ttl=True)


@command("PFADD", -2, "write fast denyoom", keys=(1, 1, 1))
def pfadd(c: Any, argv: list[bytes]) -> Any:
    key = argv[1]
    old = _get(c, key)
    updated = 0
    value = hll.new_sparse() if old is None else bytearray(old)
    if old is None:
        updated = 1
    limit = _max_bytes(c)
    try:
        for element in argv[2:]:
            value, changed = hll.add(value, element, limit)
            updated += changed
    except (hll.Corrupt, IndexError):
        raise CommandError(hll.INVALID) from None
    if not updated:
        c.effects = []
        return 0
    hll.invalidate(value)
    _store(c, key, value)
    return 1


def _union(c: Any, keys: list[bytes]) -> tuple[list[int], bool]:
    regs = [0] * hll.REGISTERS
    dense = False
    for key in keys:
        value = _get(c, key)
        if value is None:
            continue
        dense = dense or value[4] == hll.DENSE
        try:
            theirs = hll.registers(value)
        except (hll.Corrupt, IndexError):
            raise CommandError(hll.INVALID) from None
        regs = [max(a, b) for a, b in zip(regs, theirs, strict=False)]
    return regs, dense


@command("PFCOUNT", -2, "read", keys=(1, -1, 1))
def pfcount(c: Any, argv: list[bytes]) -> Any:
    if len(argv) > 2:
        return hll.count(_union(c, argv[1:])[0])
    key = argv[1]
    value = _get(c, key)
    if value is None:
        return 0
    card = hll.cached(value)
    if card is not None:
        return card
    try:
        card = hll.count(hll.registers(value))
    except (hll.Corrupt, IndexError):
        raise CommandError(hll.INVALID) from None
    fresh = bytearray(value)
    hll.set_cache(fresh, card)
    _store(c, key, fresh)  # the cached cardinality is part of the value (not logged)
    return card


@command("PFMERGE", -2, "write denyoom", keys=(1, -1, 1))
def pfmerge(c: Any, argv: list[bytes]) -> Any:
    regs, dense = _union(c, argv[1:])
    key = argv[1]
    old = _get(c, key)
    value = hll.new_sparse() if old is None else bytearray(old)
    limit = _max_bytes(c)
    try:
        if dense and value[4] != hll.DENSE:
            value = hll.to_dense(value)
        for r, v in enumerate(regs):
            if not v:
                continue
            if value[4] == hll.DENSE:
                if hll.dense_get(value, r) < v:
                    hll.dense_set(value, r, v)
            else:
                value, _ = hll.sparse_set(value, r, v, limit)
    except (hll.Corrupt, IndexError):
        raise CommandError(hll.INVALID) from None
    hll.invalidate(value)
    _store(c, key, value)
    return OK


@command("PFDEBUG", 3, "write admin", keys=(2, 2, 1))
def pfdebug(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].decode(errors="replace")
    key = argv[2]
    old = c.store.get(key)
    if old is None:
        raise CommandError("ERR The specified key does not exist")
    if type(old) is not bytes or not hll.is_hll(old):
        raise CommandError(hll.NOT_HLL if type(old) is bytes else WRONGTYPE)
    name = sub.lower()
    if name not in ("getreg", "decode", "encoding", "todense"):
        c.effects = []
        raise CommandError(f"ERR Unknown PFDEBUG subcommand '{sub}'")
    c.effects = []
    try:
        if name in ("getreg", "todense"):
            converted = old[4] == hll.SPARSE
            if converted:
                dense = bytes(hll.to_dense(bytearray(old)))
                _store(c, key, bytearray(dense))
                c.effects = [[b"SET", key, dense, b"KEEPTTL"]]
            if name == "todense":
                return int(converted)
            return hll.dense_registers(c.store.get(key))
        if name == "encoding":
            return "sparse" if old[4] == hll.SPARSE else "dense"
        if old[4] != hll.SPARSE:
            raise CommandError("ERR HLL encoding is not sparse")
        return " ".join(hll.sparse_opcodes(old)).encode()
    except (hll.Corrupt, IndexError):
        raise CommandError(hll.INVALID) from None


@command("PFSELFTEST", 1, "admin")
def pfselftest(c: Any, argv: list[bytes]) -> Any:
    """A reduced form of Redis' self test (Python speed): every register of a dense HLL keeps
    a random 6-bit value, and sparse and dense HLLs fed the same elements agree register by
    register and count within 5% of the truth at each checkpoint up to 20,000 elements."""
    failure = hll.selftest()
    if failure:
        raise CommandError(f"ERR TESTFAILED {failure}")
    return OK
