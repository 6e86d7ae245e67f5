"""`eval(script)`: run a script in the caller's scope, as Rhai does.

The evaluated script sees the caller's variables (what is visible at the call) and may change
them; the variables its top level defines stay visible to the caller after the call, in the
block holding the call (they end with that block). A constant it defines becomes a global
constant only when the call is at the top level of the script. Since variables get frame
slots at compile time, a function holding an eval call keeps the eval's variables in one more
slot (`FnScope.eval_slot`: {block id: {name: value}}); references to a name an eval may define
or hide read that first.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import VAR_NOT_FOUND, RhaiBaseError, RhaiRuntimeError
from .ops import not_found
from .scope import FnScope, Var
from .syntax import Call

if TYPE_CHECKING:
    from .compiler import Compiler

E = Callable[[list[Any]], Any]
Setter = Callable[[list[Any], Any], None]
Pos = tuple[int, int]


def _find(fr: list[Any], slot: int, bids: list[int], name: str) -> dict[str, Any] | None:
    dyn = fr[slot]
    if dyn:
        for b in bids:
            d = dyn.get(b)
            if d is not None and name in d:
                return d
    return None


def dyn_get(sc: FnScope, name: str, var: Var | None, bids: list[int], pos: Pos) -> E:
    """Read `name`: an eval's variable if one hides the static one, else the static one."""
    assert sc.eval_slot is not None
    slot = sc.eval_slot

    def get(fr: list[Any]) -> Any:
        d = _find(fr, slot, bids, name)
        if d is not None:
            return d[name]
        if var is None:
            raise RhaiRuntimeError(VAR_NOT_FOUND.format(name), pos)
        v = fr[var.slot]
        return v.v if var.boxed else v
    return get


def dyn_set(sc: FnScope, name: str, var: Var | None, bids: list[int], pos: Pos) -> Setter:
    """Write `name` where `dyn_get` would read it."""
    assert sc.eval_slot is not None
    slot = sc.eval_slot

    def put(fr: list[Any], value: Any) -> None:
        d = _find(fr, slot, bids, name)
        if d is not None:
            d[name] = value
        elif var is None:
            raise RhaiRuntimeError(VAR_NOT_FOUND.format(name), pos)
        elif var.const:
            raise RhaiRuntimeError(f"Cannot modify constant: {name}", pos)
        elif var.boxed:
            fr[var.slot].v = value
        else:
            fr[var.slot] = value
    return put


def hide(sc: FnScope, name: str) -> Callable[[list[Any]], None] | None:
    """A `let name` in a block holding an eval: later references mean the new variable."""
    if not sc.in_eval_block() or sc.eval_slot is None:
        return None
    slot, bid = sc.eval_slot, sc.block_ids[-1]

    def drop(fr: list[Any]) -> None:
        dyn = fr[slot]
        if dyn and bid in dyn:
            dyn[bid].pop(name, None)
    return drop


def compile_eval(c: Compiler, node: Call, sc: FnScope) -> E:
    """The `eval(text)` call."""
    from .compiler import Compiler
    from .parser import parse

    argf = c.expr(node.args[0], sc)
    bid = sc.mark_eval()
    assert sc.eval_slot is not None
    eslot = sc.eval_slot
    visible = {n: v for n, v in sc.visible().items() if not v.module}
    chain = list(sc.block_ids)                 # outermost first
    at_top = sc.top and len(sc.blocks) == 1
    rt, pos = c.rt, node.pos

    def ev(fr: list[Any]) -> Any:
        src = argf(fr)
        if type(src) is not str:
            raise not_found("eval", src).at(pos)
        env: dict[str, Any] = {}
        for name, v in visible.items():
            x = fr[v.slot]
            env[name] = x.v if v.boxed else x
        dyn = fr[eslot]
        if dyn:
            for b in chain:
                d = dyn.get(b)
                if d:
                    env.update(d)
        names = list(env)
        depth = rt.depth                    # an eval is one call level (eval of eval ...)
        if depth >= rt.max_depth:
            raise rt.too_deep().at(pos)
        rt.depth = depth + 1
        try:
            tree = parse(src, rt.limits.max_expr_depth)
            prog = Compiler(rt).compile_script(tree, names, top=at_top)
            result, finals = prog.run([env[n] for n in names])
        except RhaiBaseError as e:
            e.at(pos)
            raise
        finally:
            rt.depth = depth
        for name, value in zip(names, finals, strict=False):
            d = None
            if dyn:
                for b in reversed(chain):
                    dd = dyn.get(b)
                    if dd is not None and name in dd:
                        d = dd
                        break
            if d is not None:
                d[name] = value
            else:
                v = visible[name]
                if v.boxed:
                    fr[v.slot].v = value
                elif not v.const:
                    fr[v.slot] = value
        if prog.new_vars:
            if fr[eslot] is None:
                fr[eslot] = {}
            fr[eslot].setdefault(bid, {}).update(prog.new_vars)
        return result
    return ev


# -- `f!(args)`: a script function run in the caller's scope ------------------------------
def compile_bang(c: Compiler, node: Call, sc: FnScope) -> E:
    """`foo!(args)`: foo's body sees (and may change) the caller's variables; its own
    parameters and `let`s are its own. `call!(fp, args)` does the same for a pointer."""
    from .compile_call import signature
    from .errors import FnNotFound
    from .scope import captured_names
    from .values import FnPtr

    visible = {n: v for n, v in sc.visible().items() if not v.module}
    is_call = node.name == "call"
    argfs = [c.value(a, sc) for a in (node.args[1:] if is_call else node.args)]
    fpf = c.expr(node.args[0], sc) if is_call and node.args else None
    rt, pos = c.rt, node.pos
    compiled: dict[tuple[str, int], tuple[E, int, list[Var], list[Var]]] = {}

    def variant(name: str, n: int) -> tuple[E, int, list[Var], list[Var]] | None:
        got = compiled.get((name, n))
        if got is None:
            fd = c.fn_defs.get((name, n))
            if fd is None:
                return None
            fsc = FnScope(captured_names(fd.body.stmts) | set(visible))
            outer = [fsc.declare(name_) for name_ in visible]
            params = [fsc.declare(p) for p in fd.params]
            body = c.stmts.fn_body(fd.body, fsc)
            got = compiled[(name, n)] = (body, fsc.nslots, outer, params)
        return got

    def bang(fr: list[Any]) -> Any:
        from .runtime import NO_THIS, Cell
        name = node.name
        if fpf is not None:
            fp = fpf(fr)
            if type(fp) is not FnPtr:
                raise not_found("call", fp).at(pos)
            name = fp.name
        args = [f(fr) for f in argfs]
        got = variant(name, len(args))
        if got is None:
            raise FnNotFound(signature(name, args), pos)
        body, nslots, outer, params = got
        nf: list[Any] = [NO_THIS] + [None] * (nslots - 1)
        for ov, v in zip(outer, visible.values(), strict=False):
            x = fr[v.slot]
            nf[ov.slot] = Cell(x.v if v.boxed else x)
        for pv, a in zip(params, args, strict=False):
            nf[pv.slot] = Cell(a) if pv.boxed else a
        d = rt.depth
        if d >= rt.max_depth:
            raise rt.too_deep().at(pos)
        rt.depth = d + 1
        try:
            result = body(nf)
        finally:
            rt.depth = d
            for ov, v in zip(outer, visible.values(), strict=False):
                x = nf[ov.slot].v
                if v.boxed:
                    fr[v.slot].v = x
                elif not v.const:
                    fr[v.slot] = x
        return result
    return bang
