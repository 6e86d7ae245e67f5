"""Bit fields on integers: get_bit/set_bit, get_bits/set_bits, and the `bits` iterators.

A negative bit position counts from the most significant bit (-1 is bit 63), as in Rhai.
"""
from __future__ import annotations

from typing import Any

from ..indexing import BITS, bit_field, bounds_error, calc_index
from ..library import STD
from ..values import IRange, RIter

fn = STD.fn
mut = STD.mutator
MASK = (1 << BITS) - 1


def _signed(v: int) -> int:
    v &= MASK
    return v - (1 << BITS) if v >> (BITS - 1) else v


def _bit(i: int) -> int:
    b = calc_index(BITS, i, True)
    if b is None:
        raise bounds_error("Bit-field", i, BITS)
    return b


def _span(start: int, n: int) -> tuple[int, int]:
    """(shift, mask) of `n` bits from `start`."""
    s = _bit(start)
    n = max(0, min(n, BITS - s))
    return s, ((1 << n) - 1) << s


@fn("get_bit", "int", "int")
def get_bit(v: int, i: int) -> bool:
    return bool((v >> _bit(i)) & 1)


@mut("set_bit", 3, recv=(int,))
def set_bit(v: int, i: Any, on: Any) -> tuple[int, Any]:
    if type(i) is not int or type(on) is not bool:
        from ..ops import not_found
        raise not_found("set_bit", v, i, on)
    bit = 1 << _bit(i)
    return _signed((v | bit) if on else (v & ~bit)), None


@fn("get_bits", "int", "int", "int")
def get_bits(v: int, start: int, n: int) -> int:
    shift, mask = _span(start, n)
    return (v & mask) >> shift


@fn("get_bits", "int", "range")
def get_bits_range(v: int, r: IRange) -> int:
    shift, mask = bit_field(r)
    return (v & mask) >> shift if mask else 0


@mut("set_bits", 4, recv=(int,))
def set_bits(v: int, start: Any, n: Any, new: Any) -> tuple[int, Any]:
    shift, mask = _span(start, n)
    return _signed((v & ~mask) | ((new << shift) & mask)), None


@mut("set_bits", 3, recv=(int,))
def set_bits_range(v: int, r: Any, new: Any) -> tuple[int, Any]:
    shift, mask = bit_field(r)
    return _signed((v & ~mask) | ((new << shift) & mask)), None


def _bits(v: int, start: int, n: int) -> RIter:
    s = _bit(start) if start else 0
    n = max(0, min(n, BITS - s))
    u = v & MASK
    return RIter("BitRange", [bool((u >> i) & 1) for i in range(s, s + n)])


@fn("bits", "int")
def bits(v: int) -> RIter:
    return _bits(v, 0, BITS)


@fn("bits", "int", "int")
def bits_from(v: int, start: int) -> RIter:
    return _bits(v, start, BITS)


@fn("bits", "int", "int", "int")
def bits_len(v: int, start: int, n: int) -> RIter:
    return _bits(v, start, n)


@fn("bits", "int", "range")
def bits_range(v: int, r: IRange) -> RIter:
    shift, mask = bit_field(r)
    return _bits(v, shift, mask.bit_length() - shift if mask else 0)
