"""Expressions of the parser: precedence climbing with Rhai's table, postfix chains, literals,
closures, if/switch/loops in expression position. Depth-limited (never a RecursionError)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .lexer import Token
from .syntax import (
    And,
    ArrayLit,
    Bin,
    Block,
    Call,
    Closure,
    Do,
    ExprStmt,
    For,
    If,
    Index,
    Lit,
    MapLit,
    Method,
    Node,
    NsVar,
    Or,
    Prop,
    Switch,
    SwitchCase,
    This,
    Tmpl,
    Unary,
    Var,
    While,
)
from .values import MAX_INT, Char

if TYPE_CHECKING:
    from .parser import Parser, TokenStream

# binary operators: precedence, right-associative?
BINARY: dict[str, tuple[int, bool]] = {
    "||": (30, False), "|": (30, False), "^": (30, False),
    "&&": (60, False), "&": (60, False),
    "==": (90, False), "!=": (90, False),
    "in": (110, False), "!in": (110, False),
    ">": (130, False), ">=": (130, False), "<": (130, False), "<=": (130, False),
    "??": (135, False),
    "..": (140, False), "..=": (140, False),
    "+": (150, False), "-": (150, False),
    "*": (180, False), "/": (180, False), "%": (180, False),
    "**": (190, True),
    "<<": (210, False), ">>": (210, False),
}
KEYWORDS = {"let", "const", "if", "else", "switch", "while", "loop", "do", "until", "for", "in",
            "break", "continue", "return", "throw", "try", "catch", "fn", "private", "import",
            "export", "as", "true", "false", "this", "global"}
RESERVED = {"var", "static", "shared", "goto", "match", "case", "public", "protected",
            "new", "use", "with", "module", "package", "super", "spawn", "thread", "go", "sync",
            "async", "await", "yield", "default", "void", "null", "nil"}


def _check_int(e: Node) -> None:
    """2^63 is only a literal right after a unary minus."""
    if isinstance(e, Lit) and type(e.value) is int and e.value > 0x7FFFFFFFFFFFFFFF:
        from .errors import RhaiParseError
        raise RhaiParseError(f"Integer overflow: {e.value}", e.pos)


class ExprParser:
    """Parses expressions from a TokenStream; blocks and statements inside them go back to
    the statement parser."""

    def __init__(self, ts: TokenStream, stmts: Parser) -> None:
        self.ts = ts
        self.stmts = stmts

    # -- expressions ----------------------------------------------------------
    def expr(self, min_prec: int = 0) -> Node:
        ts = self.ts
        ts.enter()
        left = self.unary()
        _check_int(left)
        while True:
            t = ts.peek()
            info = BINARY.get(t.value) if t.kind == "op" or t.is_kw("in") else None
            if info is None or info[0] < min_prec or (info[0] == min_prec and not info[1]):
                break
            ts.next()
            prec, right_assoc = info
            if t.value in ("..", "..=") and not self.starts_expr():
                left = Bin(t.pos, "..", left, Lit(t.pos, MAX_INT))     # `a..`: open end
                continue
            right = self.expr(prec if right_assoc else prec + 1)
            if t.value == "&&":
                left = And(t.pos, left, right)
            elif t.value == "||":
                left = Or(t.pos, left, right)
            else:
                left = Bin(t.pos, t.value, left, right)
        ts.leave()
        return left

    def starts_expr(self) -> bool:
        """Whether the next token can begin an expression (for open ranges)."""
        t = self.ts.peek()
        if t.kind == "eof":
            return False
        return not (t.kind == "op" and t.value in (")", "]", "}", ",", ";", "=>", "=", ":")
                    or t.kind == "id" and t.value in ("else",))

    def unary(self) -> Node:
        ts = self.ts
        t = ts.peek()
        if t.kind == "op" and t.value in ("..", "..="):
            # `..b`, `..=b`, `..`, `..=`: a range open at the start (and maybe the end)
            ts.next()
            if self.starts_expr():
                return Bin(t.pos, t.value, Lit(t.pos, 0), self.expr(BINARY[".."][0] + 1))
            return Bin(t.pos, "..", Lit(t.pos, 0), Lit(t.pos, MAX_INT))
        if t.kind == "op" and t.value in ("-", "+", "!"):
            ts.next()
            ts.enter()
            operand = self.unary()
            ts.leave()
            if t.value == "-" and isinstance(operand, Lit) and type(operand.value) in (int, float):
                return Lit(t.pos, -operand.value)
            _check_int(operand)
            return Unary(t.pos, t.value, operand)
        return self.postfix(self.primary())

    def args(self, closer: str = ")") -> list[Node]:
        ts = self.ts
        out: list[Node] = []
        while not ts.is_op(closer):
            out.append(self.expr())
            if not ts.is_op(closer):
                ts.expect(",", "to separate the arguments")
        ts.next()
        return out

    def postfix(self, e: Node) -> Node:
        ts = self.ts
        while True:
            t = ts.peek()
            if t.kind != "op":
                return e
            if t.value in (".", "?.", "[", "?["):
                _check_int(e)
            if t.value in (".", "?."):
                ts.next()
                safe = t.value == "?."
                nt = ts.peek()
                if nt.kind != "id":
                    raise ts.error("Expecting a property or method name after '.'")
                ts.next()
                if ts.is_op("("):
                    ts.next()
                    e = Method(nt.pos, e, nt.value, self.args(), safe)
                else:
                    e = Prop(nt.pos, e, nt.value, safe)
            elif t.value in ("[", "?["):
                ts.next()
                idx = self.expr()
                ts.expect("]", "to close the index")
                e = Index(t.pos, e, idx, t.value == "?[")
            else:
                return e

    def template(self, t: Token) -> Node:
        from .parser import Parser
        parts: list[Any] = []
        for p in t.value:
            if isinstance(p, str):
                if p:
                    parts.append(p)
            else:
                # `${ ... }` is a statement block: its last value is shown
                sub = Parser(p, self.ts.max_depth - self.ts.depth)
                sub.in_fn = True
                stmts = sub.statements(top=True)
                pos = p[0].pos if p else t.pos
                if len(stmts) == 1 and isinstance(stmts[0], ExprStmt):
                    parts.append(stmts[0].expr)
                else:
                    parts.append(Block(pos, stmts))
        return Tmpl(t.pos, parts)

    def primary(self) -> Node:
        ts = self.ts
        t = ts.next()
        kind, v, pos = t.kind, t.value, t.pos
        if kind in ("int", "float", "str"):
            return Lit(pos, v)
        if kind == "char":
            return Lit(pos, Char(v))
        if kind == "tmpl":
            return self.template(t)
        if kind == "op":
            if v == "(":
                if ts.is_op(")"):
                    ts.next()
                    return Lit(pos, None)
                e = self.expr()
                ts.expect(")", "to close the parenthesis")
                return e
            if v == "[":
                ts.enter()
                items = self.args("]")
                ts.leave()
                return ArrayLit(pos, items)
            if v == "#{":
                return self.map_literal(pos)
            if v in ("|", "||"):
                return self.closure(t)
            if v == "{":
                ts.i -= 1
                return self.stmts.block()
            raise ts.error(f"Unexpected '{v}'", t)
        if kind == "eof":
            raise ts.error("Script is incomplete: expecting an expression", t)
        return self.word(t)

    def word(self, t: Token) -> Node:
        """Identifiers and keywords in expression position."""
        ts = self.ts
        v, pos = t.value, t.pos
        if v == "true" or v == "false":
            return Lit(pos, v == "true")
        if v == "this":
            return This(pos)
        if v == "if":
            return self.if_expr(pos)
        if v == "switch":
            return self.switch_expr(pos)
        if v == "while":
            cond = self.expr()
            return While(pos, cond, self.stmts.block())
        if v == "loop":
            return While(pos, None, self.stmts.block())
        if v == "do":
            body = self.stmts.block()
            w = ts.next()
            if not (w.kind == "id" and w.value in ("while", "until")):
                raise ts.error("Expecting 'while' or 'until' after the 'do' block", w)
            return Do(pos, body, self.expr(), w.value == "until")
        if v == "for":
            return self.for_expr(pos)
        if v in ("fn", "private"):
            raise ts.error("Functions can only be defined at global level", t)
        if v == "global" and ts.is_op("::"):
            ts.next()
            name, _ = ts.ident("a name after '::'")
            return NsVar(pos, v, name)
        if v in KEYWORDS:
            raise ts.error(f"Unexpected '{v}'", t)
        if v in RESERVED:
            raise ts.error(f"'{v}' is a reserved keyword", t)
        if ts.is_op("::"):
            ns = v
            ts.next()
            name, _ = ts.ident("a name after '::'")
            while ts.is_op("::"):                  # `a::b::c`: sub-modules
                ts.next()
                ns, (name, _) = f"{ns}::{name}", ts.ident("a name after '::'")
            if ts.is_op("("):
                ts.next()
                return Call(pos, name, self.args(), ns)
            return NsVar(pos, ns, name)
        if ts.is_op("("):
            ts.next()
            ts.enter()
            args = self.args()
            ts.leave()
            return Call(pos, v, args, None)
        if ts.is_op("!") and ts.is_op("(", 1):
            ts.next()
            ts.next()
            ts.enter()
            args = self.args()
            ts.leave()
            return Call(pos, v, args, None, bang=True)
        return Var(pos, v)

    def map_literal(self, pos: tuple[int, int]) -> Node:
        ts = self.ts
        ts.enter()
        items: list[tuple[str, Node]] = []
        seen: set[str] = set()
        while not ts.is_op("}"):
            t = ts.next()
            key = t.value
            if t.kind == "tmpl" and len(key) == 1:          # a back-tick key: text only
                key = key[0]
            elif t.kind not in ("id", "str"):
                raise ts.error("Expecting a property name for the object map literal", t)
            if key in seen:
                raise ts.error(f"Duplicated property for object map literal: {key}", t)
            seen.add(key)
            ts.expect(":", "to separate the property name and its value")
            items.append((key, self.expr()))
            if not ts.is_op("}"):
                ts.expect(",", "to separate the items of this object map literal")
        ts.next()
        ts.leave()
        return MapLit(pos, items)

    def closure(self, t: Token) -> Node:
        ts = self.ts
        params: list[str] = []
        if t.value == "|":
            while not ts.is_op("|"):
                p, _ = ts.ident("a closure parameter name")
                params.append(p)
                if not ts.is_op("|"):
                    ts.expect(",", "to separate the closure parameters")
            ts.next()
        ts.enter()
        was = self.stmts.in_fn
        self.stmts.in_fn = True
        body: Node
        if ts.is_op("{"):
            body = self.stmts.block()
        else:
            # one statement: an expression, or an assignment such as `|| this += 1`
            s = self.stmts.statement()
            body = s.expr if isinstance(s, ExprStmt) else Block(s.pos, [s])
        self.stmts.in_fn = was
        ts.leave()
        return Closure(t.pos, params, body)

    def if_expr(self, pos: tuple[int, int]) -> If:
        ts = self.ts
        cond = self.expr()
        then = self.stmts.block()
        other: Block | If | None = None
        if ts.is_kw("else"):
            ts.next()
            if ts.is_kw("if"):
                other = self.if_expr(ts.next().pos)
            else:
                other = self.stmts.block()
        return If(pos, cond, then, other)

    def for_expr(self, pos: tuple[int, int]) -> Node:
        ts = self.ts
        counter = None
        if ts.is_op("("):
            ts.next()
            var, _ = ts.ident("a loop variable name")
            ts.expect(",", "to separate the loop variable and the counter")
            counter, _ = ts.ident("a counter variable name")
            ts.expect(")", "to close the loop variables")
        else:
            var, _ = ts.ident("a loop variable name")
        if not ts.is_kw("in"):
            raise ts.error("Expecting 'in' after the for loop variable")
        ts.next()
        iterable = self.expr()
        return For(pos, var, counter, iterable, self.stmts.block())

    def switch_expr(self, pos: tuple[int, int]) -> Node:
        ts = self.ts
        subject = self.expr()
        ts.expect("{", "to start the switch cases")
        cases: list[SwitchCase] = []
        default: Node | None = None
        while not ts.is_op("}"):
            t = ts.peek()
            if default is not None:
                raise ts.error("Wildcard pattern must be the last case of a switch")
            if t.is_kw("_"):
                ts.next()
                if ts.is_kw("if"):
                    raise ts.error("Default switch case cannot have a condition")
                ts.expect("=>", "after the switch case")
                default = self.case_body()
            else:
                pats = [self.expr(31)]
                while ts.is_op("|"):
                    ts.next()
                    pats.append(self.expr(31))
                cond = None
                if ts.is_kw("if"):
                    ts.next()
                    cond = self.expr()
                ts.expect("=>", "after the switch case")
                cases.append(SwitchCase(pats, cond, self.case_body()))
            if ts.is_op(","):
                ts.next()
            elif not ts.is_op("}") and ts.prev().value != "}":
                raise ts.error("Expecting ',' to separate the switch cases")
        ts.next()
        return Switch(pos, subject, cases, default)

    def case_body(self) -> Node:
        ts = self.ts
        if ts.is_op("{"):
            return self.stmts.block()
        t = ts.peek()
        if t.kind == "id" and t.value in ("break", "continue", "return", "throw"):
            s = self.stmts.statement()
            return Block(s.pos, [s])
        return self.expr()


__all__ = ["ExprParser", "BINARY", "KEYWORDS", "RESERVED", "ExprStmt"]
