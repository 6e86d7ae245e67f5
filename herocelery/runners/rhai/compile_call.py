"""Function calls, method calls and function pointers, compiled to closures.

Resolution order (fixed at compile time where possible): script function of that arity,
special forms (`Fn`, `is_def_var`, `type_of`, ...), natives, then a variable holding a
function pointer. Arguments are copied (arrays and maps are values); `this` is by reference.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .compile_expr import E, native_error
from .errors import FN_NOT_FOUND, FnNotFound, RhaiBaseError, RhaiRuntimeError
from .ops import not_found
from .runtime import NO_THIS, Cell, Closure, CtlExc, Rt, ScriptFn
from .scope import FnScope
from .syntax import PLACES, Call, Method, Var
from .values import FnPtr, to_debug, to_display, type_name

if TYPE_CHECKING:
    from .compiler import Compiler

Special = Callable[[Call, FnScope], "E | None"]

Pos = tuple[int, int]


def invoke(rt: Rt, sfn: ScriptFn, args: list[Any], this: Any = NO_THIS,
           cells: list[Cell] | None = None) -> tuple[Any, Any]:
    """Call a script function or closure; returns (result, `this` afterwards)."""
    if len(args) != len(sfn.params):
        raise FnNotFound(FN_NOT_FOUND.format(
            f"{sfn.name} ({', '.join(type_name(a) for a in args)})"))
    d = rt.depth
    if d >= rt.max_depth:
        raise rt.too_deep()
    rt.budget -= 1
    if rt.budget < 0:
        rt.tick()
    nf = sfn.template.copy()
    nf[0] = this
    nf[1:1 + len(args)] = args
    for s in sfn.boxed:
        nf[s] = Cell(nf[s])
    if cells:
        for s, c in zip(sfn.capture_slots, cells, strict=False):
            nf[s] = c
    rt.depth = d + 1
    v = sfn.body(nf)
    rt.depth = d
    return v, nf[0]


def call_fnptr(rt: Rt, fp: FnPtr, args: list[Any], this: Any = NO_THIS) -> Any:
    """Call a function pointer (closure, script function or native) with arguments."""
    if fp.curry:
        args = [*fp.curry, *args]
    fn = fp.fn
    if type(fn) is Closure:
        return invoke(rt, fn.fn, args, this, fn.cells)[0]
    sfn = rt.fns.get((fp.name, len(args)))
    if sfn is not None:
        return invoke(rt, sfn, args, this)[0]
    d = rt.lib.resolve(fp.name, len(args))
    if d is not None:
        return d(rt, *args)
    raise FnNotFound(FN_NOT_FOUND.format(
        f"{fp.name} ({', '.join(type_name(a) for a in args)})"))


def call_with_this(rt: Rt, fp: FnPtr, args: list[Any], this: Any) -> tuple[Any, Any]:
    """Call a function pointer with `this` bound; returns (result, `this` afterwards)."""
    args = [*fp.curry, *args]
    fn = fp.fn
    if type(fn) is Closure:
        return invoke(rt, fn.fn, args, this, fn.cells)
    sfn = rt.fns.get((fp.name, len(args)))
    if sfn is not None:
        return invoke(rt, sfn, args, this)
    return call_fnptr(rt, FnPtr(fp.name), [this, *args]), this


def signature(name: str, args: list[Any]) -> str:
    return FN_NOT_FOUND.format(f"{name} ({', '.join(type_name(a) for a in args)})")


class CallCompiler:
    """Compiles `f(...)`, `m::f(...)` and `x.f(...)`; special forms by an explicit table."""

    def __init__(self, c: Compiler) -> None:
        self.c = c
        self.rt = c.rt
        self.specials: dict[str, Special] = {
            "Fn": self.special_fn, "is_def_var": self.special_is_def_var,
            "is_def_fn": self.special_is_def_fn, "print": self.special_print,
            "debug": self.special_debug, "eval": self.special_eval,
            "call": self.special_call, "curry": self.special_curry,
            "is_shared": self.special_is_shared, "exit": self.special_exit,
        }

    def call(self, node: Call, sc: FnScope) -> E:
        name, args, ns = node.name, node.args, node.ns
        pos, rt = node.pos, self.rt
        n = len(args)
        if ns is not None:
            return self.ns_call(node, sc)
        if node.bang:
            from .compile_eval import compile_bang
            return compile_bang(self.c, node, sc)
        sfn = self.c.script_fns.get((name, n))
        if sfn is None:
            special = self.specials.get(name)
            if special is not None:
                f = special(node, sc)
                if f is not None:
                    return f
        if sfn is not None:
            from .gen_flow import gen_script_call
            return gen_script_call(self.c, sfn, args, sc, pos)
        by_ref = n and isinstance(args[0], PLACES) and \
            self.c.stmts.root_const(args[0], sc) is None      # a constant is passed a copy
        if by_ref and (name, n) in rt.lib.mutators:
            # `trim(s)`: a native's first argument is passed by reference, as in Rhai
            return self.method(Method(pos, args[0], name, args[1:], False), sc)
        argfs = [self.c.value(a, sc) for a in args]
        if by_ref:
            argfs[0] = self.c.expr(args[0], sc)      # by reference (`push(a, 1)` changes a)
        d = rt.lib.resolve(name, n)
        if d is not None:
            return self.native_call(name, d, argfs, pos)
        var = sc.lookup(name)
        getter = self.c.expr(Var(pos, name), sc) if var is not None else None

        def dynamic(fr: list[Any]) -> Any:
            vals = [f(fr) for f in argfs]
            fp = getter(fr) if getter is not None else None
            if type(fp) is FnPtr:
                try:
                    return call_fnptr(rt, fp, vals)
                except CtlExc:
                    raise
                except Exception as e:
                    raise native_error(name, e, pos) from None
            sfn2 = rt.fns.get((name, n))
            if sfn2 is not None:
                return invoke(rt, sfn2, vals)[0]
            raise FnNotFound(signature(name, vals), pos)
        return dynamic

    def script_call(self, sfn: ScriptFn, argfs: list[E], pos: Pos) -> E:
        rt = self.rt
        n = len(argfs)
        if not sfn.boxed and n <= 3:
            a0 = argfs[0] if n > 0 else None
            a1 = argfs[1] if n > 1 else None
            a2 = argfs[2] if n > 2 else None

            def call(fr: list[Any]) -> Any:
                nf = sfn.template.copy()
                if a0 is not None:
                    nf[1] = a0(fr)
                    if a1 is not None:
                        nf[2] = a1(fr)
                        if a2 is not None:
                            nf[3] = a2(fr)
                d = rt.depth
                if d >= rt.max_depth:
                    raise rt.too_deep().at(pos)
                rt.budget -= 1
                if rt.budget < 0:
                    try:
                        rt.tick()
                    except RhaiBaseError as e:
                        e.at(pos)
                        raise
                rt.depth = d + 1
                v = sfn.body(nf)
                rt.depth = d
                return v
            return call

        def call_any(fr: list[Any]) -> Any:
            vals = [f(fr) for f in argfs]
            try:
                return invoke(rt, sfn, vals)[0]
            except RhaiBaseError as e:
                e.at(pos)
                raise
        return call_any

    def native_call(self, name: str, d: Callable[..., Any], argfs: list[E], pos: Pos) -> E:
        rt = self.rt
        if len(argfs) == 1:
            a0 = argfs[0]

            def call1(fr: list[Any]) -> Any:
                x = a0(fr)
                try:
                    return d(rt, x)
                except CtlExc:
                    raise
                except Exception as e:
                    raise native_error(name, e, pos) from None
            return call1

        def call(fr: list[Any]) -> Any:
            vals = [f(fr) for f in argfs]
            try:
                return d(rt, *vals)
            except CtlExc:
                raise
            except Exception as e:
                raise native_error(name, e, pos) from None
        return call

    def ns_call(self, node: Call, sc: FnScope) -> E:
        name, args, ns = node.name, node.args, node.ns
        assert ns is not None
        pos, rt = node.pos, self.rt
        argfs = [self.c.value(a, sc) for a in args]
        if ns == "global":
            return self.call(Call(pos, name, args, None), sc)
        mod = self.c.exprs.module_ref(ns, pos, sc)

        def call(fr: list[Any]) -> Any:
            m = mod(fr)
            vals = [f(fr) for f in argfs]
            try:
                return m.call(rt, name, vals)
            except CtlExc:
                raise
            except Exception as e:
                raise native_error(f"{ns}::{name}", e, pos) from None
        return call

    def method(self, node: Method, sc: FnScope) -> E:
        obj, name, args, safe = node.obj, node.name, node.args, node.safe
        if name == "is_shared" and not args:
            return self.special_is_shared(Call(node.pos, name, [obj]), sc)  # type: ignore[return-value]
        pos, rt = node.pos, self.rt
        n = len(args)
        objf = self.c.expr(obj, sc)
        argfs = [self.c.value(a, sc) for a in args]
        setter = self.c.place_setter(obj, sc) if isinstance(obj, PLACES) else None
        sfn_this = self.c.script_fns.get((name, n))
        sfn_plain = self.c.script_fns.get((name, n + 1))
        d = rt.lib.resolve(name, n + 1)
        mut = rt.lib.mutators.get((name, n + 1))
        fnptr_method = name in ("call", "curry", "bind")

        a0 = argfs[0] if n >= 1 else None
        a1 = argfs[1] if n >= 2 else None
        special = fnptr_method or sfn_this is not None

        if d is not None and not special and n <= 2:
            # the common case: a native method, e.g. `a.push(x)` or `s.len()`
            def native_method(fr: list[Any]) -> Any:
                o = objf(fr)
                if o is None and safe:
                    return None
                try:
                    t = type(o)
                    if t is dict:
                        fp = o.get(name)
                        if type(fp) is FnPtr:
                            vals = [f(fr) for f in argfs]
                            return call_fnptr(rt, fp, vals, o)
                    elif mut is not None and t in mut:
                        new, res = mut[t](o, *[f(fr) for f in argfs])
                        if setter is not None and new is not o:
                            rt.check_value(new)
                            setter(fr, new)
                        return res
                    if a0 is None:
                        return d(rt, o)
                    if a1 is None:
                        return d(rt, o, a0(fr))
                    return d(rt, o, a0(fr), a1(fr))
                except CtlExc:
                    raise
                except FnNotFound as e:
                    if sfn_plain is not None:
                        vals = [f(fr) for f in argfs]
                        return invoke(rt, sfn_plain, [o, *vals])[0]
                    raise native_error(name, e, pos) from None
                except Exception as e:
                    raise native_error(name, e, pos) from None
            return native_method

        def method(fr: list[Any]) -> Any:
            o = objf(fr)
            if o is None and safe:
                return None
            vals = [f(fr) for f in argfs]
            t = type(o)
            try:
                if t is FnPtr and fnptr_method:
                    if name == "call":
                        return call_fnptr(rt, o, vals)
                    if name == "curry":
                        return FnPtr(o.name, (*o.curry, *vals), o.fn)
                if name == "call" and vals and type(vals[0]) is FnPtr:
                    # `obj.call(fp, args...)`: call fp with `this` bound to obj
                    v, after = call_with_this(rt, vals[0], vals[1:], o)
                    if setter is not None and after is not o:
                        setter(fr, after)
                    return v
                if t is dict:
                    fp = o.get(name)
                    if type(fp) is FnPtr:
                        return call_fnptr(rt, fp, vals, o)
                if mut is not None and t in mut:
                    new, res = mut[t](o, *vals)
                    if setter is not None and new is not o:
                        rt.check_value(new)
                        setter(fr, new)
                    return res
                if sfn_this is not None:
                    v, after = invoke(rt, sfn_this, vals, o)
                    if setter is not None and after is not o:
                        setter(fr, after)
                    return v
                if d is not None:
                    return d(rt, o, *vals)
                if sfn_plain is not None:
                    return invoke(rt, sfn_plain, [o, *vals])[0]
                raise FnNotFound(signature(name, [o, *vals]))
            except CtlExc:
                raise
            except Exception as e:
                raise native_error(name, e, pos) from None
        return method

    # -- special forms -------------------------------------------------------------
    def special_fn(self, node: Call, sc: FnScope) -> E | None:
        if len(node.args) != 1:
            return None
        f, pos = self.c.expr(node.args[0], sc), node.pos

        def mk(fr: list[Any]) -> FnPtr:
            name = f(fr)
            if type(name) is not str:
                raise RhaiRuntimeError(
                    f"Data type incorrect: {type_name(name)} (expecting string)", pos)
            if not name.isidentifier():
                raise RhaiRuntimeError(f"Invalid function name: {name}", pos)
            return FnPtr(name)
        return mk

    def special_is_def_var(self, node: Call, sc: FnScope) -> E | None:
        if len(node.args) != 1:
            return None
        names = set(sc.visible())
        p = sc.parent
        f = self.c.expr(node.args[0], sc)
        return lambda fr: f(fr) in names or (p is not None and p.lookup(f(fr)) is not None)

    def special_is_def_fn(self, node: Call, sc: FnScope) -> E | None:
        rt = self.rt
        argfs = [self.c.expr(a, sc) for a in node.args]
        if len(argfs) == 2:
            return lambda fr: (argfs[0](fr), argfs[1](fr)) in rt.fns or \
                rt.lib.has(argfs[0](fr), argfs[1](fr))
        if len(argfs) == 1:
            return lambda fr: any(k[0] == argfs[0](fr) for k in rt.fns)
        return None

    def special_is_shared(self, node: Call, sc: FnScope) -> E | None:
        """`is_shared(x)`: whether a closure captures the variable x (known when compiling)."""
        if len(node.args) != 1:
            return None
        arg = node.args[0]
        v = sc.lookup(arg.name) if isinstance(arg, Var) else None
        shared = v is not None and v.boxed and not v.module
        f = self.c.expr(arg, sc)

        def is_shared(fr: list[Any]) -> bool:
            f(fr)
            return shared
        return is_shared

    def special_exit(self, node: Call, sc: FnScope) -> E | None:
        """`exit()` / `exit(value)`: stop the script at once with that value."""
        if len(node.args) > 1:
            return None
        from .runtime import ExitScript
        f = self.c.value(node.args[0], sc) if node.args else None

        def exit_(fr: list[Any]) -> None:
            raise ExitScript(f(fr) if f is not None else None)
        return exit_

    def special_print(self, node: Call, sc: FnScope) -> E | None:
        if len(node.args) != 1:
            return None
        f, rt = self.c.expr(node.args[0], sc), self.rt

        def prt(fr: list[Any]) -> None:
            v = f(fr)
            rt.on_print("" if v is None else to_display(v))
        return prt

    def special_debug(self, node: Call, sc: FnScope) -> E | None:
        if len(node.args) != 1:
            return None
        f, rt = self.c.expr(node.args[0], sc), self.rt

        def dbg(fr: list[Any]) -> None:
            rt.on_debug(to_debug(f(fr)))
        return dbg

    def special_eval(self, node: Call, sc: FnScope) -> E | None:
        if len(node.args) != 1:
            return None
        from .compile_eval import compile_eval
        return compile_eval(self.c, node, sc)

    def special_call(self, node: Call, sc: FnScope) -> E | None:
        if not node.args:
            return None
        fpf = self.c.expr(node.args[0], sc)
        argfs = [self.c.value(a, sc) for a in node.args[1:]]
        rt, pos = self.rt, node.pos

        def call(fr: list[Any]) -> Any:
            fp = fpf(fr)
            vals = [f(fr) for f in argfs]
            try:
                if type(fp) is str:
                    fp = FnPtr(fp)
                if type(fp) is not FnPtr:
                    raise not_found("call", fp, *vals)
                return call_fnptr(rt, fp, vals)
            except CtlExc:
                raise
            except Exception as e:
                raise native_error("call", e, pos) from None
        return call

    def special_curry(self, node: Call, sc: FnScope) -> E | None:
        if not node.args:
            return None
        fpf = self.c.expr(node.args[0], sc)
        argfs = [self.c.value(a, sc) for a in node.args[1:]]
        pos = node.pos

        def curry(fr: list[Any]) -> Any:
            fp = fpf(fr)
            if type(fp) is not FnPtr:
                raise not_found("curry", fp).at(pos)
            return FnPtr(fp.name, (*fp.curry, *[f(fr) for f in argfs]), fp.fn)
        return curry
