"""String and char functions, as Rhai's string packages define them (positions count
characters; a negative start counts from the end). Methods that change their string or char in
Rhai (trim, replace, pad, crop, make_upper, ...) are `mutators`: they return (new value,
result) and the caller stores the value back into the variable or property."""
from __future__ import annotations

from typing import Any

from ..errors import RhaiRuntimeError
from ..library import STD
from ..ops import not_found
from ..values import Char, IRange, RIter, to_display

fn = STD.fn
mut = STD.mutator
BOTH = (str, Char)


def show(v: Any) -> str:
    """What `string + v` appends: `to_string()`, and nothing for ()."""
    return "" if v is None else to_display(v)


def _offset(s: str, start: int) -> int | None:
    """Rhai's start position: negative counts from the end (before the string: 0);
    None when past the end."""
    n = len(s)
    if start < 0:
        return max(0, n + start)
    return start if start < n else None


def _take(s: str, start: int, length: int) -> str:
    if not s or length <= 0:
        return ""
    b = _offset(s, start)
    if b is None:
        return ""
    return s[b:b + length]


def _range(r: IRange) -> tuple[int, int]:
    """(start, length) of sub_string/crop with a range (negative starts clamp to 0)."""
    start = max(r.start, 0)
    end = max(r.end, start)
    return start, end - start + (1 if r.inclusive else 0)


def _chars_of(s: str) -> RIter:
    return RIter("CharsStream", [Char(c) for c in s])


@fn("len", "str")
def len_(s: str) -> int:
    return len(s)


@fn("bytes", "str")
def bytes_(s: str) -> int:
    return len(s.encode())


@fn("is_empty", "str")
def is_empty(s: str) -> bool:
    return not s


@fn("to_upper", "str")
def to_upper(s: str) -> str:
    return s.upper()


@fn("to_lower", "str")
def to_lower(s: str) -> str:
    return s.lower()


def _upper_char(c: str) -> Char:
    u = c.upper()
    return Char(u if len(u) == 1 else c)


def _lower_char(c: str) -> Char:
    u = c.lower()
    return Char(u if len(u) == 1 else c)


fn("to_upper", "char")(_upper_char)
fn("to_lower", "char")(_lower_char)

for _name, _pred in {"is_digit": str.isdigit, "is_alphabetic": str.isalpha,
                     "is_whitespace": str.isspace, "is_uppercase": str.isupper,
                     "is_lowercase": str.islower, "is_alphanumeric": str.isalnum,
                     "is_ascii": str.isascii}.items():
    fn(_name, "char")(lambda c, p=_pred: p(str(c)))


@fn("to_chars", "str")
def to_chars(s: str) -> list[Any]:
    return [Char(c) for c in s]


@fn("chars", "str")
def chars(s: str) -> RIter:
    return _chars_of(s)


@fn("chars", "str", "int")
def chars_from(s: str, start: int) -> RIter:
    b = _offset(s, start)
    return _chars_of("" if b is None else s[b:])


@fn("chars", "str", "int", "int")
def chars_len(s: str, start: int, length: int) -> RIter:
    return _chars_of(_take(s, start, length))


@fn("chars", "str", "range")
def chars_range(s: str, r: IRange) -> RIter:
    return _chars_of(_take(s, *_range(r)))


@fn("to_blob", "str")
def to_blob(s: str) -> bytearray:
    return bytearray(s.encode())


@fn("get", "str", "int")
def get(s: str, i: int) -> Any:
    n = len(s)
    if -n <= i < n:
        return Char(s[i])
    return None


@fn("sub_string", "str", "int", "int")
def sub_string(s: str, start: int, length: int) -> str:
    return _take(s, start, length)


@fn("sub_string", "str", "int")
def sub_string_from(s: str, start: int) -> str:
    return _take(s, start, len(s))


@fn("sub_string", "str", "range")
def sub_string_range(s: str, r: IRange) -> str:
    return _take(s, *_range(r))


def _index(s: str, sub: str, start: int) -> int:
    if not s:
        return -1
    if start < 0:
        b = max(0, len(s) + start)
    elif start >= len(s):
        return -1
    else:
        b = start
    return s.find(sub, b)


@fn("index_of", "str", "sc")
def index_of(s: str, sub: str) -> int:
    return s.find(sub) if s else -1


@fn("index_of", "str", "sc", "int")
def index_of_from(s: str, sub: str, start: int) -> int:
    return _index(s, sub, start)


@fn("contains", "str", "sc")
def contains(s: str, sub: str) -> bool:
    return sub in s


@fn("starts_with", "str", "sc")
def starts_with(s: str, p: str) -> bool:
    return s.startswith(p)


@fn("ends_with", "str", "sc")
def ends_with(s: str, p: str) -> bool:
    return s.endswith(p)


@fn("split", "str", "sc")
def split(s: str, sep: str) -> list[Any]:
    if sep == "":
        return [""] + [c for c in s] + [""]
    return s.split(sep)


@fn("split", "str", "sc", "int")
def split_n(s: str, sep: str, n: int) -> list[Any]:
    if n < 1:
        return [s]
    if sep == "":
        parts = split(s, sep)
        return parts[:n - 1] + ["".join(parts[n - 1:])] if len(parts) > n else parts
    return s.split(sep, n - 1)


