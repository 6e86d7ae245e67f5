"""Specialised closures for binary operators and compound assignment.

Each operator and operand shape (frame slot, cell, literal, any expression) gets a small
Python function generated once from a template: the common i64 case is inlined with its
overflow check; everything else takes the general path in `ops.binary`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import CONST_ASSIGN, OUT_OF_MEMORY, RhaiBaseError, RhaiLimitError, RhaiRuntimeError
from .ops import binary
from .runtime import CtlExc, Rt
from .values import clone, type_name

GET = {"var": "fr[ia]", "box": "fr[ia].v", "lit": "ca", "any": "La(fr)"}
GETB = {"var": "fr[ib]", "box": "fr[ib].v", "lit": "cb", "any": "Lb(fr)"}
LO, HI = "-9223372036854775808", "9223372036854775807"


def slow_binary(rt: Rt, op: str, a: Any, b: Any, pos: tuple[int, int]) -> Any:
    """The general operator path with the node's position on any error."""
    try:
        v = binary(op, a, b)
    except RhaiBaseError as e:
        e.at(pos)
        raise
    except CtlExc:
        raise
    except MemoryError:
        raise RhaiLimitError(f"{OUT_OF_MEMORY}: {type_name(a)} {op} {type_name(b)}", pos) from None
    except (OverflowError, ValueError, TypeError) as e:
        raise RhaiRuntimeError(f"Arithmetic error: {type_name(a)} {op} {type_name(b)}: {e}",
                               pos) from None
    if rt.max_str or rt.max_arr or rt.max_map:
        try:
            rt.check_value(v)
        except RhaiBaseError as e:
            e.at(pos)
            raise
    return v


def _fast(op: str, ta: str, tb: str) -> str:
    """The inlined fast path of an operator (may be empty)."""
    checks = []
    if ta != "int":
        checks.append("type(a) is int")
    if tb != "int":
        checks.append("type(b) is int")
    cond = " and ".join(checks) or "True"
    if op in ("+", "-", "*"):
        return (f"    if {cond}:\n        v = a {op} b\n"
                f"        if {LO} <= v <= {HI}:\n            return v\n")
    if op in ("/", "%"):
        pyop = "//" if op == "/" else "%"
        return f"    if {cond} and a >= 0 and b > 0:\n        return a {pyop} b\n"
    if op in ("<", "<=", ">", ">=", "&", "|", "^"):
        return f"    if {cond}:\n        return a {op} b\n"
    if op in ("==", "!="):
        return (f"    ta = type(a)\n    if ta is type(b) and (ta is int or ta is str):\n"
                f"        return a {op} b\n")
    return ""


_cache: dict[tuple[str, str, str, bool, bool], Callable[..., Any]] = {}


def make_binary(rt: Rt, op: str, left: tuple[str, Any], right: tuple[str, Any],
                pos: tuple[int, int]) -> Callable[[list[Any]], Any]:
    """A closure computing `left op right`; operands are (shape, slot|literal|closure)."""
    lk, lv = left
    rk, rv = right
    lint = lk == "lit" and type(lv) is int
    rint = rk == "lit" and type(rv) is int
    key = (op, lk, rk, lint, rint)
    factory = _cache.get(key)
    if factory is None:
        src = (f"def make(ia, ca, La, ib, cb, Lb, rt, pos, slow, op):\n"
               f" def f(fr):\n"
               f"    a = {GET[lk]}\n    b = {GETB[rk]}\n"
               + _fast(op, "int" if lint else "?", "int" if rint else "?")
               + "    return slow(rt, op, a, b, pos)\n"
               " return f\n")
        ns: dict[str, Any] = {}
        exec(compile(src, f"<rhai-op {op}>", "exec"), ns)
        factory = _cache[key] = ns["make"]
    args = {"ia": None, "ca": None, "La": None, "ib": None, "cb": None, "Lb": None}
    args[{"var": "ia", "box": "ia", "lit": "ca", "any": "La"}[lk]] = lv
    args[{"var": "ib", "box": "ib", "lit": "cb", "any": "Lb"}[rk]] = rv
    return factory(rt=rt, pos=pos, slow=slow_binary, op=op, **args)


_acache: dict[tuple[str, bool], Callable[..., Any]] = {}


def make_compound_var(rt: Rt, op: str, slot: int, rhs: Callable[[list[Any]], Any],
                      pos: tuple[int, int], boxed: bool) -> Callable[[list[Any]], None]:
    """`x op= rhs` for a plain variable: i64 inline, `s += "..."` appends in place."""
    key = (op, boxed)
    factory = _acache.get(key)
    if factory is None:
        get = "fr[i].v" if boxed else "fr[i]"
        lines = ["def make(i, R, rt, pos, slow, op, clone):", " def f(fr):",
                 "    b = R(fr)", f"    a = {get}"]
        if op in ("+", "-", "*"):
            lines += ["    if type(a) is int and type(b) is int:", f"        v = a {op} b",
                      f"        if {LO} <= v <= {HI}:", f"            {get} = v",
                      "            return"]
        if op == "+" and not boxed:
            lines += ["    elif type(a) is str and type(b) is str:", "        fr[i] = None",
                      "        a += b", "        fr[i] = a",
                      "        if rt.max_str and len(a) > rt.max_str:",
                      "            rt.check_str(a)", "        return",
                      "    elif type(a) is list:",
                      "        if type(b) is list: a.extend(clone(b))",
                      "        else: a.append(clone(b))",
                      "        if rt.max_arr and len(a) > rt.max_arr:",
                      "            try: rt.check_arr(a)",
                      "            except Exception as e: raise e.at(pos)",
                      "        return"]
        lines += [f"    {get} = slow(rt, op, a, b, pos)", " return f"]
        ns: dict[str, Any] = {}
        exec(compile("\n".join(lines) + "\n", f"<rhai-assign {op}=>", "exec"), ns)
        factory = _acache[key] = ns["make"]
    return factory(slot, rhs, rt, pos, slow_binary, op, clone)


def const_error(name: str, pos: tuple[int, int]) -> Callable[[list[Any]], None]:
    def f(fr: list[Any]) -> None:
        raise RhaiRuntimeError(CONST_ASSIGN.format(name), pos)
    return f
