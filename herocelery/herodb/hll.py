"""HyperLogLog as Redis 7.0 stores it: a string ``HYLL`` + encoding + cached cardinality, then
16384 6-bit registers, sparse (ZERO/XZERO/VAL run opcodes) or dense, with MurmurHash64A.

The functions mirror Redis' hyperloglog.c step by step (the sparse update splits and merges
opcodes exactly as ``hllSparseSet`` does), so the bytes a ``GET`` returns and every
``PFCOUNT`` equal redis-server's. Pure functions over ``bytearray``; no command parsing.
"""
from __future__ import annotations

import math

P = 14
Q = 64 - P
REGISTERS = 1 << P
P_MASK = REGISTERS - 1
BITS = 6
REGISTER_MAX = (1 << BITS) - 1
HDR = 16
DENSE, SPARSE = 0, 1
DENSE_SIZE = HDR + (REGISTERS * BITS + 7) // 8
VAL_MAX_VALUE = 32
VAL_MAX_LEN = 4
ZERO_MAX_LEN = 64
XZERO_MAX_LEN = 16384
ALPHA_INF = 0.721347520444481703680
SEED = 0xADC83B19
M64 = (1 << 64) - 1
MURMUR_M = 0xC6A4A7935BD1E995

NOT_HLL = "WRONGTYPE Key is not a valid HyperLogLog string value."
INVALID = "INVALIDOBJ Corrupted HLL object detected"


class Corrupt(Exception):
    """The sparse opcodes do not describe exactly 16384 registers."""


def murmur64a(data: bytes, seed: int = SEED) -> int:
    m = MURMUR_M
    n = len(data)
    h = (seed ^ (n * m)) & M64
    end = n - (n & 7)
    for i in range(0, end, 8):
        k = int.from_bytes(data[i:i + 8], "little")
        k = (k * m) & M64
        k ^= k >> 47
        k = (k * m) & M64
        h ^= k
        h = (h * m) & M64
    rest = n & 7
    if rest:
        for j in range(rest - 1, -1, -1):
            h ^= data[end + j] << (8 * j)
        h = (h * m) & M64
    h ^= h >> 47
    h = (h * m) & M64
    h ^= h >> 47
    return h


def pat_len(element: bytes) -> tuple[int, int]:
    """(register index, run length of the pattern 000..1) for one element."""
    h = murmur64a(element)
    index = h & P_MASK
    h >>= P
    h |= 1 << Q
    count = 1
    bit = 1
    while not h & bit:
        count += 1
        bit <<= 1
    return index, count


