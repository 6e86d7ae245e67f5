"""Generated Python for hot statement shapes: statement lists, conditions, loops.

A statement list becomes ONE Python function whose simple statements (`let`, assignment to a
variable or `a[i]`, expression statements) are inlined, with the i64 fast path and its
overflow check written out; anything else is a call to the statement's closure. Conditions
that compare two simple operands are inlined into `if`/`while` the same way.
"""
from __future__ import annotations

from typing import Any, Callable

from .errors import RhaiBaseError, RhaiRuntimeError
from .fastops import slow_binary
from .runtime import Brk, Cont, CtlExc, Rt
from .values import clone, type_name

LO, HI = "-9223372036854775808", "9223372036854775807"
COMPARE_OPS = ("<", "<=", ">", ">=", "==", "!=")
INLINE_LITS = (int, float, bool, type(None))


def tick(rt: Rt, pos: tuple[int, int], n: int = 1) -> None:
    """Spend n operations (loops count locally and spend in batches of rt.loop_mask + 1)."""
    rt.budget -= n
    if rt.budget < 0:
        try:
            rt.tick()
        except RhaiBaseError as e:
            raise e.at(pos)


def cond_error(v: Any, pos: tuple[int, int]) -> RhaiRuntimeError:
    return RhaiRuntimeError(f"Data type incorrect: {type_name(v)} (expecting bool)", pos)


class Gen:
    """Source lines plus the names they refer to."""

    def __init__(self, rt: Rt) -> None:
        self.env: dict[str, Any] = {"rt": rt, "slow": slow_binary, "CtlExc": CtlExc,
                                    "Cont": Cont, "Brk": Brk, "tick": tick,
                                    "cond_error": cond_error, "clone": clone}
        self.n = 0

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
            return f"fr[{v}]", False
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
        return ns[fname]  # type: ignore[no-any-return]


def binop_lines(g: Gen, op: str, a: tuple[str, bool], b: tuple[str, bool], target: str,
                pos: tuple[int, int], ind: str) -> list[str]:
    """Lines computing `target = a op b` with the i64 fast path inlined."""
    (ae, aint), (be, bint) = a, b
    p = g.name(pos, "p")
    checks = [c for c, known in (("type(a) is int", aint), ("type(b) is int", bint)) if not known]
    cond = " and ".join(checks) or "True"
    lines = [f"{ind}a = {ae}", f"{ind}b = {be}"]
    slow = f"slow(rt, {op!r}, a, b, {p})"
    if op in ("+", "-", "*"):
        lines += [f"{ind}if {cond}:", f"{ind}    v = a {op} b",
                  f"{ind}    if not {LO} <= v <= {HI}:", f"{ind}        v = {slow}",
                  f"{ind}    {target} = v"]
    elif op in COMPARE_OPS or op in ("&", "|", "^"):
        lines += [f"{ind}if {cond}:", f"{ind}    {target} = a {op} b"]
    elif op in ("/", "%"):
        pyop = "//" if op == "/" else "%"
        lines += [f"{ind}if {cond} and a >= 0 and b > 0:", f"{ind}    {target} = a {pyop} b"]
    else:
        return lines + [f"{ind}{target} = {slow}"]
    return lines + [f"{ind}else:", f"{ind}    {target} = {slow}"]


def cond_lines(comp: Any, node: Any, sc: Any, g: Gen, ind: str) -> list[str]:
    """Lines setting `c` to the condition's value."""
    if node.kind == "bin" and node.a[0] in COMPARE_OPS:
        if _is_simple_bin(node):
            op, left, right = node.a
            a = g.operand(comp.shape(left, sc))
            b = g.operand(comp.shape(right, sc))
            return binop_lines(g, op, a, b, "c", node.pos, ind)
        lines, e = expr_lines(comp, node, sc, g, ind)
        return lines + [f"{ind}c = {e}"]
    return value_into(comp, node, sc, g, "c", ind, copy=False)


