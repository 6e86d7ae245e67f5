"""Array functions: push, pop, shift, insert, remove, splice, sort, map, filter, reduce, ..."""
from __future__ import annotations

import functools
from typing import Any

from ..compile_call import call_with_this
from ..errors import RhaiRuntimeError
from ..library import STD
from ..ops import equals
from ..runtime import Closure
from ..values import Char, FnPtr, IRange, clone, type_name

fn = STD.fn


def _fp(f: Any) -> FnPtr:
    return f if type(f) is FnPtr else FnPtr(f)


def _arity(rt: Any, fp: FnPtr) -> int:
    """How many parameters the callback takes (its curried arguments aside)."""
    if type(fp.fn) is Closure:
        return len(fp.fn.fn.params) - len(fp.curry)
    for n in (1, 2, 0, 3):
        if (fp.name, n + len(fp.curry)) in rt.fns:
            return n
    return 1


def _caller(rt: Any, f: Any, index_only: bool = False) -> Any:
    """`call(item, i) -> (result, item afterwards)` for a Rhai callback, as Rhai calls them:
    with no parameter the item is `this` (changes to it are kept); otherwise the item then the
    index (for_each: `this` is the item and the one parameter is the index)."""
    fp = _fp(f)
    n = _arity(rt, fp)
    if n == 0 or index_only:
        def with_this(x: Any, i: int) -> Any:
            return call_with_this(rt, fp, [i] if n >= 1 else [], x)
        return with_this
    call = rt.call_fnptr
    if n >= 2:
        return lambda x, i: (call(fp, [x, i]), x)
    return lambda x, i: (call(fp, [x]), x)


def _bool(v: Any, name: str) -> bool:
    if v is True or v is False:
        return v
    raise RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting bool) in {name}")


def _index(a: Any, i: int) -> int:
    n = len(a)
    if i < 0:
        i = max(0, n + i)
    return min(i, n)


def _span(a: Any, r: IRange) -> tuple[int, int]:
    """(start, end) of a range over an array or blob (start clamped at 0)."""
    start = max(r.start, 0)
    end = max(r.end + (1 if r.inclusive else 0), start)
    return min(start, len(a)), min(end, len(a))


@fn("len", "array")
def len_(a: list[Any]) -> int:
    return len(a)


@fn("is_empty", "array")
def is_empty(a: list[Any]) -> bool:
    return not a


@fn("push", "array", "any", rt=True, names=("+=",))
def push(rt: Any, a: list[Any], v: Any) -> None:
    a.append(v)
    if rt.max_arr and len(a) > rt.max_arr:
        rt.check_arr(a)


@fn("append", "array", "array", rt=True)
def append(rt: Any, a: list[Any], b: list[Any]) -> None:
    a.extend(clone(b))
    rt.check_arr(a)


@fn("pop", "array")
def pop(a: list[Any]) -> Any:
    return a.pop() if a else None


@fn("shift", "array")
def shift(a: list[Any]) -> Any:
    return a.pop(0) if a else None


@fn("insert", "array", "int", "any", rt=True)
def insert(rt: Any, a: list[Any], i: int, v: Any) -> None:
    a.insert(_index(a, i) if i >= 0 or -i <= len(a) else 0, v)
    rt.check_arr(a)


@fn("remove", "array", "int")
def remove(a: list[Any], i: int) -> Any:
    if -len(a) <= i < len(a):
        return a.pop(i)
    return None


@fn("clear", "array")
def clear(a: list[Any]) -> None:
    a.clear()


@fn("truncate", "array", "int")
def truncate(a: list[Any], n: int) -> None:
    del a[max(0, n):]


@fn("chop", "array", "int")
def chop(a: list[Any], n: int) -> None:
    if n <= 0:
        a.clear()
    elif n < len(a):
        del a[:len(a) - n]


