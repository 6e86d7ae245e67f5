"""Generated Python for hot statement shapes: statement lists, conditions, loops.

A statement list becomes ONE Python function whose simple statements (`let`, assignment to a
variable or `a[i]`, expression statements) are inlined, with the i64 fast path and its
overflow check written out; anything else is a call to the statement's closure. Conditions
that compare two simple operands are inlined into `if`/`while` the same way.
"""
from __future__ import annotations

from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from .compile_expr import get_property, index_get
from .errors import RhaiBaseError, RhaiRuntimeError
from .fastops import slow_binary
from .ops import fcmp
from .runtime import Brk, Cont, CtlExc, Rt
from .syntax import Bin, Call, Index, Let, Lit, Node, Prop, This, Var
from .values import clone, type_name

if TYPE_CHECKING:
    from .compiler import Compiler
    from .scope import FnScope

LO, HI = "-9223372036854775808", "9223372036854775807"
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
INLINE_LITS = (int, float, bool, type(None))


def tick(rt: Rt, pos: tuple[int, int], n: int = 1) -> None:
    """Spend n operations (loops count locally and spend in batches of rt.loop_mask + 1)."""
    rt.budget -= n
    if rt.budget < 0 or (rt.deadline is not None and monotonic() > rt.deadline):
        try:
            rt.tick()
        except RhaiBaseError as e:
            e.at(pos)
            raise


def cond_error(v: Any, pos: tuple[int, int]) -> RhaiRuntimeError:
    return RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting bool)", pos)


INT_OPS = ("+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>", "**")


def is_int_expr(node: Node | None, ints: set[str]) -> bool:
    """Whether node is sure to give an i64 (int operators on ints raise rather than give
    anything else)."""
    if isinstance(node, Lit):
        return type(node.value) is int
    if isinstance(node, Var):
        return node.name in ints
    if isinstance(node, Bin):
        return node.op in INT_OPS and is_int_expr(node.left, ints) and \
            is_int_expr(node.right, ints)
    return False


def int_names(nodes: list[Node]) -> set[str]:
    """Names whose every assignment in these statements is an integer: found by dropping,
    until nothing changes, the names with an assignment that might not be one."""
    from .syntax import Assign as A
    from .syntax import Closure, For, Method, Unary
    lets: dict[str, list[Node | None]] = {}
    bad: set[str] = set()
    for top in nodes:
        for n in top.walk():
            if isinstance(n, Let):
                lets.setdefault(n.name, []).append(n.value)
            elif isinstance(n, A) and isinstance(n.target, Var):
                op = n.op
                name = n.target.name
                if op == "=":
                    lets.setdefault(name, []).append(n.value)
                elif op[:-1] in INT_OPS:
                    lets.setdefault(name, []).append(Bin(n.pos, op[:-1], n.target, n.value))
                else:
                    bad.add(name)
            elif isinstance(n, For):
                it = n.iterable
                if isinstance(it, Bin) and it.op in ("..", "..="):
                    lets.setdefault(n.var, []).append(Lit(n.pos, 0))
                else:
                    bad.add(n.var)
                if n.counter:
                    lets.setdefault(n.counter, []).append(Lit(n.pos, 0))
            elif isinstance(n, Method) and isinstance(n.obj, Var):
                bad.add(n.obj.name)            # `x.call(f)` may rebind x
            elif isinstance(n, Closure):
                bad.update(n.params)
            elif isinstance(n, Unary):
                pass
    ints = set(lets) - bad
    while True:
        drop = {name for name in ints
                if not all(v is not None and is_int_expr(v, ints) for v in lets[name])}
        if not drop:
            return ints
        ints -= drop