ARITH = ("+", "-", "*", "/", "%", "&", "|", "^") + COMPARE_OPS
SIMPLE = ("var", "lit")


def _is_simple_bin(node: Any) -> bool:
    return node.kind == "bin" and node.a[0] in ARITH and \
        node.a[1].kind in SIMPLE and node.a[2].kind in SIMPLE


def expr_lines(comp: Any, node: Any, sc: Any, g: Gen, ind: str) -> tuple[list[str], str]:
    """(lines, Python expression) computing `node`: arithmetic and script-function calls are
    written out in place; anything else is one call of the node's closure."""
    k = node.kind
    if k == "lit" or (k == "var" and comp.shape(node, sc)[0] != "any"):
        return [], g.operand(comp.shape(node, sc))[0]
    if k == "bin" and node.a[0] in ARITH:
        op, left, right = node.a
        ll, le = expr_lines(comp, left, sc, g, ind)
        rl, re_ = expr_lines(comp, right, sc, g, ind)
        if rl and left.kind == "var":          # keep left-to-right order
            t = g.temp()
            ll, le = ll + [f"{ind}{t} = {le}"], t
        t = g.temp()
        aint = left.kind == "lit" and type(left.a[0]) is int
        bint = right.kind == "lit" and type(right.a[0]) is int
        return ll + rl + binop_lines(g, op, (le, aint), (re_, bint), t, node.pos, ind), t
    if k == "call" and node.a[2] is None:
        sfn = comp.script_fns.get((node.a[0], len(node.a[1])))
        if sfn is not None:
            return call_lines(comp, sfn, node.a[1], sc, g, ind, node.pos)
    t = g.temp()
    return [f"{ind}{t} = {g.name(comp.expr(node, sc), 'f')}(fr)"], t


def call_lines(comp: Any, sfn: Any, args: list[Any], sc: Any, g: Gen, ind: str,
               pos: tuple[int, int]) -> tuple[list[str], str]:
    """A script-function call written out: arguments straight into the new frame."""
    lines: list[str] = []
    vals: list[str] = []
    for a in args:
        if a.kind in ("var", "index", "prop", "this"):
            t = g.temp()
            lines += value_into(comp, a, sc, g, t, ind)
            vals.append(t)
        else:
            al, ae = expr_lines(comp, a, sc, g, ind)
            if al or a.kind != "lit":
                t = g.temp()
                lines += al + [f"{ind}{t} = {ae}"]
                ae = t
            vals.append(ae)
    S = g.name(sfn, "S")
    p = g.name(pos, "p")
    res = g.temp()
    lines.append(f"{ind}nf = {S}.template.copy()")
    lines += [f"{ind}nf[{i + 1}] = {v}" for i, v in enumerate(vals)]
    if sfn.boxed:
        g.env["Cell"] = __import__("herocelery.runners.rhai.runtime", fromlist=["Cell"]).Cell
        lines += [f"{ind}nf[{s}] = Cell(nf[{s}])" for s in sfn.boxed]
    lines += [f"{ind}d = rt.depth", f"{ind}if d >= rt.max_depth:",
              f"{ind}    raise rt.too_deep().at({p})",
              f"{ind}rt.budget -= 1", f"{ind}if rt.budget < 0:", f"{ind}    tick(rt, {p}, 0)",
              f"{ind}rt.depth = d + 1", f"{ind}{res} = {S}.body(nf)", f"{ind}rt.depth = d"]
    return lines, res


