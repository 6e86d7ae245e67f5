"""String and char functions. Methods that change their string in Rhai (trim, replace, push,
pad, ...) are `mutators`: they return (new string, result) and the caller stores the string."""
from __future__ import annotations

from typing import Any

from ..errors import RhaiRuntimeError
from ..library import STD
from ..values import Char, IRange

fn = STD.fn
mut = STD.mutator


def _start(s: str, start: int) -> int:
    n = len(s)
    if start < 0:
        start = max(0, n + start)
    return min(start, n)


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


@fn("to_upper", "char")
def char_upper(c: str) -> Char:
    u = c.upper()
    return Char(u if len(u) == 1 else c)


@fn("to_lower", "char")
def char_lower(c: str) -> Char:
    u = c.lower()
    return Char(u if len(u) == 1 else c)


for _name, _pred in {"is_digit": str.isdigit, "is_alphabetic": str.isalpha,
                     "is_whitespace": str.isspace, "is_uppercase": str.isupper,
                     "is_lowercase": str.islower, "is_alphanumeric": str.isalnum}.items():
    fn(_name, "char")(lambda c, p=_pred: p(str(c)))


@fn("to_chars", "str", names=("chars",))
def to_chars(s: str) -> list[Any]:
    return [Char(c) for c in s]


@fn("get", "str", "int")
def get(s: str, i: int) -> Any:
    n = len(s)
    if -n <= i < n:
        return Char(s[i])
    return None


@fn("sub_string", "str", "int", "int")
def sub_string(s: str, start: int, length: int) -> str:
    b = _start(s, start)
    return s[b:b + max(0, length)]


@fn("sub_string", "str", "int")
def sub_string_from(s: str, start: int) -> str:
    return s[_start(s, start):]


@fn("sub_string", "str", "range")
def sub_string_range(s: str, r: IRange) -> str:
    end = r.end + 1 if r.inclusive else r.end
    return s[max(0, r.start):max(0, end)]


@fn("index_of", "str", "sc")
def index_of(s: str, sub: str) -> int:
    return s.find(sub)


@fn("index_of", "str", "sc", "int")
def index_of_from(s: str, sub: str, start: int) -> int:
    return s.find(sub, _start(s, start))


@fn("contains", "str", "sc")
def contains(s: str, sub: str) -> bool:
    return sub in s


@fn("starts_with", "str", "str")
def starts_with(s: str, p: str) -> bool:
    return s.startswith(p)


@fn("ends_with", "str", "str")
def ends_with(s: str, p: str) -> bool:
    return s.endswith(p)


@fn("split", "str", "sc")
def split(s: str, sep: str) -> list[Any]:
    if sep == "":
        return [""] + [c for c in s] + [""]
    return s.split(sep)


@fn("split", "str", "sc", "int")
def split_n(s: str, sep: str, n: int) -> list[Any]:
    if n <= 0:
        return []
    return s.split(sep, n - 1)


@fn("split", "str", "int")
def split_at(s: str, i: int) -> list[Any]:
    b = _start(s, i)
    return [s[:b], s[b:]]


@fn("split", "str")
def split_ws(s: str) -> list[Any]:
    return s.split()


@fn("split_rev", "str", "sc")
def split_rev(s: str, sep: str) -> list[Any]:
    return list(reversed(s.split(sep)))


@fn("trim_copy", "str")
def trim_copy(s: str) -> str:
    return s.strip()


@fn("repeat", "str", "int", rt=True)
def repeat(rt: Any, s: str, n: int) -> str:
    if rt.max_str and len(s) * max(n, 0) > rt.max_str:
        rt.check_str(s * 0 + " " * (rt.max_str + 1))
    return s * max(n, 0)


@fn("reverse", "str")
def reverse(s: str) -> str:
    return s[::-1]


@fn("to_json", "str")
def str_json(s: str) -> str:
    import json
    return json.dumps(s)


@fn("len", "char")
def char_len(c: str) -> int:
    return 1


# -- methods that modify their string --------------------------------------------------
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


@mut("clear", 1)
def clear(s: str) -> tuple[str, Any]:
    return "", None


@mut("pop", 1)
def pop(s: str) -> tuple[str, Any]:
    return (s[:-1], Char(s[-1])) if s else (s, None)


@mut("pop", 2)
def pop_n(s: str, n: Any) -> tuple[str, Any]:
    if type(n) is not int:
        raise RhaiRuntimeError("Function not found: pop (string, " + type(n).__name__ + ")")
    if n <= 0:
        return s, ""
    return s[:-n] if n < len(s) else "", s[-n:]


@mut("push", 2)
def push(s: str, x: Any) -> tuple[str, Any]:
    if not isinstance(x, str):
        raise RhaiRuntimeError(f"Function not found: push (string, {_tn(x)})")
    return s + x, None


@mut("append", 2)
def append(s: str, x: Any) -> tuple[str, Any]:
    from ..values import to_display
    return s + (x if isinstance(x, str) else to_display(x)), None


@mut("truncate", 2)
def truncate(s: str, n: Any) -> tuple[str, Any]:
    return s[:max(0, n)], None


@mut("replace", 3)
def replace(s: str, find: Any, sub: Any) -> tuple[str, Any]:
    if not isinstance(find, str) or not isinstance(sub, str):
        raise RhaiRuntimeError(f"Function not found: replace (string, {_tn(find)}, {_tn(sub)})")
    return s.replace(find, sub), None


@mut("remove", 2)
def remove(s: str, sub: Any) -> tuple[str, Any]:
    if not isinstance(sub, str):
        raise RhaiRuntimeError(f"Function not found: remove (string, {_tn(sub)})")
    return s.replace(sub, ""), None


@mut("pad", 3)
def pad(s: str, n: Any, ch: Any) -> tuple[str, Any]:
    if type(n) is not int or not isinstance(ch, str) or not ch:
        raise RhaiRuntimeError(f"Function not found: pad (string, {_tn(n)}, {_tn(ch)})")
    out = s
    while len(out) < n:
        out += ch
    return out[:max(n, len(s))], None


@mut("crop", 3)
def crop(s: str, start: Any, length: Any) -> tuple[str, Any]:
    b = _start(s, start)
    return s[b:b + max(0, length)], None


@mut("crop", 2)
def crop_from(s: str, start: Any) -> tuple[str, Any]:
    if type(start) is IRange:
        end = start.end + 1 if start.inclusive else start.end
        return s[max(0, start.start):max(0, end)], None
    return s[_start(s, start):], None


def _tn(v: Any) -> str:
    from ..values import type_name
    return type_name(v)
