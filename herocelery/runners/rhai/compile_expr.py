"""Expressions -> Python closures `f(frame) -> value` (no tree walking at run time)."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import (
    OUT_OF_MEMORY,
    VAR_NOT_FOUND,
    FnNotFound,
    RhaiBaseError,
    RhaiLimitError,
    RhaiParseError,
    RhaiRuntimeError,
)
from .fastops import make_binary, slow_binary
from .indexing import bounds_error, index_get, index_set
from .ops import contains, not_found, truthy, unary
from .runtime import NO_THIS, Cell, CtlExc, Rt
from .runtime import Closure as ClosureFn
from .scope import FnScope
from .syntax import (
    PLACES,
    And,
    ArrayLit,
    Bin,
    Closure,
    Index,
    Lit,
    MapLit,
    Node,
    NsVar,
    Or,
    Prop,
    This,
    Tmpl,
    Unary,
    Var,
)
from .values import FnPtr, clone, to_display, type_name

if TYPE_CHECKING:
    from .compiler import Compiler

E = Callable[[list[Any]], Any]
Pos = tuple[int, int]


def native_error(name: str, exc: Exception, pos: Pos) -> RhaiBaseError:
    """Any exception out of a native becomes a RhaiError at the call's position."""
    if isinstance(exc, RhaiBaseError):
        return exc.at(pos)
    if isinstance(exc, RecursionError):
        return RhaiRuntimeError("Stack overflow", pos)
    if isinstance(exc, MemoryError):         # past the job's memory cap: not catchable
        return RhaiLimitError(f"{OUT_OF_MEMORY} in function {name}", pos)
    return RhaiRuntimeError(f"Error in function {name}: {exc}", pos)