class Gen:
    """Source lines plus the names they refer to.

    With `lmode`, the Rhai variables of the function being written live in Python locals
    (`v<slot>`) instead of frame slots: the ones declared outside are loaded from the frame
    when the function starts and stored back when it ends; around every call of a closure
    (code not written out here) the variables that closure may read or write are stored to
    the frame before and loaded again after, so closures always see the frame up to date.
    """

    def __init__(self, rt: Rt, lmode: bool = False) -> None:
        self.env: dict[str, Any] = {"rt": rt, "slow": slow_binary, "CtlExc": CtlExc,
                                    "Cont": Cont, "Brk": Brk, "tick": tick,
                                    "cond_error": cond_error, "clone": clone}
        self.n = 0
        self.loops = 0                # loops being written out, nested
        self.lmode = lmode
        self.locals: dict[int, str] = {}     # frame slot -> local name
        self.loaded: list[int] = []          # slots declared outside: loaded at entry
        self.declared: set[int] = set()      # slots declared in this function
        self.ints: set[int] = set()          # locals known to hold an int
        self.int_names: set[str] = set()     # names whose every value is an int
        self.max_depth = rt.max_depth
        self.mask = rt.loop_mask

    def var(self, slot: int) -> str:
        """The Python expression of an unboxed variable's value (a local or its slot)."""
        if not self.lmode:
            return f"fr[{slot}]"
        name = self.locals.get(slot)
        if name is None:
            name = self.locals[slot] = f"v{slot}"
            if slot not in self.declared:
                self.loaded.append(slot)
        return name

    def declare(self, slot: int, name: str | None = None) -> str:
        """A variable declared by this function (a `let`, a loop variable)."""
        if self.lmode and slot not in self.locals:
            self.declared.add(slot)
            if name is not None and name in self.int_names:
                self.ints.add(slot)
        return self.var(slot)

    def int_expr(self, node: Node | None, sc: FnScope) -> bool:
        """Whether node surely gives an int, from what this function knows."""
        if isinstance(node, Lit):
            return type(node.value) is int
        if isinstance(node, Var):
            v = sc.find(node.name)
            return v is not None and v.slot in self.ints
        if isinstance(node, Bin):
            return node.op in INT_OPS and self.int_expr(node.left, sc) and \
                self.int_expr(node.right, sc)
        return False

    def refs(self, node: Node, sc: FnScope) -> list[int]:
        """The local variables a closure compiled from `node` may read or write."""
        if not self.lmode:
            return []
        names: set[str] = set()
        if isinstance(node, Let):             # the variable the closure declares
            names.add(node.name)
        for n in node.walk():
            if isinstance(n, (Var, Call)):
                names.add(n.name)
        out = []
        for name in names:
            v = sc.find(name)
            if v is not None and not v.boxed and not v.module and v.slot:
                self.var(v.slot)
                out.append(v.slot)
        return sorted(out)

    def fallback(self, fn: Any, node: Node, sc: FnScope, target: str | None, ind: str,
                 prefix: str = "f") -> list[str]:
        """Lines calling the closure `fn` (compiled from node), its variables in the frame."""
        call = f"{self.name(fn, prefix)}(fr)"
        refs = self.refs(node, sc)
        depth = [f"{ind}rt.depth = dd"]        # the closure may call script functions
        if not refs:
            return depth + [ind + (f"{target} = {call}" if target else call)]
        # the result goes to its target after the reload (the target may be one of them)
        lines = depth + [f"{ind}fr[{s}] = {self.locals[s]}" for s in refs] + \
            [f"{ind}try:", f"{ind}    fb = {call}", f"{ind}finally:"] + \
            [f"{ind}    {self.locals[s]} = fr[{s}]" for s in refs]
        return lines + ([f"{ind}{target} = fb"] if target else [])

    def wrap(self, body: list[str], store: str) -> list[str]:
        """The function's lines with its locals loaded first and, per `store` ("outside",
        "all" or "none"), stored back to the frame however it ends."""
        if not self.lmode or not self.locals:
            return body
        pro = [f"    {self.locals[s]} = fr[{s}]" for s in self.loaded] + \
            [f"    {self.locals[s]} = None" for s in sorted(self.declared)
             if s in self.locals]
        keep = self.loaded if store == "outside" else \
            list(self.locals) if store == "all" else []
        if not keep:
            return pro + body
        return pro + ["    try:"] + ["    " + ln for ln in body] + ["    finally:"] + \
            [f"        fr[{s}] = {self.locals[s]}" for s in keep]

    def name(self, value: Any, prefix: str = "k") -> str:
        self.n += 1
        n = f"{prefix}{self.n}"
        self.env[n] = value
        return n

    def temp(self) -> str:
        self.n += 1
        return f"t{self.n}"

    def operand(self, shape: tuple[str, Any]) -> tuple[str, bool]:
        """(Python expression, known to be an int)."""
        kind, v = shape
        if kind == "var":
            return self.var(v), v in self.ints
        if kind == "box":
            return f"fr[{v}].v", False
        if kind == "lit":
            if type(v) in INLINE_LITS:
                return repr(v), type(v) is int
            return self.name(v), False
        return f"{self.name(v, 'f')}(fr)", False

    def build(self, lines: list[str], fname: str = "f") -> Callable[..., Any]:
        src = "\n".join(lines) + "\n"
        ns = dict(self.env)
        exec(compile(src, f"<rhai-gen {fname}>", "exec"), ns)
        self.last_ns = ns
        return ns[fname]


