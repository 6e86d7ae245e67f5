"""Statements, blocks, loops, switch, try/catch, assignment and whole scripts -> closures.

A statement closure returns None or a control signal (Ret, Brk, CONTINUE); an expression
that contains a `return`/`break` raises CtlExc instead, caught by the enclosing loop or
function. Every loop iteration spends one operation of the budget.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .compile_expr import E, index_set
from .errors import (
    CONST_ASSIGN,
    RhaiBaseError,
    RhaiLimitError,
    RhaiParseError,
    RhaiRuntimeError,
    RhaiThrow,
)
from .fastops import const_error, make_compound_var, slow_binary
from .gen_flow import gen_block
from .runtime import BREAK, CONTINUE, NO_THIS, Brk, Cell, CtlExc, Ret
from .scope import FnScope, Var
from .syntax import (
    BLOCKISH,
    PLACES,
    Assign,
    Block,
    Break,
    Continue,
    Export,
    ExprStmt,
    If,
    Import,
    Index,
    Let,
    Node,
    Prop,
    Return,
    Switch,
    This,
    Throw,
    Try,
)
from .syntax import Var as VarNode
from .values import Char, IRange, RIter, clone, to_display, type_name

if TYPE_CHECKING:
    from .compiler import Compiler

S = Callable[[list[Any]], Any]
Pos = tuple[int, int]


def iterate(v: Any) -> Any:
    """What `for x in v` walks over."""
    t = type(v)
    if t is IRange:
        return v.py()
    if t is range:
        return v
    if t is list:
        return list(v)
    if t is str:
        return [Char(c) for c in v]
    if t is dict:
        return sorted(v)
    if t is bytearray:
        return list(v)
    if t is RIter:
        return v.items
    raise RhaiRuntimeError(f"For loop expects an iterable type, not {type_name(v)}")


class StmtCompiler:
    """Compiles statements and blocks; one table maps each statement class to its method."""

    def __init__(self, c: Compiler) -> None:
        self.c = c
        self.rt = c.rt
        self.table: dict[type, Callable[[Any, FnScope], S]] = {
            ExprStmt: self.s_expr, Let: self.s_let, Break: self.s_break,
            Continue: self.s_continue, Return: self.s_return, Throw: self.s_throw,
            Try: self.s_try, Import: self.s_import, Assign: self.s_assign,
            Export: self.s_export,
        }

    # -- blocks ------------------------------------------------------------------
    def stmt_block(self, node: Block, sc: FnScope) -> S:
        sc.push()
        s = gen_block(self.c, node.stmts, sc, "stmt")
        sc.pop()
        return s

    def body_stmt(self, node: Node, sc: FnScope) -> S:
        if isinstance(node, Block):
            return self.stmt_block(node, sc)
        return self.stmt(ExprStmt(node.pos, node), sc)

    def value_block(self, node: Node, sc: FnScope) -> E:
        """A block-like node in expression position (its value is used)."""
        if isinstance(node, Block):
            sc.push()
            f = gen_block(self.c, node.stmts, sc, "value")
            sc.pop()
            return f
        if isinstance(node, If):
            return self.c.flow.if_(node, sc, value=True)
        if isinstance(node, Switch):
            return self.c.flow.switch(node, sc, value=True)
        core = self.c.flow.loop_core(node, sc)

        def loop_value(fr: list[Any]) -> Any:
            r = core(fr)
            if type(r) is Ret:
                raise CtlExc(r)
            return r
        return loop_value

    def fn_body(self, node: Block, sc: FnScope, store: str = "none",
                params: list[Var] | None = None) -> E:
        """A function body: its value, or the value of a `return` inside it. `store`
        "all" when the frame is read afterwards (a script's top level); with `params`, the
        result may also have a `fast(args)` entry."""
        return gen_block(self.c, node.stmts, sc, "fn", store, params)

    # -- statements ----------------------------------------------------------------
    def stmt(self, node: Node, sc: FnScope) -> S:
        f = self.table.get(type(node))
        if f is None:
            raise RhaiParseError(f"Unexpected {type(node).__name__}", node.pos)
        return f(node, sc)

    def s_expr(self, node: ExprStmt, sc: FnScope) -> S:
        e = node.expr
        if isinstance(e, BLOCKISH):
            if isinstance(e, Block):
                return self.stmt_block(e, sc)
            if isinstance(e, If):
                return self.c.flow.if_(e, sc, value=False)
            if isinstance(e, Switch):
                return self.c.flow.switch(e, sc, value=False)
            core = self.c.flow.loop_core(e, sc)

            def loop_stmt(fr: list[Any]) -> Any:
                r = core(fr)
                return r if type(r) is Ret else None
            return loop_stmt
        f = self.c.expr(e, sc)

        def ex(fr: list[Any]) -> None:
            f(fr)
        return ex

    def s_let(self, node: Let, sc: FnScope) -> S:
        name, value, const = node.name, node.value, node.const
        f = self.c.value(value, sc) if value is not None else _unit
        from .compile_eval import hide
        drop = hide(sc, name)
        v = sc.declare(name, const)
        i = v.slot
        rt = self.rt
        glob_const = sc.top and const and len(sc.blocks) == 1
        gkey = self.c.globals_key
        if node.export:
            if not sc.top or len(sc.blocks) != 1:
                raise RhaiParseError("Export statement can only appear at global level",
                                     node.pos)
            self.c.exports[name] = v
        if drop is not None:
            boxed = v.boxed

            def let_hiding(fr: list[Any]) -> None:
                x = f(fr)
                fr[i] = Cell(x) if boxed else x
                drop(fr)
                if glob_const:
                    rt.modules.setdefault(gkey, {})[name] = x
            return let_hiding
        if glob_const:
            def glob(fr: list[Any]) -> None:
                x = f(fr)
                fr[i] = Cell(x) if v.boxed else x
                rt.modules.setdefault(gkey, {})[name] = x
            return glob
        if v.boxed:
            def let_box(fr: list[Any]) -> None:
                fr[i] = Cell(f(fr))
            return let_box

        def let(fr: list[Any]) -> None:
            fr[i] = f(fr)
        return let

    def s_break(self, node: Break, sc: FnScope) -> S:
        if sc.loops == 0:
            raise RhaiParseError("Break statement should only be used inside a loop", node.pos)
        if node.value is None:
            return lambda fr: BREAK
        f = self.c.value(node.value, sc)
        return lambda fr: Brk(f(fr))

    def s_continue(self, node: Continue, sc: FnScope) -> S:
        if sc.loops == 0:
            raise RhaiParseError("Continue statement should only be used inside a loop", node.pos)
        return lambda fr: CONTINUE

    def s_return(self, node: Return, sc: FnScope) -> S:
        if node.value is None:
            return lambda fr: Ret(None)
        f = self.c.value(node.value, sc)
        return lambda fr: Ret(f(fr))

    def s_throw(self, node: Throw, sc: FnScope) -> S:
        pos = node.pos
        if node.value is None and sc.catch_slots:
            slot = sc.catch_slots[-1]

            def rethrow(fr: list[Any]) -> None:
                raise fr[slot]                 # `throw;` in a catch block: the original error
            return rethrow
        f = self.c.value(node.value, sc) if node.value is not None else _unit

        def throw(fr: list[Any]) -> None:
            v = f(fr)
            raise RhaiThrow(v, to_display(v), pos)
        return throw

    def s_try(self, node: Try, sc: FnScope) -> S:
        return self.try_catch(node, sc, value=False)

    def try_value(self, node: Try, sc: FnScope) -> E:
        """`try { } catch { }` whose value is used (last statement of a block)."""
        return self.try_catch(node, sc, value=True)

    def try_catch(self, node: Try, sc: FnScope, value: bool) -> E:
        body_node, var, catch_node = node.body, node.var, node.catch
        body = self.value_block(body_node, sc) if value else self.stmt_block(body_node, sc)
        sc.push()
        err_slot = sc.declare("$error").slot
        slot = sc.declare(var).slot if var else None
        boxed = sc.lookup(var).boxed if var else False  # type: ignore[union-attr]
        sc.catch_slots.append(err_slot)
        handler = self.value_block(catch_node, sc) if value else self.stmt_block(catch_node, sc)
        sc.catch_slots.pop()
        sc.pop()
        rt = self.rt

        def try_(fr: list[Any]) -> Any:
            depth = rt.depth
            err: Any
            exc: RhaiBaseError
            try:
                return body(fr)
            except RhaiThrow as e:
                err, exc = e.value, e
            except RhaiLimitError:
                raise
            except RhaiBaseError as e:
                err, exc = e.message, e
            except RecursionError:
                raise rt.too_deep() from None
            rt.depth = depth
            fr[err_slot] = exc
            if slot is not None:
                fr[slot] = Cell(err) if boxed else err
            return handler(fr)
        return try_

    def s_import(self, node: Import, sc: FnScope) -> S:
        pathf = self.c.expr(node.path, sc)
        alias = node.alias
        rt, pos = self.rt, node.pos
        mv = sc.declare(alias, module=True) if alias else None
        slot = mv.slot if mv else None
        if mv is not None and alias and sc.top and len(sc.blocks) == 1:
            self.c.sub_modules[alias] = mv       # a module's own imports are its sub-modules

        def imp(fr: list[Any]) -> None:
            path = pathf(fr)
            try:
                mod = rt.load_module(path) if type(path) is str else None
            except RhaiBaseError as e:
                raise RhaiRuntimeError(f"Error in module {path}: {e}", pos) from None
            if mod is None:
                raise RhaiRuntimeError(f"Module not found: {to_display(path)}", pos)
            if slot is not None:
                fr[slot] = mod
        return imp

    # -- assignment -------------------------------------------------------------------
    def s_assign(self, node: Assign, sc: FnScope) -> S:
        op, target, value = node.op, node.target, node.value
        rt, pos = self.rt, node.pos
        vf = self.c.value(value, sc)
        binop = op[:-1]
        if isinstance(target, VarNode) and sc.dyn_for(target.name):
            return self.dyn_assign(node, sc, vf)
        if isinstance(target, VarNode):
            var = sc.lookup(target.name)
            if var is not None and var.const:
                return const_error(var.name, pos)
            if var is not None and not var.module:
                i = var.slot
                if op == "=":
                    if var.boxed:
                        def set_box(fr: list[Any]) -> None:
                            fr[i].v = vf(fr)
                        return set_box

                    def set_var(fr: list[Any]) -> None:
                        fr[i] = vf(fr)
                    return set_var
                if binop != "??":
                    return make_compound_var(rt, binop, i, vf, pos, var.boxed)
        getter = self.c.expr(target, sc)
        setter = self.place_setter(target, sc)
        if op == "=":
            def assign(fr: list[Any]) -> None:
                setter(fr, vf(fr))
            return assign
        if binop == "??":
            def coalesce(fr: list[Any]) -> None:
                if getter(fr) is None:
                    setter(fr, vf(fr))
            return coalesce

        def compound(fr: list[Any]) -> None:
            b = vf(fr)
            a = getter(fr)
            if type(a) is list and binop == "+":
                a.extend(clone(b)) if type(b) is list else a.append(clone(b))
                try:
                    rt.check_arr(a)
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
                return
            setter(fr, slow_binary(rt, binop, a, b, pos))
        return compound

    def dyn_assign(self, node: Assign, sc: FnScope, vf: E) -> S:
        """Assignment to a variable an eval may have defined or hidden."""
        from .compile_eval import dyn_get, dyn_set
        assert isinstance(node.target, VarNode)
        name, pos, rt, op = node.target.name, node.pos, self.rt, node.op
        bids = sc.dyn_for(name)
        var = sc.lookup(name)
        get, put = dyn_get(sc, name, var, bids, pos), dyn_set(sc, name, var, bids, pos)
        binop = op[:-1]

        def assign(fr: list[Any]) -> None:
            b = vf(fr)
            if op == "=":
                put(fr, b)
            elif binop == "??":
                if get(fr) is None:
                    put(fr, b)
            else:
                put(fr, slow_binary(rt, binop, get(fr), b, pos))
        return assign

    def root_const(self, node: Node, sc: FnScope) -> Var | None:
        while isinstance(node, (Index, Prop)):
            node = node.obj
        if isinstance(node, VarNode):
            v = sc.lookup(node.name)
            if v is not None and v.const:
                return v
        return None

    def place_setter(self, node: Node, sc: FnScope) -> Callable[[list[Any], Any], None]:
        """How to store into a place: a variable, `this`, `a[i]` or `a.b`."""
        pos, rt = node.pos, self.rt
        const = self.root_const(node, sc)
        if const is not None:
            name = const.name

            def no(fr: list[Any], v: Any) -> None:
                raise RhaiRuntimeError(CONST_ASSIGN.format(name), pos)
            return no
        if isinstance(node, VarNode) and sc.dyn_for(node.name):
            from .compile_eval import dyn_set
            return dyn_set(sc, node.name, sc.lookup(node.name), sc.dyn_for(node.name), pos)
        if isinstance(node, VarNode):
            var = sc.lookup(node.name)
            if var is None or var.module:
                vname = node.name

                def missing(fr: list[Any], v: Any) -> None:
                    raise RhaiRuntimeError(f"Variable not found: {vname}", pos)
                return missing
            i = var.slot
            if var.boxed:
                def set_box(fr: list[Any], v: Any) -> None:
                    fr[i].v = v
                return set_box

            def set_var(fr: list[Any], v: Any) -> None:
                fr[i] = v
            return set_var
        if isinstance(node, This):
            def set_this(fr: list[Any], v: Any) -> None:
                if fr[0] is NO_THIS:
                    raise RhaiRuntimeError("'this' is not bound", pos)
                fr[0] = v
            return set_this
        if not isinstance(node, (Index, Prop)):
            raise RhaiParseError("Cannot assign to an expression", pos)
        obj = node.obj
        objf = self.c.expr(obj, sc)
        parent = self.place_setter(obj, sc) if isinstance(obj, PLACES) else None
        if isinstance(node, Index):
            idxf = self.c.expr(node.idx, sc)
            safe = node.safe

            def set_index(fr: list[Any], v: Any) -> None:
                b = objf(fr)
                if b is None and safe:
                    return                 # `x?[i] = v` with x () does nothing
                i = idxf(fr)
                if type(b) is list and type(i) is int:
                    try:
                        b[i] = v
                        return
                    except IndexError:
                        pass
                try:
                    nb = index_set(rt, b, i, v)
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
                if nb is not b and parent is not None:
                    parent(fr, nb)
            return set_index
        name = node.name

        def set_prop(fr: list[Any], v: Any) -> None:
            b = objf(fr)
            if type(b) is not dict:
                raise RhaiRuntimeError(f"Cannot set property {name} of {type_name(b)}", pos)
            b[name] = v
            if rt.max_map and len(b) > rt.max_map:
                try:
                    rt.check_map(b)
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
        return set_prop

    def s_export(self, node: Export, sc: FnScope) -> S:
        """`export x as y`: the final value of x is the module's y."""
        if not sc.top or len(sc.blocks) != 1:
            raise RhaiParseError("Export statement can only appear at global level", node.pos)
        for name, alias in node.items:
            v = sc.lookup(name)
            if v is None:
                raise RhaiParseError(f"Variable not found: {name}", node.pos)
            self.c.exports[alias] = v
        return _unit


def _unit(fr: list[Any]) -> None:
    return None