class ExprCompiler:
    """Compiles expression nodes to closures; one table maps each node class to its method."""

    def __init__(self, c: Compiler) -> None:
        self.c = c
        self.rt = c.rt
        self.table: dict[type, Callable[[Any, FnScope], E]] = {
            Lit: self.lit, Var: self.var, This: self.this, NsVar: self.nsvar,
            ArrayLit: self.array, MapLit: self.map, Tmpl: self.tmpl, Unary: self.unary,
            Bin: self.bin, And: self.and_, Or: self.or_, Index: self.index, Prop: self.prop,
            Closure: self.closure,
        }

    def expr(self, node: Node, sc: FnScope) -> E:
        f = self.table.get(type(node))
        if f is None:
            raise RhaiParseError(f"Unexpected {type(node).__name__}", node.pos)
        return f(node, sc)

    def value(self, node: Node, sc: FnScope) -> E:
        """An expression whose value is stored somewhere: arrays and maps are copied."""
        f = self.c.expr(node, sc)
        if not isinstance(node, PLACES):
            return f

        def copy(fr: list[Any]) -> Any:
            v = f(fr)
            t = type(v)
            return clone(v) if t is list or t is dict or t is bytearray else v
        return copy

    def shape(self, node: Node, sc: FnScope) -> tuple[str, Any]:
        """How a binary operand is fetched: a slot, a cell, a literal or a closure."""
        if isinstance(node, Lit):
            return ("lit", node.value)
        if isinstance(node, Var) and not sc.dyn_for(node.name):
            v = sc.lookup(node.name)
            if v is not None and not v.module:
                return ("box" if v.boxed else "var", v.slot)
        return ("any", self.c.expr(node, sc))

    # -- leaves ----------------------------------------------------------------
    def lit(self, node: Lit, sc: FnScope) -> E:
        v = node.value
        return lambda fr: v

    def var(self, node: Var, sc: FnScope) -> E:
        name = node.name
        v = sc.lookup(name)
        bids = sc.dyn_for(name)
        if bids:                                  # an eval may have defined or hidden it
            from .compile_eval import dyn_get
            return dyn_get(sc, name, v, bids, node.pos)
        if v is None:
            if any(k[0] == name for k in self.c.script_fns) or \
                    any(k[0] == name for k in self.rt.fns):
                fp = FnPtr(name)                  # a script function's name: `let f = foo;`
                return lambda fr: fp
            pos = node.pos

            def missing(fr: list[Any]) -> Any:
                raise RhaiRuntimeError(VAR_NOT_FOUND.format(name), pos)
            return missing
        i = v.slot
        if v.boxed:
            return lambda fr: fr[i].v
        return lambda fr: fr[i]

    def this(self, node: This, sc: FnScope) -> E:
        pos = node.pos

        def this(fr: list[Any]) -> Any:
            v = fr[0]
            if v is NO_THIS:
                raise RhaiRuntimeError("'this' is not bound", pos)
            return v
        return this

    def nsvar(self, node: NsVar, sc: FnScope) -> E:
        ns, name = node.ns, node.name
        pos, rt = node.pos, self.rt
        if ns == "global":
            key = self.c.globals_key             # a module's functions see its own globals

            def glob(fr: list[Any]) -> Any:
                g = rt.modules.get(key, {})
                if name not in g:
                    raise RhaiRuntimeError(VAR_NOT_FOUND.format(f"global::{name}"), pos)
                return g[name]
            return glob
        mod = self.module_ref(ns, node.pos, sc)

        def get(fr: list[Any]) -> Any:
            m = mod(fr)
            if name not in m.vars:
                raise RhaiRuntimeError(VAR_NOT_FOUND.format(f"{ns}::{name}"), pos)
            return m.vars[name]
        return get

    def module_ref(self, ns: str, pos: Pos, sc: FnScope) -> E:
        """The module `a` (a variable made by import) or `a::b` (its sub-module b)."""
        first, *rest = ns.split("::")
        v = sc.lookup(first)
        if v is None or not v.module:
            def missing(fr: list[Any]) -> Any:
                raise RhaiRuntimeError(f"Module not found: {ns}", pos)
            return missing
        i = v.slot
        if not rest:
            return lambda fr: fr[i]

        def sub_module(fr: list[Any]) -> Any:
            m = fr[i]
            for part in rest:
                m = m.subs.get(part)
                if m is None:
                    raise RhaiRuntimeError(f"Module not found: {ns}", pos)
            return m
        return sub_module

    def array(self, node: ArrayLit, sc: FnScope) -> E:
        items = [self.value(x, sc) for x in node.items]
        rt = self.rt
        pos = node.pos
        if not items:
            return lambda fr: []

        def arr(fr: list[Any]) -> Any:
            a = [f(fr) for f in items]
            if rt.max_arr and len(a) > rt.max_arr:
                try:
                    rt.check_arr(a)
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
            return a
        return arr

    def map(self, node: MapLit, sc: FnScope) -> E:
        items = [(k, self.value(x, sc)) for k, x in node.items]
        rt, pos = self.rt, node.pos

        def mp(fr: list[Any]) -> Any:
            m = {k: f(fr) for k, f in items}
            if rt.max_map and len(m) > rt.max_map:
                try:
                    rt.check_map(m)
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
            return m
        return mp

    def tmpl(self, node: Tmpl, sc: FnScope) -> E:
        parts: list[E] = []
        for p in node.parts:
            if isinstance(p, str):
                parts.append(_const(p))
            else:
                parts.append(_shown(self.c.expr(p, sc)))
        rt, pos = self.rt, node.pos

        def tmpl(fr: list[Any]) -> str:
            s = "".join([p(fr) for p in parts])
            if rt.max_str and len(s) > rt.max_str:
                try:
                    rt.check_str(s)
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
            return s
        return tmpl

    # -- operators ---------------------------------------------------------------
    def unary(self, node: Unary, sc: FnScope) -> E:
        op = node.op
        f = self.c.expr(node.operand, sc)
        pos = node.pos
        if op == "!":
            def neg(fr: list[Any]) -> Any:
                v = f(fr)
                if v is True:
                    return False
                if v is False:
                    return True
                raise not_found("!", v).at(pos)
            return neg

        def un(fr: list[Any]) -> Any:
            try:
                return unary(op, f(fr))
            except RhaiBaseError as e:
                e.at(pos)
                raise
        return un

    def bin(self, node: Bin, sc: FnScope) -> E:
        op, left, right = node.op, node.left, node.right
        pos = node.pos
        if op == "??":
            lf, rf = self.c.expr(left, sc), self.c.expr(right, sc)

            def coalesce(fr: list[Any]) -> Any:
                v = lf(fr)
                return rf(fr) if v is None else v
            return coalesce
        if op in ("in", "!in"):
            lf, rf = self.c.expr(left, sc), self.c.expr(right, sc)
            negate = op == "!in"

            def isin(fr: list[Any]) -> Any:
                a = lf(fr)
                try:
                    return contains(rf(fr), a) != negate
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
            return isin
        return make_binary(self.rt, op, self.shape(left, sc), self.shape(right, sc), pos)

    def and_(self, node: And, sc: FnScope) -> E:
        lf, rf = self.c.expr(node.left, sc), self.c.expr(node.right, sc)
        pos = node.pos

        def land(fr: list[Any]) -> Any:
            a = lf(fr)
            if a is False:
                return False
            if a is not True:
                raise not_found("&&", a, ()).at(pos)
            b = rf(fr)
            if b is True or b is False:
                return b
            raise not_found("&&", a, b).at(pos)
        return land

    def or_(self, node: Or, sc: FnScope) -> E:
        lf, rf = self.c.expr(node.left, sc), self.c.expr(node.right, sc)
        pos = node.pos

        def lor(fr: list[Any]) -> Any:
            a = lf(fr)
            if a is True:
                return True
            if a is not False:
                raise not_found("||", a, ()).at(pos)
            b = rf(fr)
            if b is True or b is False:
                return b
            raise not_found("||", a, b).at(pos)
        return lor

    # -- indexing and properties -------------------------------------------------
    def index(self, node: Index, sc: FnScope) -> E:
        safe = node.safe
        bf, xf = self.c.expr(node.obj, sc), self.c.expr(node.idx, sc)
        pos = node.pos

        def index(fr: list[Any]) -> Any:
            b = bf(fr)
            i = xf(fr)
            if type(b) is list and type(i) is int:
                try:
                    return b[i]
                except IndexError:
                    pass
            if b is None and safe:
                return None
            try:
                return index_get(b, i)
            except RhaiBaseError as e:
                e.at(pos)
                raise
        return index

    def prop(self, node: Prop, sc: FnScope) -> E:
        name, safe = node.name, node.safe
        bf = self.c.expr(node.obj, sc)
        pos, rt = node.pos, self.rt

        def prop(fr: list[Any]) -> Any:
            b = bf(fr)
            if type(b) is dict:
                return b.get(name)
            if b is None and safe:
                return None
            return get_property(rt, b, name, pos)
        return prop

    # -- closures ----------------------------------------------------------------
    def closure(self, node: Closure, sc: FnScope) -> E:
        sfn, outer = self.c.flow.closure_fn(node, sc)
        slots = [(v.slot) for v in outer]
        name = sfn.name

        def make(fr: list[Any]) -> FnPtr:
            return FnPtr(name, (), ClosureFn(sfn, [fr[s] for s in slots]))
        return make


def _const(s: str) -> E:
    return lambda fr: s


def _shown(f: E) -> E:
    # interpolation appends `to_string()`, and nothing for () (as `string + ()` does)
    def shown(fr: list[Any]) -> str:
        v = f(fr)
        return v if type(v) is str else ("" if v is None else to_display(v))
    return shown


def get_property(rt: Rt, b: Any, name: str, pos: Pos) -> Any:
    """`b.name` on a non-map: a getter function such as `len` or `start`."""
    if type(b) is FnPtr and name in ("name", "is_anonymous"):
        return b.name if name == "name" else b.name.startswith("anon$")
    getter = rt.lib.resolve("get$" + name, 1) or rt.lib.resolve(name, 1)
    if getter is None:
        raise RhaiRuntimeError(f"Property not found: {name}", pos)
    try:
        return getter(rt, b)
    except FnNotFound:
        raise RhaiRuntimeError(f"Property not found: {name} on {type_name(b)}", pos) from None
    except CtlExc:
        raise
    except Exception as e:
        raise native_error(name, e, pos) from None


__all__ = ["ExprCompiler", "E", "index_get", "index_set", "bounds_error", "native_error",
           "truthy", "slow_binary", "Cell"]