def value_into(comp: Any, node: Any, sc: Any, g: Gen, target: str, ind: str,
               copy: bool = True) -> list[str]:
    """Lines storing the value of `node` (copied if it is a place) into `target`."""
    if node is None:
        return [f"{ind}{target} = None"]
    if node.kind == "lit":
        return [f"{ind}{target} = {g.operand(('lit', node.a[0]))[0]}"]
    if _is_simple_bin(node):
        op, left, right = node.a
        return binop_lines(g, op, g.operand(comp.shape(left, sc)),
                           g.operand(comp.shape(right, sc)), target, node.pos, ind)
    if (node.kind == "bin" and node.a[0] in ARITH) or (
            node.kind == "call" and node.a[2] is None
            and (node.a[0], len(node.a[1])) in comp.script_fns):
        lines, e = expr_lines(comp, node, sc, g, ind)
        return lines + [f"{ind}{target} = {e}"]
    if node.kind == "var":
        shape = comp.shape(node, sc)
        if shape[0] != "any":
            e, _ = g.operand(shape)
            if not copy:
                return [f"{ind}{target} = {e}"]
            return [f"{ind}t = {e}", f"{ind}if type(t) is list or type(t) is dict:",
                    f"{ind}    t = clone(t)", f"{ind}{target} = t"]
    if node.kind == "index" and node.a[0].kind == "var" and node.a[1].kind in SIMPLE \
            and not node.a[2]:
        base = comp.shape(node.a[0], sc)
        if base[0] == "var":
            k, _ = g.operand(comp.shape(node.a[1], sc))
            full = g.name(comp.value(node, sc) if copy else comp.expr(node, sc), "f")
            lines = [f"{ind}o = fr[{base[1]}]", f"{ind}k = {k}",
                     f"{ind}if type(o) is list and type(k) is int and k >= 0 and k < len(o):",
                     f"{ind}    t = o[k]"]
            if copy:
                lines += [f"{ind}    if type(t) is list or type(t) is dict:",
                          f"{ind}        t = clone(t)"]
            return lines + [f"{ind}else:", f"{ind}    t = {full}(fr)", f"{ind}{target} = t"]
    return [f"{ind}{target} = {g.name(comp.value(node, sc) if copy else comp.expr(node, sc), 'f')}(fr)"]


def compound_other(rt: Rt, op: str, a: Any, b: Any, pos: tuple[int, int]) -> Any:
    """`a op= b` when the inline i64/string paths do not apply."""
    if type(a) is list and op == "+":
        a.extend(clone(b)) if type(b) is list else a.append(clone(b))
        try:
            rt.check_arr(a)
        except RhaiBaseError as e:
            raise e.at(pos)
        return a
    return slow_binary(rt, op, a, b, pos)


LOOP_CTL = ["if type(r) is Cont:", "    continue", "if type(r) is Brk:", "    break", "return r"]


