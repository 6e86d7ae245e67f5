"""Statements, blocks, loops, switch, try/catch, assignment and whole scripts -> closures.

A statement closure returns None or a control signal (Ret, Brk, CONTINUE); an expression
that contains a `return`/`break` raises CtlExc instead, caught by the enclosing loop or
function. Every loop iteration spends one operation of the budget.
"""
from __future__ import annotations

from typing import Any, Callable

from .compile_call import CallCompiler
from .compile_expr import PLACES, E, index_set
from .errors import (CONST_ASSIGN, RhaiBaseError, RhaiLimitError, RhaiParseError,
                     RhaiRuntimeError, RhaiThrow)
from .gen_flow import gen_block
from .fastops import const_error, make_compound_var, slow_binary
from .runtime import BREAK, CONTINUE, NO_THIS, Brk, Cell, CtlExc, Ret
from .scope import FnScope, Var
from .syntax import Node
from .values import Char, IRange, clone, to_display, type_name

S = Callable[[list[Any]], Any]
Pos = tuple[int, int]
BLOCKISH = ("if", "switch", "while", "do", "for", "block")


def _nothing(fr: list[Any]) -> None:
    return None


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
    raise RhaiRuntimeError(f"For loop expects an iterable type, not {type_name(v)}")


class StmtCompiler(CallCompiler):
    """Compiles statements and blocks; `compile_script` is the entry point."""

    # -- blocks ------------------------------------------------------------------
    def stmt_block(self, node: Node, sc: FnScope) -> S:
        sc.push()
        s = gen_block(self, node.a[0], sc, "stmt")
        sc.pop()
        return s

    def body_stmt(self, node: Node, sc: FnScope) -> S:
        if node.kind == "block":
            return self.stmt_block(node, sc)
        return self.stmt(Node("expr", node.pos, node), sc)

    def value_block(self, node: Node, sc: FnScope) -> E:
        """A block-like node in expression position (its value is used)."""
        k = node.kind
        if k == "block":
            sc.push()
            f = gen_block(self, node.a[0], sc, "value")
            sc.pop()
            return f
        if k == "if":
            return self.if_(node, sc, value=True)
        if k == "switch":
            return self.switch(node, sc, value=True)
        core = self.loop_core(node, sc)

        def loop_value(fr: list[Any]) -> Any:
            r = core(fr)
            if type(r) is Ret:
                raise CtlExc(r)
            return r
        return loop_value

    def fn_body(self, node: Node, sc: FnScope) -> E:
        """A function body: its value, or the value of a `return` inside it."""
        return gen_block(self, node.a[0], sc, "fn")

    # -- statements ----------------------------------------------------------------
    def stmt(self, node: Node, sc: FnScope) -> S:
        k = node.kind
        if k == "expr":
            e = node.a[0]
            if e.kind in BLOCKISH:
                if e.kind == "block":
                    return self.stmt_block(e, sc)
                if e.kind == "if":
                    return self.if_(e, sc, value=False)
                if e.kind == "switch":
                    return self.switch(e, sc, value=False)
                core = self.loop_core(e, sc)

                def loop_stmt(fr: list[Any]) -> Any:
                    r = core(fr)
                    return r if type(r) is Ret else None
                return loop_stmt
            f = self.expr(e, sc)

            def ex(fr: list[Any]) -> None:
                f(fr)
            return ex
        method = getattr(self, "s_" + k)
        return method(node, sc)  # type: ignore[no-any-return]

    def s_let(self, node: Node, sc: FnScope) -> S:
        name, value, const = node.a
        f = self.value(value, sc) if value is not None else (lambda fr: None)
        v = sc.declare(name, const)
        i = v.slot
        rt = self.rt
        if sc.top and const:
            def glob(fr: list[Any]) -> None:
                x = f(fr)
                fr[i] = Cell(x) if v.boxed else x
                rt.modules.setdefault("$global", {})[name] = x
            return glob
        if v.boxed:
            def let_box(fr: list[Any]) -> None:
                fr[i] = Cell(f(fr))
            return let_box

        def let(fr: list[Any]) -> None:
            fr[i] = f(fr)
        return let

    def s_break(self, node: Node, sc: FnScope) -> S:
        if sc.loops == 0:
            raise RhaiParseError("Break statement should only be used inside a loop", node.pos)
        if node.a[0] is None:
            return lambda fr: BREAK
        f = self.value(node.a[0], sc)
        return lambda fr: Brk(f(fr))

    def s_continue(self, node: Node, sc: FnScope) -> S:
        if sc.loops == 0:
            raise RhaiParseError("Continue statement should only be used inside a loop", node.pos)
        return lambda fr: CONTINUE

    def s_return(self, node: Node, sc: FnScope) -> S:
        if node.a[0] is None:
            return lambda fr: Ret(None)
        f = self.value(node.a[0], sc)
        return lambda fr: Ret(f(fr))

    def s_throw(self, node: Node, sc: FnScope) -> S:
        pos = node.pos
        if node.a[0] is None and sc.catch_slots:
            slot = sc.catch_slots[-1]

            def rethrow(fr: list[Any]) -> None:
                raise fr[slot]                 # `throw;` in a catch block: the original error
            return rethrow
        f = self.value(node.a[0], sc) if node.a[0] is not None else (lambda fr: None)

        def throw(fr: list[Any]) -> None:
            v = f(fr)
            raise RhaiThrow(v, to_display(v), pos)
        return throw

    def s_try(self, node: Node, sc: FnScope) -> S:
        return self.try_catch(node, sc, value=False)  # type: ignore[no-any-return]

    def x_tryx(self, node: Node, sc: FnScope) -> E:
        """`try { } catch { }` whose value is used (last statement of a block)."""
        return self.try_catch(node, sc, value=True)  # type: ignore[no-any-return]

    def try_catch(self, node: Node, sc: FnScope, value: bool) -> Any:
        body_node, var, catch_node = node.a
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

    def s_import(self, node: Node, sc: FnScope) -> S:
        pathf = self.expr(node.a[0], sc)
        alias = node.a[1]
        rt, pos = self.rt, node.pos
        slot = sc.declare(alias, module=True).slot if alias else None

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
    def s_assign(self, node: Node, sc: FnScope) -> S:
        op, target, value = node.a
        rt, pos = self.rt, node.pos
        vf = self.value(value, sc)
        binop = op[:-1]
        if target.kind == "var":
            var = sc.lookup(target.a[0])
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
        getter = self.expr(target, sc)
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
                    raise e.at(pos)
                return
            setter(fr, slow_binary(rt, binop, a, b, pos))
        return compound

    def root_const(self, node: Node, sc: FnScope) -> Var | None:
        while node.kind in ("index", "prop"):
            node = node.a[0]
        if node.kind == "var":
            v = sc.lookup(node.a[0])
            if v is not None and v.const:
                return v
        return None

    def place_setter(self, node: Node, sc: FnScope) -> Callable[[list[Any], Any], None]:
        """How to store into a place: a variable, `this`, `a[i]` or `a.b`."""
        pos, rt = node.pos, self.rt
        k = node.kind
        const = self.root_const(node, sc)
        if const is not None:
            name = const.name

            def no(fr: list[Any], v: Any) -> None:
                raise RhaiRuntimeError(CONST_ASSIGN.format(name), pos)
            return no
        if k == "var":
            var = sc.lookup(node.a[0])
            if var is None or var.module:
                vname = node.a[0]

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
        if k == "this":
            def set_this(fr: list[Any], v: Any) -> None:
                if fr[0] is NO_THIS:
                    raise RhaiRuntimeError("'this' is not bound", pos)
                fr[0] = v
            return set_this
        obj = node.a[0]
        objf = self.expr(obj, sc)
        parent = self.place_setter(obj, sc) if obj.kind in PLACES else None
        if k == "index":
            idxf = self.expr(node.a[1], sc)

            def set_index(fr: list[Any], v: Any) -> None:
                b = objf(fr)
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
                    raise e.at(pos)
                if nb is not b and parent is not None:
                    parent(fr, nb)
            return set_index
        name = node.a[1]

        def set_prop(fr: list[Any], v: Any) -> None:
            b = objf(fr)
            if type(b) is not dict:
                raise RhaiRuntimeError(f"Cannot set property {name} of {type_name(b)}", pos)
            b[name] = v
            if rt.max_map and len(b) > rt.max_map:
                try:
                    rt.check_map(b)
                except RhaiBaseError as e:
                    raise e.at(pos)
        return set_prop
