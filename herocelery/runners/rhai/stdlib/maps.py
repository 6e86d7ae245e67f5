"""Object map functions: keys, values, len, remove, contains, mixin, fill_with, filter, ..."""
from __future__ import annotations

from typing import Any

from ..library import STD
from ..values import Char, FnPtr, clone

fn = STD.fn


@fn("len", "map")
def len_(m: dict[str, Any]) -> int:
    return len(m)


@fn("is_empty", "map")
def is_empty(m: dict[str, Any]) -> bool:
    return not m


@fn("keys", "map")
def keys(m: dict[str, Any]) -> list[Any]:
    return sorted(m)


@fn("values", "map")
def values(m: dict[str, Any]) -> list[Any]:
    return [m[k] for k in sorted(m)]


@fn("contains", "map", "sc")
def contains(m: dict[str, Any], k: str) -> bool:
    return str(k) in m


@fn("get", "map", "sc")
def get(m: dict[str, Any], k: str) -> Any:
    return m.get(str(k))


@fn("set", "map", "sc", "any", rt=True)
def set_(rt: Any, m: dict[str, Any], k: str, v: Any) -> None:
    m[str(k)] = v
    rt.check_map(m)


@fn("remove", "map", "sc")
def remove(m: dict[str, Any], k: str) -> Any:
    return m.pop(str(k), None)


@fn("clear", "map")
def clear(m: dict[str, Any]) -> None:
    m.clear()


@fn("mixin", "map", "map", rt=True, names=("+=",))
def mixin(rt: Any, m: dict[str, Any], other: dict[str, Any]) -> None:
    m.update(clone(other))
    rt.check_map(m)


@fn("fill_with", "map", "map", rt=True)
def fill_with(rt: Any, m: dict[str, Any], other: dict[str, Any]) -> None:
    for k, v in other.items():
        if k not in m:
            m[k] = clone(v)
    rt.check_map(m)


def _call2(rt: Any, f: FnPtr, k: str, v: Any) -> Any:
    return rt.call_fnptr(f, [k, v])


@fn("filter", "map", "fn", rt=True)
def filter_(rt: Any, m: dict[str, Any], f: FnPtr) -> dict[str, Any]:
    return {k: v for k, v in list(m.items()) if _call2(rt, f, k, v) is True}


@fn("retain", "map", "fn", rt=True)
def retain(rt: Any, m: dict[str, Any], f: FnPtr) -> dict[str, Any]:
    out = {k: v for k, v in list(m.items()) if _call2(rt, f, k, v) is not True}
    for k in out:
        del m[k]
    return out


@fn("drain", "map", "fn", rt=True)
def drain(rt: Any, m: dict[str, Any], f: FnPtr) -> dict[str, Any]:
    out = {k: v for k, v in list(m.items()) if _call2(rt, f, k, v) is True}
    for k in out:
        del m[k]
    return out


def json_data(v: Any) -> Any:
    """A value as Rhai's to_json writes it: () is null, a char a string, a function
    pointer its name (with curried arguments: [name, args...]), a range its items."""
    t = type(v)
    if t is dict:
        return {str(k): json_data(x) for k, x in v.items()}
    if t is list:
        return [json_data(x) for x in v]
    if t is FnPtr:
        return [v.name, *map(json_data, v.curry)] if v.curry else v.name
    from ..values import to_json as plain
    return plain(v)


def json_text(v: Any) -> str:
    import json
    try:
        return json.dumps(json_data(v), ensure_ascii=False, separators=(",", ":"))
    except RecursionError:
        from ..errors import RhaiRuntimeError
        raise RhaiRuntimeError("Value nests too deeply to convert") from None


@fn("to_json", "map")
def to_json(m: dict[str, Any]) -> str:
    return json_text(m)


@fn("contains", "sc", "sc")
def char_in(s: str, sub: str) -> bool:
    return str(sub) in str(s)


_ = Char