def stmt_lines(comp: Any, node: Any, sc: Any, g: Gen, ind: str,
               on_ctl: list[str] | None = None) -> list[str]:
    """Lines for one statement; a control signal `r` is handled by `on_ctl` (default:
    returned from the generated function)."""
    k = node.kind
    on_ctl = on_ctl or ["return r"]
    if k == "expr" and node.a[0].kind in ("if", "while", "for", "do", "block"):
        return flow_lines(comp, node.a[0], sc, g, ind, on_ctl)
    if k in ("break", "continue") and on_ctl is LOOP_CTL and (k == "continue" or node.a[0] is None):
        return [f"{ind}{k}"]
    if k == "expr" and node.a[0].kind not in ("if", "switch", "while", "do", "for", "block"):
        return [f"{ind}{g.name(comp.expr(node.a[0], sc), 'f')}(fr)"]
    if k == "let" and not (sc.top and node.a[2]):
        name, value, const = node.a
        lines = value_into(comp, value, sc, g, "x", ind)
        v = sc.declare(name, const)
        if v.boxed:
            g.env["Cell"] = __import__("herocelery.runners.rhai.runtime",
                                       fromlist=["Cell"]).Cell
            return lines + [f"{ind}fr[{v.slot}] = Cell(x)"]
        return lines + [f"{ind}fr[{v.slot}] = x"]
    if k == "assign":
        op, target, value = node.a
        var = sc.lookup(target.a[0]) if target.kind == "var" else None
        plain = var is not None and not var.boxed and not var.const and not var.module
        if plain and op == "=":
            return value_into(comp, value, sc, g, f"fr[{var.slot}]", ind)
        if plain and op not in ("??=",) and op[:-1] in ARITH:
            bop = op[:-1]
            p = g.name(node.pos, "p")
            lines = value_into(comp, value, sc, g, "b", ind, copy=False)
            i = var.slot
            lines += [f"{ind}a = fr[{i}]"]
            if bop in ("+", "-", "*"):
                lines += [f"{ind}if type(a) is int and type(b) is int:", f"{ind}    v = a {bop} b",
                          f"{ind}    if not {LO} <= v <= {HI}:",
                          f"{ind}        v = slow(rt, {bop!r}, a, b, {p})",
                          f"{ind}    fr[{i}] = v"]
                if bop == "+":
                    lines += [f"{ind}elif type(a) is str and type(b) is str:",
                              f"{ind}    fr[{i}] = None", f"{ind}    a += b", f"{ind}    fr[{i}] = a",
                              f"{ind}    if rt.max_str and len(a) > rt.max_str:",
                              f"{ind}        slow(rt, '+', a, '', {p})"]
                g.env["other"] = compound_other
                lines += [f"{ind}else:", f"{ind}    fr[{i}] = other(rt, {bop!r}, a, b, {p})"]
                return lines
            return lines + binop_lines(g, bop, (f"fr[{i}]", False), ("b", False),
                                       f"fr[{i}]", node.pos, ind)[2:]
        if op == "=" and target.kind == "index" and target.a[0].kind == "var":
            base = sc.lookup(target.a[0].a[0])
            if base is not None and not base.boxed and not base.const and not base.module:
                from .compile_expr import bounds_error, index_set
                p = g.name(node.pos, "p")
                g.env["index_set"] = index_set
                g.env["bounds"] = bounds_error
                lines = value_into(comp, value, sc, g, "v", ind)
                ke, _ = g.operand(comp.shape(target.a[1], sc))
                return lines + [
                    f"{ind}o = fr[{base.slot}]", f"{ind}k = {ke}",
                    f"{ind}try:",
                    f"{ind}    if type(o) is list and type(k) is int:",
                    f"{ind}        o[k] = v",
                    f"{ind}    else:",
                    f"{ind}        nb = index_set(rt, o, k, v)",
                    f"{ind}        if nb is not o:",
                    f"{ind}            fr[{base.slot}] = nb",
                    f"{ind}except IndexError:",
                    f"{ind}    raise bounds('Array', k, len(o)).at({p}) from None",
                    f"{ind}except RhaiBaseError as e:",
                    f"{ind}    raise e.at({p})"]
    s = comp.stmt(node, sc)
    return [f"{ind}r = {g.name(s, 's')}(fr)", f"{ind}if r is not None:"] + \
        [f"{ind}    {ln}" for ln in on_ctl]


def block_lines(comp: Any, nodes: list[Any], sc: Any, g: Gen, ind: str,
                on_ctl: list[str]) -> list[str]:
    sc.push()
    lines: list[str] = []
    for n in nodes:
        lines += stmt_lines(comp, n, sc, g, ind, on_ctl)
    sc.pop()
    return lines or [f"{ind}pass"]