@fn("split", "str", "int")
def split_at(s: str, i: int) -> list[Any]:
    b = max(0, len(s) + i) if i < 0 else min(i, len(s))
    return [s[:b], s[b:]]


@fn("split", "str")
def split_ws(s: str) -> list[Any]:
    return s.split()


@fn("split_rev", "str", "sc")
def split_rev(s: str, sep: str) -> list[Any]:
    return list(reversed(split(s, sep)))


@fn("split_rev", "str", "sc", "int")
def split_rev_n(s: str, sep: str, n: int) -> list[Any]:
    if n < 1:
        return [s]
    if sep == "":
        return list(reversed(split_n(s[::-1], sep, n)))[::-1]
    return list(reversed(s.rsplit(sep, n - 1)))


@fn("trim_copy", "str")
def trim_copy(s: str) -> str:
    return s.strip()


@fn("repeat", "str", "int", rt=True)
def repeat(rt: Any, s: str, n: int) -> str:
    if rt.max_str and len(s) * max(n, 0) > rt.max_str:
        rt.check_str(" " * (rt.max_str + 1))
    return s * max(n, 0)


@fn("reverse", "str")
def reverse(s: str) -> str:
    return s[::-1]



@fn("len", "char")
def char_len(c: str) -> int:
    return 1


@fn("max", "str", "str")
def max_str(a: str, b: str) -> str:
    return a if a >= b else b


@fn("min", "str", "str")
def min_str(a: str, b: str) -> str:
    return a if a <= b else b


@fn("max", "char", "char")
def max_char(a: str, b: str) -> str:
    return a if a >= b else b


@fn("min", "char", "char")
def min_char(a: str, b: str) -> str:
    return a if a <= b else b


# -- methods that modify their string (or char) ----------------------------------------
def _need(name: str, ok: bool, *args: Any) -> None:
    if not ok:
        raise not_found(name, *args)


@mut("trim", 1)
def trim(s: str) -> tuple[str, Any]:
    return s.strip(), None


@mut("trim_start", 1)
def trim_start(s: str) -> tuple[str, Any]:
    return s.lstrip(), None


@mut("trim_end", 1)
def trim_end(s: str) -> tuple[str, Any]:
    return s.rstrip(), None


@mut("make_upper", 1)
def make_upper(s: str) -> tuple[str, Any]:
    return s.upper(), None


@mut("make_lower", 1)
def make_lower(s: str) -> tuple[str, Any]:
    return s.lower(), None


@mut("make_upper", 1, recv=(Char,))
def make_upper_char(c: str) -> tuple[str, Any]:
    return _upper_char(c), None


@mut("make_lower", 1, recv=(Char,))
def make_lower_char(c: str) -> tuple[str, Any]:
    return _lower_char(c), None


@mut("clear", 1)
def clear(s: str) -> tuple[str, Any]:
    return "", None


@mut("pop", 1)
def pop(s: str) -> tuple[str, Any]:
    return (s[:-1], Char(s[-1])) if s else (s, None)


@mut("pop", 2)
def pop_n(s: str, n: Any) -> tuple[str, Any]:
    _need("pop", type(n) is int, s, n)
    if not s or n <= 0:
        return s, ""
    return (s[:-n], s[-n:]) if n < len(s) else ("", s)


@mut("push", 2)
def push(s: str, x: Any) -> tuple[str, Any]:
    _need("push", isinstance(x, str), s, x)
    return s + x, None


@mut("append", 2)
def append(s: str, x: Any) -> tuple[str, Any]:
    if type(x) is bytearray:
        return s + x.decode("utf-8", "replace"), None
    return s + show(x), None


@mut("truncate", 2)
def truncate(s: str, n: Any) -> tuple[str, Any]:
    _need("truncate", type(n) is int, s, n)
    return s[:max(0, n)], None


@mut("replace", 3)
def replace(s: str, find: Any, sub: Any) -> tuple[str, Any]:
    _need("replace", isinstance(find, str) and isinstance(sub, str), s, find, sub)
    return s.replace(find, sub), None


@mut("remove", 2)
def remove(s: str, sub: Any) -> tuple[str, Any]:
    _need("remove", isinstance(sub, str), s, sub)
    return s.replace(sub, ""), None


@mut("pad", 3, recv=(str,))
def pad(s: str, n: Any, p: Any) -> tuple[str, Any]:
    _need("pad", type(n) is int and isinstance(p, str), s, n, p)
    if n <= len(s) or not p:
        return s, None
    if n > 1 << 31:
        raise RhaiRuntimeError("Length of string exceeds maximum limit")
    out = s + p * ((n - len(s)) // len(p) + 1)
    return out[:n], None


@mut("crop", 3)
def crop(s: str, start: Any, length: Any) -> tuple[str, Any]:
    _need("crop", type(start) is int and type(length) is int, s, start, length)
    return _take(s, start, length), None


@mut("crop", 2)
def crop_from(s: str, start: Any) -> tuple[str, Any]:
    if type(start) is IRange:
        return _take(s, *_range(start)), None
    _need("crop", type(start) is int, s, start)
    return _take(s, start, len(s)), None


@mut("set", 3)
def set_char(s: str, i: Any, c: Any) -> tuple[str, Any]:
    _need("set", type(i) is int and type(c) is Char, s, i, c)
    n = len(s)
    if not -n <= i < n:
        return s, None
    i %= n
    return s[:i] + c + s[i + 1:], None


__all__ = ["show"]
