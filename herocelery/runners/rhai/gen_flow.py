"""Statement lists, if/else, loops and function bodies written out as one Python function.

Simple statements are inlined (see gen.py for expressions); a statement that may produce a
control signal is a closure call whose signal is handled in place: `continue`/`break` of a
loop, or returned (a Ret) out of the generated function.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .errors import RhaiBaseError, RhaiRuntimeError
from .gen import (
    ARITH,
    COMPARE_OPS,
    HI,
    LO,
    Gen,
    _simple,
    binop_lines,
    compound_other,
    cond_lines,
    expr_lines,
    value_into,
)
from .runtime import NO_THIS
from .syntax import (
    BLOCKISH,
    LOOPS,
    Assign,
    Bin,
    Block,
    Break,
    Call,
    Closure,
    Continue,
    Do,
    ExprStmt,
    For,
    If,
    Index,
    Let,
    Lit,
    Method,
    Node,
    Return,
    Try,
    Var,
    While,
)
from .values import type_name

if TYPE_CHECKING:
    from .compiler import Compiler
    from .scope import FnScope

FLOW = (If, While, For, Do, Block)         # written out in place in statement position

MAX_INLINE_LOOPS = 5       # loops written out in one generated function (3 blocks each)
MAX_INDENT = 4 * 60        # indentation (in spaces) beyond which constructs become closures


LOOP_CTL = ["if type(r) is Cont:", "    continue", "if type(r) is Brk:", "    break", "return r"]


def stmt_lines(comp: Compiler, node: Node, sc: FnScope, g: Gen, ind: str,
               on_ctl: list[str] | None = None) -> list[str]:
    """Lines for one statement; a control signal `r` is handled by `on_ctl` (default:
    returned from the generated function)."""
    on_ctl = on_ctl or ["return r"]
    if isinstance(node, ExprStmt) and isinstance(node.expr, FLOW):
        return flow_lines(comp, node.expr, sc, g, ind, on_ctl)
    if on_ctl is LOOP_CTL and (isinstance(node, Continue) or
                               (isinstance(node, Break) and node.value is None)):
        return [f"{ind}{'continue' if isinstance(node, Continue) else 'break'}"]
    if isinstance(node, ExprStmt) and not isinstance(node.expr, BLOCKISH):
        return g.fallback(comp.expr(node.expr, sc), node.expr, sc, None, ind)
    if isinstance(node, Let) and not (sc.top and node.const and len(sc.blocks) == 1) \
            and not node.export \
            and not sc.in_eval_block():
        name, value, const = node.name, node.value, node.const
        lines = value_into(comp, value, sc, g, "x", ind)
        v = sc.declare(name, const)
        if v.boxed:
            g.env["Cell"] = __import__("herocelery.runners.rhai.runtime",
                                       fromlist=["Cell"]).Cell
            return lines + [f"{ind}fr[{v.slot}] = Cell(x)"]
        return lines + [f"{ind}{g.declare(v.slot, name)} = x"]
    if isinstance(node, Assign):
        op, target, value = node.op, node.target, node.value
        var = sc.lookup(target.name) if isinstance(target, Var) and \
            not sc.dyn_for(target.name) else None
        plain = var is not None and not var.boxed and not var.const and not var.module
        if var is not None and plain and op == "=":
            return value_into(comp, value, sc, g, g.var(var.slot), ind)
        if var is not None and plain and op not in ("??=",) and op[:-1] in ARITH:
            bop = op[:-1]
            p = g.name(node.pos, "p")
            lines = value_into(comp, value, sc, g, "b", ind, copy=False)
            loc = g.var(var.slot)
            lit = type(value.value) if isinstance(value, Lit) else \
                (int if g.int_expr(value, sc) else None)
            lines += [f"{ind}a = {loc}"]
            g.env["other"] = compound_other
            if bop == "+" and lit is str:
                # `s += "text"`: append in place (the string's only reference is `a`)
                ms = g.env["rt"].max_str         # a limit of this evaluation: a constant here
                return lines + [f"{ind}if type(a) is str:", f"{ind}    {loc} = None",
                                f"{ind}    a += b", f"{ind}    {loc} = a"] + \
                    ([f"{ind}    if len(a) > {ms}:", f"{ind}        slow(rt, '+', a, '', {p})"]
                     if ms else []) + \
                    [f"{ind}else:", f"{ind}    {loc} = other(rt, '+', a, b, {p})"]
            if bop in ("+", "-", "*"):
                known = var.slot in g.ints
                bint = lit is int
                cond = " and ".join(c for c, k in (("type(a) is int", known),
                                                   ("type(b) is int", bint)) if not k) or "True"
                lines += [f"{ind}if {cond}:", f"{ind}    v = a {bop} b",
                          f"{ind}    if not {LO} <= v <= {HI}:",
                          f"{ind}        v = slow(rt, {bop!r}, a, b, {p})",
                          f"{ind}    {loc} = v"]
                if bop == "+" and lit is None:
                    lines += [f"{ind}elif type(a) is str and type(b) is str:",
                              f"{ind}    {loc} = None", f"{ind}    a += b", f"{ind}    {loc} = a",
                              f"{ind}    if rt.max_str and len(a) > rt.max_str:",
                              f"{ind}        slow(rt, '+', a, '', {p})"]
                if cond != "True":
                    lines += [f"{ind}else:", f"{ind}    {loc} = other(rt, {bop!r}, a, b, {p})"]
                return lines
            return lines + binop_lines(g, bop, ("a", var.slot in g.ints), ("b", lit is int),
                                       loc, node.pos, ind)
        if op == "=" and isinstance(target, Index) and isinstance(target.obj, Var) and \
                not target.safe and not sc.dyn_for(target.obj.name):
            base = sc.lookup(target.obj.name)
            if base is not None and not base.boxed and not base.const and not base.module:
                from .compile_expr import bounds_error, index_set
                p = g.name(node.pos, "p")
                g.env["index_set"] = index_set
                g.env["bounds"] = bounds_error
                if isinstance(value, Lit):
                    tv, lines = g.operand(("lit", value.value))[0], []
                else:
                    tv = g.temp()
                    lines = value_into(comp, value, sc, g, tv, ind)
                kl, ke = expr_lines(comp, target.idx, sc, g, ind)
                loc = g.var(base.slot)
                if _simple(ke) and _simple(tv) and g.int_expr(target.idx, sc):
                    # `a[i] = v` with an int i: the list case written first, directly
                    return lines + kl + [
                        f"{ind}if type({loc}) is list:",
                        f"{ind}    try:", f"{ind}        {loc}[{ke}] = {tv}",
                        f"{ind}    except IndexError:",
                        f"{ind}        raise bounds('Array', {ke}, len({loc})).at({p}) from None",
                        f"{ind}else:", f"{ind}    try:",
                        f"{ind}        nb = index_set(rt, {loc}, {ke}, {tv})",
                        f"{ind}    except RhaiBaseError as e:",
                        f"{ind}        raise e.at({p})",
                        f"{ind}    if nb is not {loc}:", f"{ind}        {loc} = nb"]
                return lines + kl + [
                    f"{ind}o = {loc}", f"{ind}k = {ke}", f"{ind}v = {tv}",
                    f"{ind}try:",
                    f"{ind}    if type(o) is list and type(k) is int:",
                    f"{ind}        o[k] = v",
                    f"{ind}    elif type(o) is dict and type(k) is str:",
                    f"{ind}        o[k] = v",
                    f"{ind}        if rt.max_map and len(o) > rt.max_map:",
                    f"{ind}            rt.check_map(o)",
                    f"{ind}    else:",
                    f"{ind}        nb = index_set(rt, o, k, v)",
                    f"{ind}        if nb is not o:",
                    f"{ind}            {loc} = nb",
                    f"{ind}except IndexError:",
                    f"{ind}    raise bounds('Array', k, len(o)).at({p}) from None",
                    f"{ind}except RhaiBaseError as e:",
                    f"{ind}    raise e.at({p})"]
    s = comp.stmt(node, sc)
    return g.fallback(s, node, sc, "r", ind, "s") + [f"{ind}if r is not None:"] + \
        [f"{ind}    {ln}" for ln in on_ctl]


def block_lines(comp: Compiler, nodes: list[Node], sc: FnScope, g: Gen, ind: str,
                on_ctl: list[str]) -> list[str]:
    sc.push()
    lines: list[str] = []
    for n in nodes:
        lines += stmt_lines(comp, n, sc, g, ind, on_ctl)
    sc.pop()
    return lines or [f"{ind}pass"]


def flow_lines(comp: Compiler, node: Node, sc: FnScope, g: Gen, ind: str,
               on_ctl: list[str]) -> list[str]:
    """if / while / loop / do / for / block statements written out in place."""
    loop = isinstance(node, LOOPS)
    if (loop and g.loops >= MAX_INLINE_LOOPS) or len(ind) > MAX_INDENT:
        # CPython allows 20 nested blocks and 100 indentation levels per function: deeper
        # constructs become a call of their own closure (a fresh generated function)
        s = comp.stmt(ExprStmt(node.pos, node), sc)
        return g.fallback(s, node, sc, "r", ind, "s") + [f"{ind}if r is not None:"] + \
            [f"{ind}    {ln}" for ln in on_ctl]
    if loop:
        g.loops += 1
        try:
            return _flow_lines(comp, node, sc, g, ind, on_ctl)
        finally:
            g.loops -= 1
    return _flow_lines(comp, node, sc, g, ind, on_ctl)


def _flow_lines(comp: Compiler, node: Node, sc: FnScope, g: Gen, ind: str,
                on_ctl: list[str]) -> list[str]:
    if isinstance(node, Block):
        return block_lines(comp, node.stmts, sc, g, ind, on_ctl)
    p = g.name(node.pos, "p")
    if isinstance(node, If):
        other = node.other
        lines = cond_lines(comp, node.cond, sc, g, ind)
        lines += [f"{ind}if c is True:"] + block_lines(comp, node.then.stmts, sc, g,
                                                       ind + "    ", on_ctl)
        lines += [f"{ind}elif c is False:"]
        if other is None:
            lines += [f"{ind}    pass"]
        elif isinstance(other, If):
            lines += flow_lines(comp, other, sc, g, ind + "    ", on_ctl)
        else:
            lines += block_lines(comp, other.stmts, sc, g, ind + "    ", on_ctl)
        return lines + [f"{ind}else:", f"{ind}    raise cond_error(c, {p})"]
    inner = ind + "        "
    g.n += 1
    cnt = f"n{g.n}"
    m = g.mask
    pre = [f"{ind}{cnt} = 0"]
    tick_lines = [f"{ind}    {cnt} += 1", f"{ind}    if not {cnt} & {m}:",
                  f"{ind}        tick(rt, {p}, {m + 1})"]
    # a loop that ends spends what it counted, so nested short loops are never free
    post = [f"{ind}if {cnt} & {m}:", f"{ind}    tick(rt, {p}, {cnt} & {m})"]
    handler = [f"{ind}    except CtlExc as e:", f"{ind}        r = e.ctl"] + \
        [f"{ind}        {ln}" for ln in LOOP_CTL]
    sc.loops += 1
    try:
        if isinstance(node, For):
            return for_lines(comp, node, sc, g, ind, p, pre, tick_lines, handler, post)
        if isinstance(node, While):
            cond, body = node.cond, node.body
            head = [f"{ind}while True:"]
            if isinstance(cond, Bin) and cond.op in COMPARE_OPS \
                    and isinstance(cond.left, (Var, Lit)) and isinstance(cond.right, (Var, Lit)):
                # `while i < n`: on two ints the comparison is the loop test itself
                op, left, right = cond.op, cond.left, cond.right
                ae, _ = g.operand(comp.shape(left, sc))
                be, _ = g.operand(comp.shape(right, sc))
                q = g.name(cond.pos, "p")
                both = g.int_expr(left, sc) and g.int_expr(right, sc)
                head += [f"{ind}    a = {ae}", f"{ind}    b = {be}",
                         f"{ind}    if {'True' if both else 'type(a) is int and type(b) is int'}:",
                         f"{ind}        if not a {op} b:", f"{ind}            break",
                         f"{ind}    else:",
                         f"{ind}        c = slow(rt, {op!r}, a, b, {q})",
                         f"{ind}        if c is not True:", f"{ind}            if c is False:",
                         f"{ind}                break",
                         f"{ind}            raise cond_error(c, {p})"]
            elif cond is not None:
                head += cond_lines(comp, cond, sc, g, ind + "    ")
                head += [f"{ind}    if c is not True:", f"{ind}        if c is False:",
                         f"{ind}            break", f"{ind}        raise cond_error(c, {p})"]
            body_l = block_lines(comp, body.stmts, sc, g, inner, LOOP_CTL)
            return pre + head + tick_lines + [f"{ind}    try:"] + body_l + handler + post
        assert isinstance(node, Do)                   # do { } while/until cond
        body, cond, until = node.body, node.cond, node.until
        body_l = block_lines(comp, body.stmts, sc, g, inner, LOOP_CTL)
        stop = "True" if until else "False"
        tail = cond_lines(comp, cond, sc, g, ind + "    ")
        tail += [f"{ind}    if c is {stop}:", f"{ind}        break",
                 f"{ind}    if c is not True and c is not False:",
                 f"{ind}        raise cond_error(c, {p})"]
        return pre + [f"{ind}while True:"] + tick_lines + [f"{ind}    try:"] + body_l + \
            handler + tail + post
    finally:
        sc.loops -= 1


def _assigns(body: Node, name: str) -> bool:
    """Whether `name` may be assigned below body (then its type is not known)."""
    for n in body.walk():
        if isinstance(n, Assign) and isinstance(n.target, Var) and n.target.name == name:
            return True
        if isinstance(n, Call) and (n.bang or n.name == "eval"):
            return True
        if isinstance(n, Method) and isinstance(n.obj, Var) and n.obj.name == name:
            return True
    return False


def for_lines(comp: Compiler, node: For, sc: FnScope, g: Gen, ind: str, p: str,
              pre: list[str], tick_lines: list[str], handler: list[str],
              post: list[str]) -> list[str]:
    """`for x in a..b` runs in chunks of loop_mask + 1 iterations with one tick per chunk;
    other iterables count their iterations one by one."""
    var, counter, it_node, body = node.var, node.counter, node.iterable, node.body
    inner = ind + "        "
    g.n += 1
    k = g.n
    lines: list[str] = []
    is_range = isinstance(it_node, Bin) and it_node.op in ("..", "..=")
    if is_range:
        assert isinstance(it_node, Bin)
        g.env["irange"] = _int_range
        bounds = []
        for side in (it_node.left, it_node.right):
            shape = comp.shape(side, sc)
            if shape[0] == "any":
                t = g.temp()
                lines += g.fallback(shape[1], side, sc, t, ind)
                bounds.append(t)
            else:
                bounds.append(g.operand(shape)[0])
        it = f"irange({bounds[0]}, {bounds[1]}, {1 if it_node.op == '..=' else 0}, {p})"
    else:
        g.env["iterate"] = _iterate
        t = g.temp()
        lines += g.fallback(comp.expr(it_node, sc), it_node, sc, t, ind)
        it = f"iterate({t}, {p})"
    sc.push()
    v = sc.declare(var)
    cv = sc.declare(counter) if counter else None
    if v.boxed or (cv is not None and cv.boxed):
        g.env["Cell"] = __import__("herocelery.runners.rhai.runtime", fromlist=["Cell"]).Cell
    # a captured loop variable is one shared variable (as in Rhai): closures made in the
    # loop see its last value
    if v.boxed:
        lines.append(f"{ind}fr[{v.slot}] = Cell(None)")
    if cv is not None and cv.boxed:
        lines.append(f"{ind}fr[{cv.slot}] = Cell(None)")
    xv = f"x{k}" if v.boxed else g.declare(v.slot)
    set_v = [f"{ind}        fr[{v.slot}].v = {xv}"] if v.boxed else []
    known_int = is_range and not v.boxed and not _assigns(body, var)
    if known_int:
        g.ints.add(v.slot)
    try:
        if is_range:
            set_c: list[str] = []
            if cv is not None:
                cexpr = f"{xv} - s{k}"
                set_c = [f"{ind}        fr[{cv.slot}].v = {cexpr}"] if cv.boxed else \
                    [f"{ind}        {g.declare(cv.slot)} = {cexpr}"]
            body_l = block_lines(comp, body.stmts, sc, g, ind + "            ", LOOP_CTL)
            chunk = g.mask + 1
            hand = ["    " + ln for ln in handler]
            return lines + [
                f"{ind}r{k} = {it}", f"{ind}c{k} = s{k} = r{k}.start", f"{ind}h{k} = r{k}.stop",
                f"{ind}while c{k} < h{k}:",
                f"{ind}    e{k} = c{k} + {chunk}",
                f"{ind}    if e{k} > h{k}:", f"{ind}        e{k} = h{k}",
                f"{ind}    for {xv} in range(c{k}, e{k}):"] + set_v + set_c + \
                [f"{ind}        try:"] + body_l + hand + [
                f"{ind}    else:",
                f"{ind}        tick(rt, {p}, e{k} - c{k})",
                f"{ind}        c{k} = e{k}",
                f"{ind}        continue",
                f"{ind}    tick(rt, {p}, {xv} - c{k} + 1)",
                f"{ind}    break"]
        head = [f"{ind}for n{k}, {xv} in enumerate({it}):" if cv else f"{ind}for {xv} in {it}:"]
        head += [ln[4:] for ln in set_v]
        if cv is not None:
            head.append(f"{ind}    fr[{cv.slot}].v = n{k}" if cv.boxed else
                        f"{ind}    {g.declare(cv.slot)} = n{k}")
        body_l = block_lines(comp, body.stmts, sc, g, inner, LOOP_CTL)
        return lines + pre + head + tick_lines + [f"{ind}    try:"] + body_l + handler + post
    finally:
        g.ints.discard(v.slot)
        sc.pop()


def _int_range(a: Any, b: Any, incl: int, pos: tuple[int, int]) -> range:
    if type(a) is not int or type(b) is not int:
        raise RhaiRuntimeError(f"Function not found: {'..=' if incl else '..'} "
                               f"({type_name(a)}, {type_name(b)})", pos)
    return range(a, b + incl)


def _iterate(v: Any, pos: tuple[int, int]) -> Any:
    from .compile_stmt import iterate
    try:
        return iterate(v)
    except RhaiBaseError as e:
        e.at(pos)
        raise


def has_return(nodes: list[Node]) -> bool:
    """Whether a `return` is below these nodes (closures have their own returns)."""
    stack = list(nodes)
    while stack:
        n = stack.pop()
        if isinstance(n, Return):
            return True
        if not isinstance(n, Closure):
            stack.extend(n.children())
    return False


def split_last(nodes: list[Node]) -> tuple[list[Node], Node | None]:
    """(statements, the expression giving the block's value or None)."""
    if nodes and isinstance(nodes[-1], ExprStmt):
        return nodes[:-1], nodes[-1].expr
    if nodes and isinstance(nodes[-1], Try):
        return nodes[:-1], nodes[-1]           # a try whose value is used
    return nodes, None


def tail_lines(comp: Compiler, node: Node, sc: FnScope, g: Gen, ind: str) -> list[str]:
    """Lines that return the value of expression `node` (if/else written out in place)."""
    if isinstance(node, If) and len(ind) <= MAX_INDENT:
        other = node.other
        p = g.name(node.pos, "p")
        lines = cond_lines(comp, node.cond, sc, g, ind)
        lines += [f"{ind}if c is True:"] + block_tail(comp, node.then.stmts, sc, g, ind + "    ")
        lines += [f"{ind}if c is False:"]
        if other is None:
            lines += [f"{ind}    return None"]
        elif isinstance(other, If):
            lines += tail_lines(comp, other, sc, g, ind + "    ")
        else:
            lines += block_tail(comp, other.stmts, sc, g, ind + "    ")
        return lines + [f"{ind}raise cond_error(c, {p})"]
    if isinstance(node, Block) and len(ind) <= MAX_INDENT:
        return block_tail(comp, node.stmts, sc, g, ind)
    return value_into(comp, node, sc, g, "v", ind, copy=False) + [f"{ind}return v"]


def block_tail(comp: Compiler, nodes: list[Node], sc: FnScope, g: Gen, ind: str
               ) -> list[str]:
    sc.push()
    lines: list[str] = []
    body, last = split_last(nodes)
    for n in body:
        lines += stmt_lines(comp, n, sc, g, ind)
    lines += tail_lines(comp, last, sc, g, ind) if last is not None else [f"{ind}return None"]
    sc.pop()
    return lines


def _dynamic_scope(nodes: list[Node]) -> bool:
    """eval and `f!()` reach variables by name at run time: their functions keep all
    variables in the frame."""
    for top in nodes:
        for n in top.walk():
            if isinstance(n, Call) and (n.bang or (n.name == "eval" and n.ns is None)):
                return True
    return False


def gen_block(comp: Compiler, nodes: list[Node], sc: FnScope, mode: str,
              store: str = "outside", params: list[Any] | None = None
              ) -> Callable[[list[Any]], Any]:
    """One function for a statement list. mode: "stmt" (returns a control signal or None),
    "value" (returns the last expression's value), "fn" (also turns `return` into a value).
    `store`: which local variables go back to the frame at the end ("outside": those
    declared outside this function; "all"; "none": the frame dies with the call)."""
    if sc.no_locals is None:          # the first block of a function is its whole body
        sc.no_locals = _dynamic_scope(nodes)
    g = Gen(comp.rt, lmode=not sc.no_locals and not sc.eval_blocks)
    if g.lmode:
        from .gen import int_names
        g.int_names = int_names(nodes)
    g.env["RhaiBaseError"] = RhaiBaseError
    if mode == "stmt":
        lines: list[str] = []
        for n in nodes:
            lines += stmt_lines(comp, n, sc, g, "    ")
        if not lines:
            return lambda fr: None
        lines.append("    return None")
    else:
        first = nodes[0] if len(nodes) == 1 else None
        if isinstance(first, ExprStmt) and not isinstance(first.expr, FLOW):
            f = comp.expr(first.expr, sc)
            if mode == "value" or not has_return(nodes):
                return f
        body, last = split_last(nodes)
        lines = []
        for n in body:
            lines += stmt_lines(comp, n, sc, g, "    ")
        lines += tail_lines(comp, last, sc, g, "    ") if last is not None else ["    return None"]
    if mode == "value":
        # a control signal from a statement leaves the expression as an exception
        lines = [ln.replace("return r", "raise CtlExc(r)") if ln.strip() == "return r" else ln
                 for ln in lines]
    if mode == "fn":
        lines = [ln.replace("return r", "return r.v") if ln.strip() == "return r" else ln
                 for ln in lines]
        if has_return(nodes):
            lines = ["    try:"] + ["    " + ln for ln in lines] + \
                    ["    except CtlExc as e:", "        return e.ctl.v"]
    flines = g.wrap(lines, store)
    head = ["    dd = rt.depth"] if any(re.search(r"\bdd\b", ln) for ln in flines) else []
    if params is None or any(p.boxed for p in params) or not g.lmode:
        return g.build(["def f(fr):"] + head + flines)
    # a function body also gets a `fast(args)` entry: the arguments arrive as the locals
    # (a frame is made only when some line still needs one)
    pslots = {p.slot for p in params}
    names = [g.locals.get(p.slot, f"a{p.slot}") for p in params]
    fast_body = [ln for ln in flines if not any(ln == f"    {g.locals.get(s)} = fr[{s}]"
                                             for s in pslots)]
    needs_fr = any(re.search(r"\bfr\b", ln) for ln in fast_body)
    if needs_fr:
        g.env["PAD"] = [None] * (sc.nslots - 1 - len(params))
        g.env["NO_THIS"] = NO_THIS
        fast_body = [f"    fr = [NO_THIS, {', '.join(names)}] + PAD"] + fast_body
    src = ["def f(fr):"] + head + flines + [f"def fast({', '.join(['dd', *names])}):"] + \
        fast_body
    f = g.build(src)
    f.fast = g.last_ns["fast"]  # type: ignore[attr-defined]
    return f


def gen_script_call(comp: Compiler, sfn: Any, args: list[Node], sc: FnScope,
                    pos: tuple[int, int]) -> Callable[[list[Any]], Any]:
    """A call site of a script function: arguments written straight into the new frame."""
    from .gen import call_tail
    g = Gen(comp.rt)
    g.env["sfn"] = sfn
    g.env["RhaiBaseError"] = RhaiBaseError
    p = g.name(pos, "p")
    lines = ["def f(fr):", "    dd = rt.depth"]
    vals = []
    for i, a in enumerate(args):
        lines += value_into(comp, a, sc, g, f"a{i}", "    ")
        vals.append(f"a{i}")
    lines += call_tail(g, "sfn", vals, p, "v", "    ") + ["    return v"]
    return g.build(lines)