def new_sparse() -> bytearray:
    hll = bytearray(b"HYLL" + bytes([SPARSE]) + bytes(11))
    for _ in range(REGISTERS // XZERO_MAX_LEN):
        hll += bytes([((XZERO_MAX_LEN - 1) >> 8) | 0x40, (XZERO_MAX_LEN - 1) & 0xFF])
    return hll


def is_hll(value: bytes) -> bool:
    if len(value) < HDR or value[:4] != b"HYLL" or value[4] > SPARSE:
        return False
    return not (value[4] == DENSE and len(value) != DENSE_SIZE)


def invalidate(hll: bytearray) -> None:
    hll[15] |= 0x80


def cached(hll: bytes) -> int | None:
    if hll[15] & 0x80:
        return None
    return int.from_bytes(hll[8:16], "little")


def set_cache(hll: bytearray, card: int) -> None:
    hll[8:16] = card.to_bytes(8, "little")


# ---- dense ---------------------------------------------------------------------------------
def dense_get(hll: bytes | bytearray, reg: int) -> int:
    byte = HDR + reg * BITS // 8
    fb = reg * BITS & 7
    b0 = hll[byte]
    b1 = hll[byte + 1] if byte + 1 < len(hll) else 0
    return ((b0 >> fb) | (b1 << (8 - fb))) & REGISTER_MAX


def dense_set(hll: bytearray, reg: int, val: int) -> None:
    byte = HDR + reg * BITS // 8
    fb = reg * BITS & 7
    fb8 = 8 - fb
    hll[byte] = (hll[byte] & ~(REGISTER_MAX << fb) & 0xFF) | ((val << fb) & 0xFF)
    if byte + 1 < len(hll):
        hll[byte + 1] = (hll[byte + 1] & ~(REGISTER_MAX >> fb8) & 0xFF) | (val >> fb8)


def dense_registers(hll: bytes | bytearray) -> list[int]:
    return [dense_get(hll, r) for r in range(REGISTERS)]


# ---- sparse --------------------------------------------------------------------------------
def sparse_runs(hll: bytes | bytearray) -> list[tuple[int, int]]:
    """(value, run length) of every opcode; Corrupt unless they cover 16384 registers."""
    runs: list[tuple[int, int]] = []
    p, end, total = HDR, len(hll), 0
    while p < end:
        b = hll[p]
        if b & 0x80:
            value, run = ((b >> 2) & 0x1F) + 1, (b & 0x3) + 1
            p += 1
        elif b & 0x40:
            if p + 1 >= end:
                raise Corrupt
            value, run = 0, (((b & 0x3F) << 8) | hll[p + 1]) + 1
            p += 2
        else:
            value, run = 0, (b & 0x3F) + 1
            p += 1
        runs.append((value, run))
        total += run
        if total > REGISTERS:
            raise Corrupt
    if total != REGISTERS:
        raise Corrupt
    return runs


def sparse_opcodes(hll: bytes | bytearray) -> list[str]:
    """PFDEBUG DECODE's words: ``z:n`` (ZERO), ``Z:n`` (XZERO), ``v:value,n`` (VAL)."""
    words: list[str] = []
    p, end = HDR, len(hll)
    while p < end:
        b = hll[p]
        if b & 0x80:
            words.append(f"v:{((b >> 2) & 0x1F) + 1},{(b & 0x3) + 1}")
            p += 1
        elif b & 0x40:
            words.append(f"Z:{(((b & 0x3F) << 8) | hll[p + 1]) + 1}")
            p += 2
        else:
            words.append(f"z:{(b & 0x3F) + 1}")
            p += 1
    return words


def selftest() -> str:
    """A reduced PFSELFTEST: the failure's description, or "" when everything held."""
    import random
    rnd = random.Random(0)
    dense = bytearray(DENSE_SIZE)
    values = [rnd.randrange(REGISTER_MAX + 1) for _ in range(REGISTERS)]
    for r, v in enumerate(values):
        dense_set(dense, r, v)
    for r, v in enumerate(values):
        if dense_get(dense, r) != v:
            return f"Register error at {r}"
    sparse, full = new_sparse(), bytearray(new_sparse())
    full = to_dense(full)
    checkpoint = 1
    for j in range(1, 20001):
        element = str(rnd.getrandbits(64)).encode()
        sparse, _ = add(sparse, element, 3000)
        full, _ = add(full, element, 3000)
        if j == checkpoint:
            got = count(registers(sparse))
            if registers(sparse) != registers(full):
                return f"sparse and dense registers differ after {j} elements"
            if abs(got - j) > max(2, 0.05 * j):
                return f"cardinality {got} after {j} elements"
            checkpoint *= 10 if checkpoint < 10000 else 2
    return ""


def registers(hll: bytes | bytearray) -> list[int]:
    if hll[4] == DENSE:
        return dense_registers(hll)
    regs: list[int] = []
    for value, run in sparse_runs(hll):
        regs.extend([value] * run)
    return regs


def to_dense(hll: bytearray) -> bytearray:
    regs = registers(hll)
    dense = bytearray(hll[:HDR]) + bytearray(DENSE_SIZE - HDR)
    dense[4] = DENSE
    for r, v in enumerate(regs):
        if v:
            dense_set(dense, r, v)
    return dense


def _val(value: int, run: int) -> int:
    return 0x80 | ((value - 1) << 2) | (run - 1)


def _zeros(run: int) -> bytes:
    if run > ZERO_MAX_LEN:
        return bytes([((run - 1) >> 8) | 0x40, (run - 1) & 0xFF])
    return bytes([run - 1])


def sparse_set(hll: bytearray, index: int, count: int, max_bytes: int
               ) -> tuple[bytearray, int]:
    """hllSparseSet: (the value, 1 if a register grew else 0); the value may come back dense
    (a count past 32, or the sparse form past ``hll-sparse-max-bytes``)."""
    if count > VAL_MAX_VALUE:
        return _promote(hll, index, count)
    p, end = HDR, len(hll)
    first = 0
    prev: int | None = None
    span = 0
    oplen = 1
    while p < end:
        b = hll[p]
        oplen = 1
        if not b & 0xC0:
            span = (b & 0x3F) + 1
        elif b & 0x80:
            span = (b & 0x3) + 1
        else:
            span = (((b & 0x3F) << 8) | hll[p + 1]) + 1
            oplen = 2
        if index <= first + span - 1:
            break
        prev = p
        p += oplen
        first += span
    if span == 0 or p >= end:
        raise Corrupt
    b = hll[p]
    is_val = bool(b & 0x80)
    is_xzero = not is_val and bool(b & 0x40)
    is_zero = not is_val and not is_xzero
    runlen = span
    done = False
    if is_val:
        old = ((b >> 2) & 0x1F) + 1
        if old >= count:
            return hll, 0
        if runlen == 1:
            hll[p] = _val(count, 1)
            done = True
    if not done and is_zero and runlen == 1:
        hll[p] = _val(count, 1)
        done = True
    if not done:
        last = first + span - 1
        seq = bytearray()
        if is_val:
            cur = ((b >> 2) & 0x1F) + 1
            if index != first:
                seq.append(_val(cur, index - first))
            seq.append(_val(count, 1))
            if index != last:
                seq.append(_val(cur, last - index))
        else:
            if index != first:
                seq += _zeros(index - first)
            seq.append(_val(count, 1))
            if index != last:
                seq += _zeros(last - index)
        old_len = 2 if is_xzero else 1
        delta = len(seq) - old_len
        if delta > 0 and len(hll) + delta > max_bytes:
            return _promote(hll, index, count)
        hll[p:p + old_len] = seq
    # step 4: merge adjacent VAL opcodes of the same value, from the opcode before
    p = prev if prev is not None else HDR
    end = len(hll)
    scan = 5
    while p < end and scan:
        scan -= 1
        b = hll[p]
        if not b & 0x80:
            p += 2 if b & 0x40 else 1
            continue
        if p + 1 < end and hll[p + 1] & 0x80:
            v1, v2 = ((b >> 2) & 0x1F) + 1, ((hll[p + 1] >> 2) & 0x1F) + 1
            if v1 == v2:
                run = (b & 0x3) + 1 + (hll[p + 1] & 0x3) + 1
                if run <= VAL_MAX_LEN:
                    hll[p + 1] = _val(v1, run)
                    del hll[p]
                    end -= 1
                    continue
        p += 1
    return hll, 1


def _promote(hll: bytearray, index: int, count: int) -> tuple[bytearray, int]:
    dense = to_dense(hll)
    if dense_get(dense, index) < count:
        dense_set(dense, index, count)
    return dense, 1


def add(hll: bytearray, element: bytes, max_bytes: int) -> tuple[bytearray, int]:
    index, count = pat_len(element)
    if hll[4] == DENSE:
        if dense_get(hll, index) < count:
            dense_set(hll, index, count)
            return hll, 1
        return hll, 0
    return sparse_set(hll, index, count, max_bytes)


# ---- counting ------------------------------------------------------------------------------
def _sigma(x: float) -> float:
    if x == 1.0:
        return math.inf
    y = 1.0
    z = x
    while True:
        x *= x
        zp = z
        z += x * y
        y += y
        if zp == z:
            return z


def _tau(x: float) -> float:
    if x == 0.0 or x == 1.0:
        return 0.0
    y = 1.0
    z = 1 - x
    while True:
        x = math.sqrt(x)
        zp = z
        y *= 0.5
        z -= (1 - x) ** 2 * y
        if zp == z:
            return z / 3


def count(regs: list[int]) -> int:
    """hllCount (Ertl's estimator, as Redis 5+)."""
    histo = [0] * 64
    for v in regs:
        histo[v] += 1
    m = float(REGISTERS)
    z = m * _tau((m - histo[Q + 1]) / m)
    for j in range(Q, 0, -1):
        z += histo[j]
        z *= 0.5
    z += m * _sigma(histo[0] / m)
    e = ALPHA_INF * m * m / z
    return math.floor(e + 0.5)
