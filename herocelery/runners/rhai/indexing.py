"""`base[idx]` and `base[idx] = v` on Rhai values, with Rhai's bounds rules.

Arrays and blobs take an integer (negative counts from the end); maps a string; strings an
integer (a char) or a range (a sub-string; a negative end counts from the end); integers an
integer (one bit, a bool) or a range (a bit field, an integer). Pure functions: they return
the value (or the new base, for strings and integers, which are values) or raise a
RhaiRuntimeError whose position the caller fills in.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import RhaiRuntimeError
from .values import MAX_INT, Char, IRange, type_name

if TYPE_CHECKING:
    from .runtime import Rt

BITS = 64


def calc_index(n: int, i: int, from_end: bool) -> int | None:
    """An index into n items; a negative one counts from the end when from_end."""
    if i < 0:
        if not from_end or -i > n:
            return None
        return n + i
    return i if i < n else None


def bounds_error(what: str, idx: int, n: int) -> RhaiRuntimeError:
    if what == "String":
        return RhaiRuntimeError(f"String index {idx} out of bounds: only {n} characters")
    return RhaiRuntimeError(f"{what} index {idx} out of bounds: only {n} "
                            f"{'element' if n == 1 else 'elements'}")


def indexer_error(base: Any, idx: Any) -> RhaiRuntimeError:
    return RhaiRuntimeError(f"Indexer not found: {type_name(base)}[{type_name(idx)}]")


def str_slice(s: str, r: IRange) -> tuple[int, int]:
    """The (start, end) character positions (end exclusive) of `s[r]`, as Rhai takes them."""
    n = len(s)
    start = r.start
    if start < 0:
        c = calc_index(n, start, True)
        if c is None:
            raise bounds_error("String", start, n)
        start = c
    end = r.end
    if end < 0:
        end = calc_index(n, end, True) or 0
    if r.inclusive:
        # Rhai takes `end - start + 1` characters only when end > start
        end = end + 1 if end > start else start
    return start, max(start, min(end, n))


def bit_field(r: IRange) -> tuple[int, int]:
    """(shift, mask) of the bits `r` selects in an i64."""
    start = calc_index(BITS, r.start, False)
    if start is None:
        raise bounds_error("Bit-field", r.start, BITS)
    if r.inclusive:
        end_i = BITS - 1 if r.end == MAX_INT else r.end
        end = calc_index(BITS, end_i, False)
        if end is None:
            raise bounds_error("Bit-field", r.end, BITS)
        end += 1
    else:
        end_x = BITS if r.end == MAX_INT else r.end
        if not 0 <= end_x <= BITS:
            raise bounds_error("Bit-field", r.end, BITS)
        end = end_x
    if end <= start:
        return 0, 0
    return start, ((1 << (end - start)) - 1) << start


def _signed(v: int) -> int:
    v &= 0xFFFFFFFFFFFFFFFF
    return v - (1 << 64) if v > MAX_INT else v


def index_get(base: Any, idx: Any) -> Any:
    """`base[idx]`."""
    t, ti = type(base), type(idx)
    if t is list or t is bytearray:
        if ti is int:
            i = calc_index(len(base), idx, True)
            if i is None:
                raise bounds_error("Array" if t is list else "Blob", idx, len(base))
            return base[i]
    elif t is dict:
        if ti is str or ti is Char:
            return base.get(idx)
    elif t is str:
        if ti is int:
            i = calc_index(len(base), idx, True)
            if i is None:
                raise bounds_error("String", idx, len(base))
            return Char(base[i])
        if ti is IRange:
            if not base:
                return base
            a, b = str_slice(base, idx)
            return base[a:b]
    elif t is int:
        if ti is int:
            i = calc_index(BITS, idx, True)
            if i is None:
                raise bounds_error("Bit-field", idx, BITS)
            return bool((base >> i) & 1)
        if ti is IRange:
            shift, mask = bit_field(idx)
            return _signed((base & mask) >> shift) if mask else 0
    raise indexer_error(base, idx)


def index_set(rt: Rt, base: Any, idx: Any, v: Any) -> Any:
    """Set `base[idx] = v`; returns the new base (a new one for strings and integers)."""
    t, ti = type(base), type(idx)
    if t is list and ti is int:
        i = calc_index(len(base), idx, True)
        if i is None:
            raise bounds_error("Array", idx, len(base))
        base[i] = v
        return base
    if t is bytearray and ti is int:
        if type(v) is not int:
            raise RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting i64)")
        i = calc_index(len(base), idx, True)
        if i is None:
            raise bounds_error("Blob", idx, len(base))
        base[i] = v & 0xFF
        return base
    if t is dict and (ti is str or ti is Char):
        base[str(idx)] = v
        rt.check_map(base)
        return base
    if t is str and ti is int:
        if type(v) is not Char:
            raise RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting char)")
        i = calc_index(len(base), idx, True)
        if i is None:
            raise bounds_error("String", idx, len(base))
        return base[:i] + v + base[i + 1:]
    if t is str and ti is IRange:
        if type(v) is not str and type(v) is not Char:
            raise RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting string)")
        a, b = str_slice(base, idx) if base else (0, 0)
        return rt.check_str(base[:a] + v + base[b:])
    if t is int and ti is int and type(v) is bool:
        i = calc_index(BITS, idx, True)
        if i is None:
            raise bounds_error("Bit-field", idx, BITS)
        bit = 1 << i
        return _signed((base | bit) if v else (base & ~bit))
    if t is int and ti is IRange and type(v) is int:
        shift, mask = bit_field(idx)
        return _signed((base & ~mask) | ((v << shift) & mask))
    raise indexer_error(base, idx)