def binop_lines(g: Gen, op: str, a: tuple[str, bool], b: tuple[str, bool], target: str,
                pos: tuple[int, int], ind: str) -> list[str]:
    """Lines computing `target = a op b` with the i64 fast path inlined."""
    (ae, aint), (be, bint) = a, b
    p = g.name(pos, "p")
    lines = []
    # plain names and literals are used as they are; anything else is evaluated once
    if not _simple(ae):
        lines.append(f"{ind}a = {ae}")
        ae = "a"
    if not _simple(be):
        lines.append(f"{ind}b = {be}")
        be = "b"
    checks = [c for c, known in ((f"type({ae}) is int", aint), (f"type({be}) is int", bint))
              if not known]
    cond = " and ".join(checks) or "True"
    slow = f"slow(rt, {op!r}, {ae}, {be}, {p})"
    a_, b_ = ae, be
    mixed = (f"(type({a_}) is float or type({a_}) is int) and "
             f"(type({b_}) is float or type({b_}) is int)")
    if op in ("+", "-", "*"):
        lines += [f"{ind}if {cond}:", f"{ind}    v = {a_} {op} {b_}",
                  f"{ind}    if not {LO} <= v <= {HI}:", f"{ind}        v = {slow}",
                  f"{ind}    {target} = v"]
        if not (aint and bint):
            lines += [f"{ind}elif {mixed}:", f"{ind}    {target} = {a_} {op} {b_}"]
    elif op in COMPARE_OPS:
        lines += [f"{ind}if {cond}:", f"{ind}    {target} = {a_} {op} {b_}"]
        if not (aint and bint):
            g.env["fcmp"] = fcmp         # floats compare within epsilon, as in Rhai
            lines += [f"{ind}elif {mixed}:", f"{ind}    {target} = fcmp({op!r}, {a_}, {b_})"]
    elif op in ("&", "|", "^"):
        lines += [f"{ind}if {cond}:", f"{ind}    {target} = {a_} {op} {b_}"]
    elif op in ("/", "%"):
        pyop = "//" if op == "/" else "%"
        lines += [f"{ind}if {cond} and {a_} >= 0 and {b_} > 0:",
                  f"{ind}    {target} = {a_} {pyop} {b_}"]
    else:
        return lines + [f"{ind}{target} = {slow}"]
    if aint and bint and op in COMPARE_OPS + ("&", "|", "^"):
        return lines
    return lines + [f"{ind}else:", f"{ind}    {target} = {slow}"]


def _simple(e: str) -> bool:
    """A Python local name or a number/bool/None literal (cheap to repeat)."""
    return e.isidentifier() or e.lstrip("-").replace(".", "", 1).isdigit() or \
        e in ("True", "False", "None")


def cond_lines(comp: Compiler, node: Node, sc: FnScope, g: Gen, ind: str) -> list[str]:
    """Lines setting `c` to the condition's value."""
    if isinstance(node, Bin) and node.op in COMPARE_OPS:
        if _is_simple_bin(node):
            op, left, right = node.op, node.left, node.right
            a = g.operand(comp.shape(left, sc))
            b = g.operand(comp.shape(right, sc))
            return binop_lines(g, op, a, b, "c", node.pos, ind)
        lines, e = expr_lines(comp, node, sc, g, ind)
        return lines + [f"{ind}c = {e}"]
    return value_into(comp, node, sc, g, "c", ind, copy=False)