def flow_lines(comp: Any, node: Any, sc: Any, g: Gen, ind: str, on_ctl: list[str]) -> list[str]:
    """if / while / loop / do / for / block statements written out in place."""
    k = node.kind
    if k == "block":
        return block_lines(comp, node.a[0], sc, g, ind, on_ctl)
    p = g.name(node.pos, "p")
    if k == "if":
        cond, then, other = node.a
        lines = cond_lines(comp, cond, sc, g, ind)
        lines += [f"{ind}if c is True:"] + block_lines(comp, then.a[0], sc, g, ind + "    ", on_ctl)
        lines += [f"{ind}elif c is False:"]
        if other is None:
            lines += [f"{ind}    pass"]
        elif other.kind == "if":
            lines += flow_lines(comp, other, sc, g, ind + "    ", on_ctl)
        else:
            lines += block_lines(comp, other.a[0], sc, g, ind + "    ", on_ctl)
        return lines + [f"{ind}else:", f"{ind}    raise cond_error(c, {p})"]
    inner = ind + "        "
    g.n += 1
    cnt = f"n{g.n}"
    pre = [f"{ind}{cnt} = 0", f"{ind}m{cnt} = rt.loop_mask"]
    tick_lines = [f"{ind}    {cnt} += 1", f"{ind}    if not {cnt} & m{cnt}:",
                  f"{ind}        tick(rt, {p}, m{cnt} + 1)"]
    # a loop that ends spends what it counted, so nested short loops are never free
    post = [f"{ind}if {cnt} & m{cnt}:", f"{ind}    tick(rt, {p}, {cnt} & m{cnt})"]
    handler = [f"{ind}    except CtlExc as e:", f"{ind}        r = e.ctl"] + \
        [f"{ind}        {ln}" for ln in LOOP_CTL]
    sc.loops += 1
    try:
        if k == "for":
            var, counter, it_node, body = node.a
            if it_node.kind == "bin" and it_node.a[0] in ("..", "..="):
                g.env["irange"] = _int_range
                lo = g.operand(comp.shape(it_node.a[1], sc))[0]
                hi = g.operand(comp.shape(it_node.a[2], sc))[0]
                it = f"irange({lo}, {hi}, {1 if it_node.a[0] == '..=' else 0}, {p})"
            else:
                g.env["iterate"] = _iterate
                it = f"iterate({g.name(comp.expr(it_node, sc), 'f')}(fr), {p})"
            sc.push()
            v = sc.declare(var)
            cv = sc.declare(counter) if counter else None
            if v.boxed or (cv is not None and cv.boxed):
                g.env["Cell"] = __import__("herocelery.runners.rhai.runtime",
                                           fromlist=["Cell"]).Cell
            head = [f"{ind}for n, x in enumerate({it}):" if cv else f"{ind}for x in {it}:",
                    f"{ind}    fr[{v.slot}] = {'Cell(x)' if v.boxed else 'x'}"]
            if cv is not None:
                head.append(f"{ind}    fr[{cv.slot}] = {'Cell(n)' if cv.boxed else 'n'}")
            body_l = block_lines(comp, body.a[0], sc, g, inner, LOOP_CTL)
            sc.pop()
            return pre + head + tick_lines + [f"{ind}    try:"] + body_l + handler + post
        if k == "while":
            cond, body = node.a
            head = [f"{ind}while True:"]
            if cond is not None:
                head += cond_lines(comp, cond, sc, g, ind + "    ")
                head += [f"{ind}    if c is not True:", f"{ind}        if c is False:",
                         f"{ind}            break", f"{ind}        raise cond_error(c, {p})"]
            body_l = block_lines(comp, body.a[0], sc, g, inner, LOOP_CTL)
            return pre + head + tick_lines + [f"{ind}    try:"] + body_l + handler + post
        body, cond, until = node.a                     # do { } while/until cond
        body_l = block_lines(comp, body.a[0], sc, g, inner, LOOP_CTL)
        stop = "True" if until else "False"
        tail = cond_lines(comp, cond, sc, g, ind + "    ")
        tail += [f"{ind}    if c is {stop}:", f"{ind}        break",
                 f"{ind}    if c is not True and c is not False:",
                 f"{ind}        raise cond_error(c, {p})"]
        return pre + [f"{ind}while True:"] + tick_lines + [f"{ind}    try:"] + body_l + \
            handler + tail + post
    finally:
        sc.loops -= 1


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
        raise e.at(pos)


def has_return(nodes: list[Any]) -> bool:
    return any(n.kind == "return" for top in nodes for n in top.walk()
               if n.kind != "closure")