@fn("pad", "array", "int", "any", rt=True)
def pad(rt: Any, a: list[Any], n: int, v: Any) -> None:
    if rt.max_arr and n > rt.max_arr:
        rt.check_arr(range(n))
    if n > len(a):
        rt.spend((n - len(a)) // 64)
        a.extend([clone(v) for _ in range(n - len(a))] if type(v) in (list, dict)
                 else [v] * (n - len(a)))


@fn("reverse", "array")
def reverse(a: list[Any]) -> None:
    a.reverse()


@fn("get", "array", "int")
def get(a: list[Any], i: int) -> Any:
    return a[i] if -len(a) <= i < len(a) else None


@fn("set", "array", "int", "any")
def set_(a: list[Any], i: int, v: Any) -> None:
    if -len(a) <= i < len(a):
        a[i] = v


@fn("contains", "array", "any", rt=True)
def contains(rt: Any, a: list[Any], v: Any) -> bool:
    rt.spend(len(a) // 16)
    return any(equals(x, v) for x in a)


def _find_index(rt: Any, a: list[Any], f: Any, start: int) -> int:
    call = _caller(rt, f)
    for i in range(_index(a, start), len(a)):
        if _bool(call(a[i], i)[0], "index_of"):
            return i
    return -1


@fn("index_of", "array", "fn", rt=True)
def index_of_fn(rt: Any, a: list[Any], f: FnPtr) -> int:
    return _find_index(rt, a, f, 0)


@fn("index_of", "array", "fn", "int", rt=True)
def index_of_fn_from(rt: Any, a: list[Any], f: FnPtr, start: int) -> int:
    return _find_index(rt, a, f, start)


@fn("index_of", "array", "str", "int", rt=True)
def index_of_name_from(rt: Any, a: list[Any], f: str, start: int) -> int:
    return _find_index(rt, a, f, start)


@fn("index_of", "array", "any", rt=True)
def index_of(rt: Any, a: list[Any], v: Any) -> int:
    rt.spend(len(a) // 16)
    for i, x in enumerate(a):
        if equals(x, v):
            return i
    return -1


@fn("index_of", "array", "any", "int", rt=True)
def index_of_from(rt: Any, a: list[Any], v: Any, start: int) -> int:
    rt.spend(len(a) // 16)
    for i in range(_index(a, start), len(a)):
        if equals(a[i], v):
            return i
    return -1


@fn("extract", "array", "int", "int")
def extract(a: list[Any], start: int, n: int) -> list[Any]:
    b = _index(a, start)
    return clone(a[b:b + max(0, n)])


@fn("extract", "array", "int")
def extract_from(a: list[Any], start: int) -> list[Any]:
    return clone(a[_index(a, start):])


@fn("extract", "array", "range")
def extract_range(a: list[Any], r: IRange) -> list[Any]:
    b, e = _span(a, r)
    return clone(a[b:e])


@fn("splice", "array", "int", "int", "array", rt=True)
def splice(rt: Any, a: list[Any], start: int, n: int, repl: list[Any]) -> None:
    b = _index(a, start)
    a[b:b + max(0, n)] = clone(repl)
    rt.check_arr(a)


@fn("splice", "array", "range", "array", rt=True)
def splice_range(rt: Any, a: list[Any], r: IRange, repl: list[Any]) -> None:
    b, e = _span(a, r)
    a[b:e] = clone(repl)
    rt.check_arr(a)


@fn("split", "array", "int")
def split(a: list[Any], i: int) -> list[Any]:
    b = _index(a, i)
    tail = a[b:]
    del a[b:]
    return tail


@fn("drain", "array", "int", "int")
def drain(a: list[Any], start: int, n: int) -> list[Any]:
    b = _index(a, start)
    out = a[b:b + max(0, n)]
    del a[b:b + max(0, n)]
    return out


@fn("drain", "array", "range")
def drain_range(a: list[Any], r: IRange) -> list[Any]:
    b, e = _span(a, r)
    out = a[b:e]
    del a[b:e]
    return out


@fn("retain", "array", "range")
def retain_range(a: list[Any], r: IRange) -> list[Any]:
    b, e = _span(a, r)
    out = a[:b] + a[e:]
    a[:] = a[b:e]
    return out


@fn("retain", "array", "int", "int")
def retain_n(a: list[Any], start: int, n: int) -> list[Any]:
    b = _index(a, start)
    e = min(len(a), b + max(0, n))
    out = a[:b] + a[e:]
    a[:] = a[b:e]
    return out


@fn("drain", "array", "fs", rt=True)
def drain_fn(rt: Any, a: list[Any], f: Any) -> list[Any]:
    call = _caller(rt, f)
    keep: list[Any] = []
    out: list[Any] = []
    for i, x in enumerate(a):
        r, x = call(x, i)
        (out if _bool(r, "drain") else keep).append(x)
    a[:] = keep
    return out


@fn("retain", "array", "fs", rt=True)
def retain(rt: Any, a: list[Any], f: Any) -> list[Any]:
    call = _caller(rt, f)
    keep: list[Any] = []
    out: list[Any] = []
    for i, x in enumerate(a):
        r, x = call(x, i)
        (keep if _bool(r, "retain") else out).append(x)
    a[:] = keep
    return out


@fn("filter", "array", "fs", rt=True)
def filter_(rt: Any, a: list[Any], f: Any) -> list[Any]:
    call = _caller(rt, f)
    return [x for i, x in enumerate(list(a)) if _bool(call(x, i)[0], "filter")]


@fn("map", "array", "fs", rt=True)
def map_(rt: Any, a: list[Any], f: Any) -> list[Any]:
    call = _caller(rt, f)
    return [call(x, i)[0] for i, x in enumerate(list(a))]


@fn("for_each", "array", "fs", rt=True)
def for_each(rt: Any, a: list[Any], f: Any) -> None:
    call = _caller(rt, f, index_only=True)
    for i in range(len(a)):
        if i < len(a):
            a[i] = call(a[i], i)[1]


@fn("some", "array", "fs", rt=True)
def some(rt: Any, a: list[Any], f: Any) -> bool:
    call = _caller(rt, f)
    return any(_bool(call(x, i)[0], "some") for i, x in enumerate(list(a)))


@fn("all", "array", "fs", rt=True)
def all_(rt: Any, a: list[Any], f: Any) -> bool:
    call = _caller(rt, f)
    return all(_bool(call(x, i)[0], "all") for i, x in enumerate(list(a)))


def _find(rt: Any, a: list[Any], f: Any, start: int, want_value: bool) -> Any:
    call = _caller(rt, f)
    items = list(a)
    for i in range(_index(items, start), len(items)):
        r = call(items[i], i)[0]
        if want_value:
            if r is not None:
                return r
        elif _bool(r, "find"):
            return items[i]
    return None


@fn("find", "array", "fs", rt=True)
def find(rt: Any, a: list[Any], f: Any) -> Any:
    return _find(rt, a, f, 0, False)


@fn("find", "array", "fs", "int", rt=True)
def find_from(rt: Any, a: list[Any], f: Any, start: int) -> Any:
    return _find(rt, a, f, start, False)


@fn("find_map", "array", "fs", rt=True)
def find_map(rt: Any, a: list[Any], f: Any) -> Any:
    return _find(rt, a, f, 0, True)


@fn("find_map", "array", "fs", "int", rt=True)
def find_map_from(rt: Any, a: list[Any], f: Any, start: int) -> Any:
    return _find(rt, a, f, start, True)


def _reduce(rt: Any, items: list[Any], f: Any, acc: Any) -> Any:
    fp = _fp(f)
    three = _arity(rt, fp) >= 3
    for i, x in items:
        acc = rt.call_fnptr(fp, [acc, x, i] if three else [acc, x])
    return acc


@fn("reduce", "array", "fs", rt=True)
def reduce(rt: Any, a: list[Any], f: Any) -> Any:
    return _reduce(rt, list(enumerate(a)), f, None)


@fn("reduce", "array", "fs", "any", rt=True)
def reduce_init(rt: Any, a: list[Any], f: Any, init: Any) -> Any:
    return _reduce(rt, list(enumerate(a)), f, init)


@fn("reduce_rev", "array", "fs", rt=True)
def reduce_rev(rt: Any, a: list[Any], f: Any) -> Any:
    return _reduce(rt, list(reversed(list(enumerate(a)))), f, None)


@fn("reduce_rev", "array", "fs", "any", rt=True)
def reduce_rev_init(rt: Any, a: list[Any], f: Any, init: Any) -> Any:
    return _reduce(rt, list(reversed(list(enumerate(a)))), f, init)


_SORTABLE = {int, float, str, bool}


@fn("sort", "array", rt=True)
def sort(rt: Any, a: list[Any]) -> None:
    rt.spend(len(a) // 16)
    if not a:
        return
    types = {type(x) for x in a}
    if len(types) == 1 and types <= _SORTABLE | {Char}:
        a.sort()
    elif types <= {int, float}:
        a.sort()
    else:
        raise RhaiRuntimeError("Cannot sort an array of mixed types: "
                               + ", ".join(sorted({type_name(x) for x in a})))


@fn("sort", "array", "fs", rt=True)
def sort_fn(rt: Any, a: list[Any], f: Any) -> None:
    fp = _fp(f)

    def cmp(x: Any, y: Any) -> int:
        r = rt.call_fnptr(fp, [x, y])
        if type(r) is not int:
            raise RhaiRuntimeError(f"Data type incorrect: {type_name(r)} (expecting i64) in sort")
        return r
    a.sort(key=functools.cmp_to_key(cmp))


@fn("sort_desc", "array", rt=True)
def sort_desc(rt: Any, a: list[Any]) -> None:
    sort(rt, a)
    a.reverse()


@fn("dedup", "array")
def dedup(a: list[Any]) -> None:
    out: list[Any] = []
    for x in a:
        if not out or not equals(out[-1], x):
            out.append(x)
    a[:] = out


@fn("dedup", "array", "fs", rt=True)
def dedup_by(rt: Any, a: list[Any], f: Any) -> None:
    fp = _fp(f)
    out: list[Any] = []
    for x in a:
        if not out or not _bool(rt.call_fnptr(fp, [out[-1], x]), "dedup"):
            out.append(x)
    a[:] = out


@fn("zip", "array", "array", "fn", rt=True)
def zip_(rt: Any, a: list[Any], b: list[Any], f: FnPtr) -> list[Any]:
    fp = _fp(f)
    if _arity(rt, fp) >= 3:
        return [rt.call_fnptr(fp, [x, y, i]) for i, (x, y) in enumerate(zip(a, b, strict=False))]
    return [rt.call_fnptr(fp, [x, y]) for x, y in zip(a, b, strict=False)]


@fn("concat", "array", "array", rt=True)
def concat(rt: Any, a: list[Any], b: list[Any]) -> list[Any]:
    return rt.check_arr(clone(a) + clone(b))


@fn("sum", "array")
def sum_(a: list[Any]) -> Any:
    from ..ops import binary
    total: Any = 0
    for x in a:
        total = binary("+", total, x)
    return total


@fn("min", "array")
def min_(a: list[Any]) -> Any:
    return min(a) if a else None


@fn("max", "array")
def max_(a: list[Any]) -> Any:
    return max(a) if a else None