ARITH = ("+", "-", "*", "/", "%", "&", "|", "^") + COMPARE_OPS
SIMPLE = (Var, Lit)


def _is_simple_bin(node: Node) -> bool:
    return isinstance(node, Bin) and node.op in ARITH and \
        isinstance(node.left, SIMPLE) and isinstance(node.right, SIMPLE)


def _int_lit(node: Node) -> bool:
    return isinstance(node, Lit) and type(node.value) is int


def expr_lines(comp: Compiler, node: Node, sc: FnScope, g: Gen, ind: str
               ) -> tuple[list[str], str]:
    """(lines, Python expression) computing `node`: arithmetic and script-function calls are
    written out in place; anything else is one call of the node's closure."""
    if isinstance(node, Lit) or (isinstance(node, Var) and comp.shape(node, sc)[0] != "any"):
        return [], g.operand(comp.shape(node, sc))[0]
    if isinstance(node, Bin) and node.op in ARITH:
        op, left, right = node.op, node.left, node.right
        ll, le = expr_lines(comp, left, sc, g, ind)
        rl, re_ = expr_lines(comp, right, sc, g, ind)
        if rl and isinstance(left, Var):          # keep left-to-right order
            t = g.temp()
            ll, le = ll + [f"{ind}{t} = {le}"], t
        t = g.temp()
        return ll + rl + binop_lines(g, op, (le, g.int_expr(left, sc)),
                                     (re_, g.int_expr(right, sc)), t, node.pos, ind), t
    if isinstance(node, Prop) and not node.safe and isinstance(node.obj, PLACE_KINDS):
        bl, be = expr_lines(comp, node.obj, sc, g, ind)
        o, t = g.temp(), g.temp()
        g.env["getprop"] = get_property
        name, p = g.name(node.name, "k"), g.name(node.pos, "p")
        return bl + [f"{ind}{o} = {be}", f"{ind}if type({o}) is dict:",
                     f"{ind}    {t} = {o}.get({name})", f"{ind}else:",
                     f"{ind}    {t} = getprop(rt, {o}, {name}, {p})"], t
    if isinstance(node, Index) and not node.safe and isinstance(node.obj, PLACE_KINDS):
        bl, be = expr_lines(comp, node.obj, sc, g, ind)
        o = g.temp()
        bl = bl + [f"{ind}{o} = {be}"]
        kl, ke = expr_lines(comp, node.idx, sc, g, ind)
        t = g.temp()
        g.env["index_get"] = index_get
        p = g.name(node.pos, "p")
        kint = "" if g.int_expr(node.idx, sc) else " and type(k) is int"
        if not kint and _simple(be) and _simple(ke):
            # `a[i]` with an int i on a plain variable: the list case first, directly
            g.env["bounds"] = __import__("herocelery.runners.rhai.indexing",
                                         fromlist=["bounds_error"]).bounds_error
            return bl[:-1] + kl + [
                f"{ind}if type({be}) is list:",
                f"{ind}    try:", f"{ind}        {t} = {be}[{ke}]",
                f"{ind}    except IndexError:",
                f"{ind}        raise bounds('Array', {ke}, len({be})).at({p}) from None",
                f"{ind}else:", f"{ind}    try:",
                f"{ind}        {t} = index_get({be}, {ke})",
                f"{ind}    except RhaiBaseError as e:",
                f"{ind}        raise e.at({p})"], t
        return bl + kl + [
            f"{ind}k = {ke}",
            f"{ind}if type({o}) is list{kint} and 0 <= k < len({o}):",
            f"{ind}    {t} = {o}[k]",
            f"{ind}elif type({o}) is dict and type(k) is str:",
            f"{ind}    {t} = {o}.get(k)",
            f"{ind}else:",
            f"{ind}    try:",
            f"{ind}        {t} = index_get({o}, k)",
            f"{ind}    except RhaiBaseError as e:",
            f"{ind}        raise e.at({p})"], t
    if isinstance(node, Call) and node.ns is None and not node.bang:
        sfn = comp.script_fns.get((node.name, len(node.args)))
        if sfn is not None:
            return call_lines(comp, sfn, node.args, sc, g, ind, node.pos)
    t = g.temp()
    return g.fallback(comp.expr(node, sc), node, sc, t, ind), t