def split_last(nodes: list[Any]) -> tuple[list[Any], Any]:
    """(statements, the expression giving the block's value or None)."""
    if nodes and nodes[-1].kind == "expr":
        return nodes[:-1], nodes[-1].a[0]
    if nodes and nodes[-1].kind == "try":
        from .syntax import Node
        return nodes[:-1], Node("tryx", nodes[-1].pos, *nodes[-1].a)
    return nodes, None


def tail_lines(comp: Any, node: Any, sc: Any, g: Gen, ind: str) -> list[str]:
    """Lines that return the value of expression `node` (if/else written out in place)."""
    if node.kind == "if":
        cond, then, other = node.a
        p = g.name(node.pos, "p")
        lines = cond_lines(comp, cond, sc, g, ind)
        lines += [f"{ind}if c is True:"] + block_tail(comp, then.a[0], sc, g, ind + "    ")
        lines += [f"{ind}if c is False:"]
        if other is None:
            lines += [f"{ind}    return None"]
        elif other.kind == "if":
            lines += tail_lines(comp, other, sc, g, ind + "    ")
        else:
            lines += block_tail(comp, other.a[0], sc, g, ind + "    ")
        return lines + [f"{ind}raise cond_error(c, {p})"]
    if node.kind == "block":
        return block_tail(comp, node.a[0], sc, g, ind)
    return value_into(comp, node, sc, g, "v", ind, copy=False) + [f"{ind}return v"]


def block_tail(comp: Any, nodes: list[Any], sc: Any, g: Gen, ind: str) -> list[str]:
    sc.push()
    lines: list[str] = []
    body, last = split_last(nodes)
    for n in body:
        lines += stmt_lines(comp, n, sc, g, ind)
    lines += tail_lines(comp, last, sc, g, ind) if last is not None else [f"{ind}return None"]
    sc.pop()
    return lines


def gen_block(comp: Any, nodes: list[Any], sc: Any, mode: str) -> Callable[[list[Any]], Any]:
    """One function for a statement list. mode: "stmt" (returns a control signal or None),
    "value" (returns the last expression's value), "fn" (also turns `return` into a value)."""
    g = Gen(comp.rt)
    g.env["RhaiBaseError"] = RhaiBaseError
    if mode == "stmt":
        lines: list[str] = []
        for n in nodes:
            lines += stmt_lines(comp, n, sc, g, "    ")
        if not lines:
            return lambda fr: None
        lines.append("    return None")
    else:
        if len(nodes) == 1 and nodes[0].kind == "expr" and nodes[0].a[0].kind not in (
                "if", "block", "while", "for", "do"):
            f = comp.expr(nodes[0].a[0], sc)
            if mode == "value" or not has_return(nodes):
                return f  # type: ignore[no-any-return]
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
    return g.build(["def f(fr):"] + lines)


def gen_script_call(comp: Any, sfn: Any, args: list[Any], sc: Any,
                    pos: tuple[int, int]) -> Callable[[list[Any]], Any]:
    """A call site of a script function: arguments written straight into the new frame."""
    g = Gen(comp.rt)
    g.env["sfn"] = sfn
    g.env["RhaiBaseError"] = RhaiBaseError
    p = g.name(pos, "p")
    lines = ["def f(fr):", "    nf = sfn.template.copy()"]
    for i, a in enumerate(args):
        lines += value_into(comp, a, sc, g, f"nf[{i + 1}]", "    ")
    if sfn.boxed:
        g.env["Cell"] = __import__("herocelery.runners.rhai.runtime", fromlist=["Cell"]).Cell
        lines += [f"    nf[{s}] = Cell(nf[{s}])" for s in sfn.boxed]
    lines += ["    d = rt.depth", "    if d >= rt.max_depth:",
              f"        raise rt.too_deep().at({p})",
              "    rt.budget -= 1", "    if rt.budget < 0:", f"        tick(rt, {p}, 0)",
              "    rt.depth = d + 1", "    v = sfn.body(nf)", "    rt.depth = d", "    return v"]
    return g.build(lines)
