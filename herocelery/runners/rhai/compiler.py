"""Control flow (if, switch, loops), closures and whole scripts -> one runnable Program."""
from __future__ import annotations

from typing import Any, Callable

from .compile_expr import E
from .compile_stmt import StmtCompiler, iterate
from .errors import RhaiBaseError, RhaiParseError, RhaiRuntimeError
from .runtime import Brk, Cell, Cont, CtlExc, Rt, ScriptFn
from .scope import FnScope, Var, captured_names
from .syntax import Node, Script
from .values import IRange, type_name

Pos = tuple[int, int]


def cond_error(v: Any, pos: Pos) -> RhaiRuntimeError:
    return RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting bool)", pos)


def case_key(v: Any) -> Any:
    return (type(v), v)


class Compiler(StmtCompiler):
    """Compiles one parsed script against one runtime."""

    def __init__(self, rt: Rt) -> None:
        self.rt = rt
        self.script_fns: dict[tuple[str, int], ScriptFn] = {}
        self.anon = 0

    # -- if / switch ---------------------------------------------------------------
    def if_(self, node: Node, sc: FnScope, value: bool) -> Any:
        cond, then, other = node.a
        cf = self.expr(cond, sc)
        pos = node.pos
        if value:
            tf = self.value_block(then, sc)
            ef = self.value_block(other, sc) if other is not None else (lambda fr: None)
        else:
            tf = self.stmt_block(then, sc)
            ef = (self.body_stmt(other, sc) if other.kind != "if" else self.if_(other, sc, False)) \
                if other is not None else (lambda fr: None)

        def if_(fr: list[Any]) -> Any:
            c = cf(fr)
            if c is True:
                return tf(fr)
            if c is False:
                return ef(fr)
            raise cond_error(c, pos)
        return if_

    def const_value(self, node: Node) -> Any:
        if node.kind == "lit":
            return node.a[0]
        if node.kind == "bin" and node.a[0] in ("..", "..=") and \
                all(x.kind == "lit" and type(x.a[0]) is int for x in node.a[1:]):
            return IRange(node.a[1].a[0], node.a[2].a[0], node.a[0] == "..=")
        raise RhaiParseError("Switch case value must be a constant", node.pos)

    def switch(self, node: Node, sc: FnScope, value: bool) -> Any:
        subject, cases, default = node.a
        sf = self.expr(subject, sc)

        def body(n: Node) -> Any:
            if value:
                return self.value_block(n, sc) if n.kind == "block" else self.expr(n, sc)
            return self.body_stmt(n, sc)
        table: dict[Any, list[tuple[E | None, Any]]] = {}
        ranges: list[tuple[range, E | None, Any]] = []
        for pats, cond, b in cases:
            cf = self.expr(cond, sc) if cond is not None else None
            bf = body(b)
            for p in pats:
                v = self.const_value(p)
                if type(v) is IRange:
                    ranges.append((v.py(), cf, bf))
                else:
                    table.setdefault(case_key(v), []).append((cf, bf))
        df = body(default) if default is not None else (lambda fr: None)
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
            return df(fr)
        return switch

    # -- loops -------------------------------------------------------------------------
    def loop_core(self, node: Node, sc: FnScope) -> Callable[[list[Any]], Any]:
        """A loop: returns Ret (to propagate), a break value, or None."""
        k = node.kind
        rt, pos = self.rt, node.pos
        if k == "for":
            return self.for_core(node, sc)
        if k == "while":
            cond, body_node = node.a
            until = False
        else:
            body_node, cond, until = node.a
        cf = self.expr(cond, sc) if cond is not None else None
        sc.loops += 1
        body = self.stmt_block(body_node, sc)
        sc.loops -= 1
        check_first = k == "while"

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
                        raise e.at(pos)
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

    def for_core(self, node: Node, sc: FnScope) -> Callable[[list[Any]], Any]:
        var, counter, it_node, body_node = node.a
        rt, pos = self.rt, node.pos
        if it_node.kind == "bin" and it_node.a[0] in ("..", "..="):
            lo, hi = self.expr(it_node.a[1], sc), self.expr(it_node.a[2], sc)
            incl = 1 if it_node.a[0] == "..=" else 0

            def itf(fr: list[Any]) -> Any:
                a, b = lo(fr), hi(fr)
                if type(a) is not int or type(b) is not int:
                    raise RhaiRuntimeError(
                        f"Function not found: {it_node.a[0]} ({type_name(a)}, {type_name(b)})", pos)
                return range(a, b + incl)
        else:
            f = self.expr(it_node, sc)

            def itf(fr: list[Any]) -> Any:
                try:
                    return iterate(f(fr))
                except RhaiBaseError as e:
                    raise e.at(pos)
        sc.push()
        v = sc.declare(var)
        cv = sc.declare(counter) if counter else None
        sc.loops += 1
        body = self.stmt_block(body_node, sc)
        sc.loops -= 1
        sc.pop()
        slot, boxed = v.slot, v.boxed
        cslot = cv.slot if cv else None
        cboxed = cv.boxed if cv else False

        def loop(fr: list[Any]) -> Any:
            n = 0
            for x in itf(fr):
                fr[slot] = Cell(x) if boxed else x
                if cslot is not None:
                    fr[cslot] = Cell(n) if cboxed else n
                    n += 1
                rt.budget -= 1
                if rt.budget < 0:
                    try:
                        rt.tick()
                    except RhaiBaseError as e:
                        raise e.at(pos)
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

    # -- functions and closures -------------------------------------------------------
    def closure_fn(self, node: Node, sc: FnScope) -> tuple[ScriptFn, list[Var]]:
        params, body = node.a
        self.anon += 1
        sfn = ScriptFn(f"anon$closure{self.anon}", params, node.pos)
        inner = FnScope(captured_names([body]), parent=sc)
        for p in params:
            inner.declare(p)
        sfn.boxed = tuple(inner.lookup(p).slot for p in params  # type: ignore[union-attr]
                          if inner.lookup(p).boxed)  # type: ignore[union-attr]
        blk = body if body.kind == "block" else Node("block", body.pos, [Node("expr", body.pos, body)])
        sfn.body = self.fn_body(blk, inner)
        sfn.finish(inner.nslots)
        sfn.capture_slots = tuple(i.slot for _, i in inner.captures)
        return sfn, [o for o, _ in inner.captures]

    def compile_script(self, script: Script, scope_names: list[str],
                       register: bool = True) -> "Program":
        """Compile a script; `register` makes its functions the evaluation's own (not for
        modules, whose functions are reached only through their alias)."""
        rt = self.rt
        for fd in script.fns:
            sfn = ScriptFn(fd.name, fd.params, fd.pos, fd.private)
            self.script_fns[(fd.name, len(fd.params))] = sfn
        if register:
            rt.fns.update(self.script_fns)
        for fd in script.fns:
            sfn = self.script_fns[(fd.name, len(fd.params))]
            fsc = FnScope(captured_names(fd.body.a[0]))
            for p in fd.params:
                fsc.declare(p)
            sfn.boxed = tuple(fsc.lookup(p).slot for p in fd.params  # type: ignore[union-attr]
                              if fsc.lookup(p).boxed)  # type: ignore[union-attr]
        for fd in script.fns:
            sfn = self.script_fns[(fd.name, len(fd.params))]
            fsc = FnScope(captured_names(fd.body.a[0]))
            for p in fd.params:
                fsc.declare(p)
            sfn.body = self.fn_body(fd.body, fsc)
            sfn.finish(fsc.nslots)
        top = FnScope(captured_names(script.stmts), top=True)
        slots = [top.declare(n) for n in scope_names]
        body = self.fn_body(Node("block", (1, 1), script.stmts), top)
        return Program(body, top.nslots, slots)


class Program:
    """A compiled script: run it with the scope's values in order."""

    def __init__(self, body: E, nslots: int, slots: list[Var]) -> None:
        self.body = body
        self.nslots = nslots
        self.slots = slots

    def run(self, values: list[Any]) -> tuple[Any, list[Any]]:
        """(result, final values of the scope variables)."""
        from .runtime import NO_THIS
        fr: list[Any] = [NO_THIS] + [None] * (self.nslots - 1)
        for v, x in zip(self.slots, values):
            fr[v.slot] = Cell(x) if v.boxed else x
        result = self.body(fr)
        out = [fr[v.slot].v if v.boxed else fr[v.slot] for v in self.slots]
        return result, out