def call_lines(comp: Compiler, sfn: Any, args: list[Node], sc: FnScope, g: Gen, ind: str,
               pos: tuple[int, int]) -> tuple[list[str], str]:
    """A script-function call written out: arguments straight into the new frame."""
    lines: list[str] = []
    vals: list[str] = []
    for a in args:
        if isinstance(a, (Var, Index, Prop, This)):
            t = g.temp()
            lines += value_into(comp, a, sc, g, t, ind)
            vals.append(t)
        else:
            al, ae = expr_lines(comp, a, sc, g, ind)
            if al or not isinstance(a, Lit):
                t = g.temp()
                lines += al + [f"{ind}{t} = {ae}"]
                ae = t
            vals.append(ae)
    S = g.name(sfn, "S")
    p = g.name(pos, "p")
    res = g.temp()
    return lines + call_tail(g, S, vals, p, res, ind), res


def call_tail(g: Gen, S: str, vals: list[str], p: str, res: str, ind: str) -> list[str]:
    """The call of script function S's fast entry: depth limit, one operation, the call.
    Generated code keeps its call depth in `dd` (a fast entry's first argument; read from
    rt.depth by a frame entry) and puts it in rt.depth before calling any closure."""
    return [f"{ind}if dd >= {g.max_depth}:",
            f"{ind}    raise rt.too_deep().at({p})",
            f"{ind}bg = rt.budget - 1", f"{ind}rt.budget = bg",
            f"{ind}if bg < 0:", f"{ind}    tick(rt, {p}, 0)",
            f"{ind}{res} = {S}.fast({', '.join(['dd + 1', *vals])})"]


PLACE_KINDS = (Var, Prop, Index)


def _inlinable(node: Node) -> bool:
    """A chain of properties and indexes on a plain variable."""
    while isinstance(node, (Prop, Index)):
        if node.safe:                 # `?.` / `?[`
            return False
        node = node.obj
    return isinstance(node, Var)


def value_into(comp: Compiler, node: Node | None, sc: FnScope, g: Gen, target: str,
               ind: str, copy: bool = True) -> list[str]:
    """Lines storing the value of `node` (copied if it is a place) into `target`."""
    if node is None:
        return [f"{ind}{target} = None"]
    if isinstance(node, Lit):
        return [f"{ind}{target} = {g.operand(('lit', node.value))[0]}"]
    if isinstance(node, Bin) and _is_simple_bin(node):
        return binop_lines(g, node.op, g.operand(comp.shape(node.left, sc)),
                           g.operand(comp.shape(node.right, sc)), target, node.pos, ind)
    if (isinstance(node, Bin) and node.op in ARITH) or (
            isinstance(node, Call) and node.ns is None and not node.bang
            and (node.name, len(node.args)) in comp.script_fns):
        lines, e = expr_lines(comp, node, sc, g, ind)
        return lines + [f"{ind}{target} = {e}"]
    if isinstance(node, Var):
        shape = comp.shape(node, sc)
        if shape[0] != "any":
            e, _ = g.operand(shape)
            if not copy:
                return [f"{ind}{target} = {e}"]
            return [f"{ind}t = {e}", f"{ind}if type(t) is list or type(t) is dict:",
                    f"{ind}    t = clone(t)", f"{ind}{target} = t"]
    if isinstance(node, (Index, Prop)) and not node.safe and _inlinable(node):
        lines, e = expr_lines(comp, node, sc, g, ind)
        if copy:
            lines += [f"{ind}if type({e}) is list or type({e}) is dict:",
                      f"{ind}    {e} = clone({e})"]
        return lines + [f"{ind}{target} = {e}"]
    fn = comp.value(node, sc) if copy else comp.expr(node, sc)
    return g.fallback(fn, node, sc, target, ind)


def compound_other(rt: Rt, op: str, a: Any, b: Any, pos: tuple[int, int]) -> Any:
    """`a op= b` when the inline i64/string paths do not apply."""
    if type(a) is list and op == "+":
        a.extend(clone(b)) if type(b) is list else a.append(clone(b))
        try:
            rt.check_arr(a)
        except RhaiBaseError as e:
            e.at(pos)
            raise
        return a
    return slow_binary(rt, op, a, b, pos)
