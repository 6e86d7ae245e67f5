"""The compiler: one object holding the parts that compile expressions, calls, statements
and control flow (composition: each part reaches the others through the hub), and whole
scripts -> one runnable Program.

Control flow (if, switch, loops) and closures are compiled here, in `FlowCompiler`.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .compile_call import CallCompiler
from .compile_expr import E, ExprCompiler
from .compile_stmt import S, StmtCompiler, iterate
from .errors import RhaiBaseError, RhaiParseError, RhaiRuntimeError
from .ops import equals
from .runtime import Brk, Cell, Cont, CtlExc, Rt, ScriptFn
from .scope import FnScope, Var, captured_names
from .syntax import (
    BLOCKISH,
    ArrayLit,
    Bin,
    Block,
    Call,
    Closure,
    Do,
    ExprStmt,
    FnDef,
    For,
    If,
    Lit,
    MapLit,
    Method,
    Node,
    Script,
    Switch,
    Try,
    While,
)
from .values import IRange, type_name

Pos = tuple[int, int]


def cond_error(v: Any, pos: Pos) -> RhaiRuntimeError:
    return RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting bool)", pos)


def case_key(v: Any) -> Any:
    return (type(v), v)


class Compiler:
    """Compiles one parsed script against one runtime: the hub of the four parts."""

    def __init__(self, rt: Rt, globals_key: str = "$global") -> None:
        self.rt = rt
        self.globals_key = globals_key          # where this script's `global::` constants live
        self.script_fns: dict[tuple[str, int], ScriptFn] = {}
        self.fn_defs: dict[tuple[str, int], FnDef] = {}     # for `f!(...)` calls
        self.exports: dict[str, Var] = {}                    # alias -> variable (modules)
        self.sub_modules: dict[str, Var] = {}                # top-level imports (modules)
        self.anon = 0
        self.exprs = ExprCompiler(self)
        self.calls = CallCompiler(self)
        self.stmts = StmtCompiler(self)
        self.flow = FlowCompiler(self)
        # expression classes compiled outside ExprCompiler
        more: dict[type, Callable[[Any, FnScope], E]] = {
            Call: self.calls.call, Method: self.calls.method, Try: self.stmts.try_value}
        for k in BLOCKISH:
            more[k] = self.stmts.value_block
        self.exprs.table.update(more)

    # -- the front door of the parts (what gen.py and the parts call) ----------------
    def expr(self, node: Node, sc: FnScope) -> E:
        return self.exprs.expr(node, sc)

    def value(self, node: Node, sc: FnScope) -> E:
        return self.exprs.value(node, sc)

    def shape(self, node: Node, sc: FnScope) -> tuple[str, Any]:
        return self.exprs.shape(node, sc)

    def stmt(self, node: Node, sc: FnScope) -> S:
        return self.stmts.stmt(node, sc)

    def place_setter(self, node: Node, sc: FnScope) -> Callable[[list[Any], Any], None]:
        return self.stmts.place_setter(node, sc)

    def compile_script(self, script: Script, scope_names: list[str],
                       register: bool = True, top: bool = True) -> Program:
        """Compile a script; `register` makes its functions the evaluation's own (not for
        modules, whose functions are reached only through their alias); `top` is false for
        an `eval` below the top level (its constants are not global)."""
        rt = self.rt
        for fd in script.fns:
            sfn = ScriptFn(fd.name, fd.params, fd.pos, fd.private)
            sfn.rt = rt
            self.script_fns[(fd.name, len(fd.params))] = sfn
            self.fn_defs[(fd.name, len(fd.params))] = fd
        if register:
            rt.fns.update(self.script_fns)
        for fd in script.fns:
            sfn = self.script_fns[(fd.name, len(fd.params))]
            fsc = _fn_scope(fd.body, fd.params)
            sfn.boxed = _boxed_params(fsc, fd.params)
        for fd in script.fns:
            sfn = self.script_fns[(fd.name, len(fd.params))]
            fsc = _fn_scope(fd.body, fd.params)
            pvars = [v for v in (fsc.find(p) for p in fd.params) if v is not None]
            sfn.body = self.stmts.fn_body(fd.body, fsc, params=pvars)
            sfn.finish(fsc.nslots)
            fast = getattr(sfn.body, "fast", None)
            if fast is not None:
                sfn.fast = fast
        sc = FnScope(captured_names(script.stmts), top=top)
        slots = [sc.declare(n) for n in scope_names]
        body = self.stmts.fn_body(Block((1, 1), script.stmts), sc, store="all")
        prog = Program(body, sc.nslots, slots, dict(sc.blocks[0]), sc.eval_slot)
        prog.exports, prog.sub_modules = dict(self.exports), dict(self.sub_modules)
        return prog


def _fn_scope(body: Block, params: list[str]) -> FnScope:
    fsc = FnScope(captured_names(body.stmts))
    for p in params:
        fsc.declare(p)
    return fsc


def _boxed_params(sc: FnScope, params: list[str]) -> tuple[int, ...]:
    out = []
    for p in params:
        v = sc.lookup(p)
        if v is not None and v.boxed:
            out.append(v.slot)
    return tuple(out)


def _unit(fr: list[Any]) -> None:
    return None


class FlowCompiler:
    """if / switch / loops / closures."""

    def __init__(self, c: Compiler) -> None:
        self.c = c
        self.rt = c.rt

    # -- if / switch ---------------------------------------------------------------
    def if_(self, node: If, sc: FnScope, value: bool) -> Any:
        cond, then, other = node.cond, node.then, node.other
        c = self.c
        cf = c.expr(cond, sc)
        pos = node.pos
        ef: Callable[[list[Any]], Any]
        if value:
            tf = c.stmts.value_block(then, sc)
            ef = c.stmts.value_block(other, sc) if other is not None else _unit
        else:
            tf = c.stmts.stmt_block(then, sc)
            if other is None:
                ef = _unit
            elif isinstance(other, If):
                ef = self.if_(other, sc, False)
            else:
                ef = c.stmts.body_stmt(other, sc)

        def if_(fr: list[Any]) -> Any:
            c = cf(fr)
            if c is True:
                return tf(fr)
            if c is False:
                return ef(fr)
            raise cond_error(c, pos)
        return if_

    def const_value(self, node: Node) -> Any:
        """A case pattern: a literal, a range of integers, or an array/map of constants."""
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Bin) and node.op in ("..", "..=") and \
                isinstance(node.left, Lit) and isinstance(node.right, Lit) and \
                type(node.left.value) is int and type(node.right.value) is int:
            return IRange(node.left.value, node.right.value, node.op == "..=")
        if isinstance(node, ArrayLit):
            return [self.const_value(x) for x in node.items]
        if isinstance(node, MapLit):
            return {k: self.const_value(x) for k, x in node.items}
        raise RhaiParseError("Switch case value must be a constant", node.pos)

    def switch(self, node: Switch, sc: FnScope, value: bool) -> Any:
        c = self.c
        sf = c.expr(node.subject, sc)

        def body(n: Node) -> Any:
            if value:
                return c.stmts.value_block(n, sc) if isinstance(n, Block) else c.expr(n, sc)
            return c.stmts.body_stmt(n, sc)
        table: dict[Any, list[tuple[E | None, Any]]] = {}
        ranges: list[tuple[range, E | None, Any]] = []
        others: list[tuple[Any, E | None, Any]] = []     # arrays, maps, ranges: by equality
        for case in node.cases:
            cf = c.expr(case.cond, sc) if case.cond is not None else None
            bf = body(case.body)
            for p in case.pats:
                v = self.const_value(p)
                if type(v) is IRange:
                    ranges.append((v.py(), cf, bf))
                    others.append((v, cf, bf))
                elif type(v) in (list, dict):
                    others.append((v, cf, bf))
                elif type(v) in (int, float) and ranges:
                    # Rhai checks numbers before ranges: a number after a range is an error
                    raise RhaiParseError("Numeric switch case cannot follow a range case",
                                         p.pos)
                else:
                    table.setdefault(case_key(v), []).append((cf, bf))
        df = body(node.default) if node.default is not None else _unit
        pos = node.pos

        def switch(fr: list[Any]) -> Any:
            v = sf(fr)
            try:
                entries = table.get((type(v), v))
            except TypeError:
                entries = None
            if entries:
                for cf, bf in entries:
                    if cf is None:
                        return bf(fr)
                    c = cf(fr)
                    if c is True:
                        return bf(fr)
                    if c is not False:
                        raise cond_error(c, pos)
            if ranges and type(v) is int:
                for r, cf, bf in ranges:
                    if v in r:
                        if cf is None:
                            return bf(fr)
                        c = cf(fr)
                        if c is True:
                            return bf(fr)
                        if c is not False:
                            raise cond_error(c, pos)
            elif others and type(v) in (list, dict, IRange):
                for pat, cf, bf in others:
                    if equals(pat, v):
                        if cf is None:
                            return bf(fr)
                        c = cf(fr)
                        if c is True:
                            return bf(fr)
                        if c is not False:
                            raise cond_error(c, pos)
            return df(fr)
        return switch

    # -- loops -------------------------------------------------------------------------
    def loop_core(self, node: Node, sc: FnScope) -> Callable[[list[Any]], Any]:
        """A loop: returns Ret (to propagate), a break value, or None."""
        rt, pos = self.rt, node.pos
        if isinstance(node, For):
            return self.for_core(node, sc)
        cond: Node | None
        if isinstance(node, While):
            cond, body_node, until = node.cond, node.body, False
        elif isinstance(node, Do):
            body_node, cond, until = node.body, node.cond, node.until
        else:
            raise RhaiParseError(f"Unexpected {type(node).__name__}", pos)
        cf = self.c.expr(cond, sc) if cond is not None else None
        sc.loops += 1
        body = self.c.stmts.stmt_block(body_node, sc)
        sc.loops -= 1
        check_first = isinstance(node, While)

        def loop(fr: list[Any]) -> Any:
            first = True
            while True:
                if cf is not None and (check_first or not first):
                    c = cf(fr)
                    if c is not True and c is not False:
                        raise cond_error(c, pos)
                    if c is until:
                        return None
                first = False
                rt.budget -= 1
                if rt.budget < 0:
                    try:
                        rt.tick()
                    except RhaiBaseError as e:
                        e.at(pos)
                        raise
                try:
                    r = body(fr)
                except CtlExc as e:
                    r = e.ctl
                if r is not None:
                    if type(r) is Cont:
                        continue
                    if type(r) is Brk:
                        return r.v
                    return r
        return loop

    def for_core(self, node: For, sc: FnScope) -> Callable[[list[Any]], Any]:
        var, counter, it_node, body_node = node.var, node.counter, node.iterable, node.body
        rt, pos = self.rt, node.pos
        itf: Callable[[list[Any]], Any]
        if isinstance(it_node, Bin) and it_node.op in ("..", "..="):
            lo, hi = self.c.expr(it_node.left, sc), self.c.expr(it_node.right, sc)
            incl = 1 if it_node.op == "..=" else 0
            rop = it_node.op

            def itf(fr: list[Any]) -> Any:
                a, b = lo(fr), hi(fr)
                if type(a) is not int or type(b) is not int:
                    raise RhaiRuntimeError(
                        f"Function not found: {rop} ({type_name(a)}, {type_name(b)})", pos)
                return range(a, b + incl)
        else:
            f = self.c.expr(it_node, sc)

            def itf(fr: list[Any]) -> Any:
                try:
                    return iterate(f(fr))
                except RhaiBaseError as e:
                    e.at(pos)
                    raise
        sc.push()
        v = sc.declare(var)
        cv = sc.declare(counter) if counter else None
        sc.loops += 1
        body = self.c.stmts.stmt_block(body_node, sc)
        sc.loops -= 1
        sc.pop()
        slot, boxed = v.slot, v.boxed
        cslot = cv.slot if cv else None
        cboxed = cv.boxed if cv else False

        def loop(fr: list[Any]) -> Any:
            n = 0
            # a captured loop variable is one shared variable (closures see its last value)
            vcell = fr[slot] = Cell(None) if boxed else None
            ccell = Cell(None) if cboxed else None
            if ccell is not None and cslot is not None:
                fr[cslot] = ccell
            for x in itf(fr):
                if vcell is not None:
                    vcell.v = x
                else:
                    fr[slot] = x
                if cslot is not None:
                    if ccell is not None:
                        ccell.v = n
                    else:
                        fr[cslot] = n
                    n += 1
                rt.budget -= 1
                if rt.budget < 0:
                    try:
                        rt.tick()
                    except RhaiBaseError as e:
                        e.at(pos)
                        raise
                try:
                    r = body(fr)
                except CtlExc as e:
                    r = e.ctl
                if r is not None:
                    if type(r) is Cont:
                        continue
                    if type(r) is Brk:
                        return r.v
                    return r
            return None
        return loop

    # -- closures -------------------------------------------------------------------
    def closure_fn(self, node: Closure, sc: FnScope) -> tuple[ScriptFn, list[Var]]:
        params, body = node.params, node.body
        c = self.c
        c.anon += 1
        sfn = ScriptFn(f"anon$closure{c.anon}", params, node.pos)
        inner = FnScope(captured_names([body]), parent=sc)
        for p in params:
            inner.declare(p)
        sfn.boxed = _boxed_params(inner, params)
        blk = body if isinstance(body, Block) else Block(body.pos, [ExprStmt(body.pos, body)])
        sfn.body = c.stmts.fn_body(blk, inner)
        sfn.finish(inner.nslots)
        sfn.capture_slots = tuple(i.slot for _, i in inner.captures)
        return sfn, [o for o, _ in inner.captures]


class Program:
    """A compiled script: run it with the scope's values in order."""

    def __init__(self, body: E, nslots: int, slots: list[Var],
                 top_vars: dict[str, Var] | None = None, eval_slot: int | None = None) -> None:
        self.body = body
        self.nslots = nslots
        self.slots = slots
        self.top_vars = top_vars or {}
        self.eval_slot = eval_slot
        self.new_vars: dict[str, Any] = {}     # top-level variables the run defined
        self.exports: dict[str, Var] = {}      # a module's exported variables ...
        self.sub_modules: dict[str, Var] = {}  # ... and imported modules
        self.exported: dict[str, Any] = {}     # their values after the run
        self.subs: dict[str, Any] = {}

    def run(self, values: list[Any]) -> tuple[Any, list[Any]]:
        """(result, final values of the scope variables); `new_vars` afterwards holds the
        variables the script's top level defined (its `let`s and its evals' variables)."""
        from .runtime import NO_THIS
        fr: list[Any] = [NO_THIS] + [None] * (self.nslots - 1)
        for v, x in zip(self.slots, values, strict=False):
            fr[v.slot] = Cell(x) if v.boxed else x
        result = self.body(fr)
        out = [fr[v.slot].v if v.boxed else fr[v.slot] for v in self.slots]
        own = {id(v) for v in self.slots}
        new: dict[str, Any] = {}
        for name, v in self.top_vars.items():
            if id(v) not in own and not v.module:
                x = fr[v.slot]
                new[name] = x.v if type(x) is Cell else x
        if self.eval_slot is not None and fr[self.eval_slot]:
            new.update(fr[self.eval_slot].get(0, {}))
        self.new_vars = new

        def final(v: Var) -> Any:
            x = fr[v.slot]
            return x.v if type(x) is Cell else x
        self.exported = {alias: final(v) for alias, v in self.exports.items()}
        self.subs = {alias: fr[v.slot] for alias, v in self.sub_modules.items()
                     if fr[v.slot] is not None}
        return result, out
