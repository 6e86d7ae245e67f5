"""Expressions of the parser: precedence climbing with Rhai's table, postfix chains, literals,
closures, if/switch/loops in expression position. Depth-limited (never a RecursionError)."""
from __future__ import annotations

from typing import Any

from .errors import RhaiParseError
from .lexer import Token
from .syntax import Node

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
RESERVED = {"var", "static", "shared", "goto", "exit", "match", "case", "public", "protected",
            "new", "use", "with", "module", "package", "super", "spawn", "thread", "go", "sync",
            "async", "await", "yield", "default", "void", "null", "nil"}


class ExprParser:
    """The expression half of `Parser` (it provides the token helpers and `block`)."""

    toks: list[Token]
    i: int
    depth: int
    max_depth: int
    in_fn: bool

    def peek(self, k: int = 0) -> Token: ...
    def next(self) -> Token: ...
    def is_op(self, value: str, k: int = 0) -> bool: ...
    def is_kw(self, value: str, k: int = 0) -> bool: ...
    def error(self, msg: str, tok: Token | None = None) -> RhaiParseError: ...
    def expect(self, value: str, why: str) -> Token: ...
    def ident(self, what: str) -> tuple[str, Token]: ...
    def enter(self) -> None: ...
    def block(self) -> Node: ...
    def statement(self) -> Node: ...

    # -- expressions ----------------------------------------------------------
    def expr(self, min_prec: int = 0) -> Node:
        self.enter()
        left = self.unary()
        while True:
            t = self.peek()
            if t[0] == "op" or (t[0] == "id" and t[1] == "in"):
                info = BINARY.get(t[1])
            else:
                info = None
            if info is None or info[0] < min_prec or (info[0] == min_prec and not info[1]):
                break
            self.next()
            prec, right_assoc = info
            right = self.expr(prec if right_assoc else prec + 1)
            pos = (t[2], t[3])
            if t[1] == "&&":
                left = Node("and", pos, left, right)
            elif t[1] == "||":
                left = Node("or", pos, left, right)
            else:
                left = Node("bin", pos, t[1], left, right)
        self.depth -= 1
        return left

    def unary(self) -> Node:
        t = self.peek()
        if t[0] == "op" and t[1] in ("-", "+", "!"):
            self.next()
            self.enter()
            operand = self.unary()
            self.depth -= 1
            if t[1] == "-" and operand.kind == "lit" and type(operand.a[0]) in (int, float):
                v = -operand.a[0]
                return Node("lit", (t[2], t[3]), v)
            return Node("unary", (t[2], t[3]), t[1], operand)
        return self.postfix(self.primary())

    def args(self, closer: str = ")") -> list[Node]:
        out: list[Node] = []
        while not self.is_op(closer):
            out.append(self.expr())
            if not self.is_op(closer):
                self.expect(",", "to separate the arguments")
        self.next()
        return out

    def postfix(self, e: Node) -> Node:
        while True:
            t = self.peek()
            if t[0] != "op":
                return e
            pos = (t[2], t[3])
            if t[1] in (".", "?."):
                self.next()
                safe = t[1] == "?."
                nt = self.peek()
                if nt[0] != "id":
                    raise self.error("Expecting a property or method name after '.'")
                self.next()
                if self.is_op("("):
                    self.next()
                    e = Node("method", (nt[2], nt[3]), e, nt[1], self.args(), safe)
                else:
                    e = Node("prop", (nt[2], nt[3]), e, nt[1], safe)
            elif t[1] in ("[", "?["):
                self.next()
                idx = self.expr()
                self.expect("]", "to close the index")
                e = Node("index", pos, e, idx, t[1] == "?[")
            else:
                return e

    def primary(self) -> Node:
        t = self.next()
        kind, v = t[0], t[1]
        pos = (t[2], t[3])
        if kind in ("int", "float", "str"):
            return Node("lit", pos, v)
        if kind == "char":
            from .values import Char
            return Node("lit", pos, Char(v))
        if kind == "tmpl":
            parts: list[Any] = []
            for p in v:
                if isinstance(p, str):
                    if p:
                        parts.append(p)
                else:
                    from .parser import Parser
                    sub = Parser(p, self.max_depth - self.depth)
                    e = sub.expr()
                    if sub.peek()[0] != "eof":
                        raise sub.error("Expecting '}' to end the interpolation")
                    parts.append(e)
            return Node("tmpl", pos, parts)
        if kind == "op":
            if v == "(":
                if self.is_op(")"):
                    self.next()
                    return Node("lit", pos, None)
                e = self.expr()
                self.expect(")", "to close the parenthesis")
                return e
            if v == "[":
                self.enter()
                items = self.args("]")
                self.depth -= 1
                return Node("array", pos, items)
            if v == "#{":
                return self.map_literal(pos)
            if v in ("|", "||"):
                return self.closure(t)
            if v == "{":
                self.i -= 1
                return self.block()
            if v == "}" or v == ";" or v == ")":
                raise self.error(f"Unexpected '{v}'", t)
            raise self.error(f"Unexpected '{v}'", t)
        if kind == "eof":
            raise self.error("Script is incomplete: expecting an expression", t)
        # identifiers and keywords
        if v == "true" or v == "false":
            return Node("lit", pos, v == "true")
        if v == "this":
            return Node("this", pos)
        if v == "if":
            return self.if_expr(pos)
        if v == "switch":
            return self.switch_expr(pos)
        if v == "while":
            cond = self.expr()
            return Node("while", pos, cond, self.block())
        if v == "loop":
            return Node("while", pos, None, self.block())
        if v == "do":
            body = self.block()
            w = self.next()
            if not (w[0] == "id" and w[1] in ("while", "until")):
                raise self.error("Expecting 'while' or 'until' after the 'do' block", w)
            return Node("do", pos, body, self.expr(), w[1] == "until")
        if v == "for":
            return self.for_expr(pos)
        if v in ("fn", "private"):
            raise self.error("Functions can only be defined at global level", t)
        if v == "global" and self.is_op("::"):
            self.next()
            name, _ = self.ident("a name after '::'")
            return Node("nsvar", pos, v, name)
        if v in KEYWORDS:
            raise self.error(f"Unexpected '{v}'", t)
        if v in RESERVED:
            raise self.error(f"'{v}' is a reserved keyword", t)
        if self.is_op("::"):
            self.next()
            name, nt = self.ident("a name after '::'")
            if self.is_op("("):
                self.next()
                return Node("call", pos, name, self.args(), v)
            return Node("nsvar", pos, v, name)
        if self.is_op("("):
            self.next()
            self.enter()
            args = self.args()
            self.depth -= 1
            return Node("call", pos, v, args, None)
        if self.is_op("!") and self.is_op("(", 1):
            raise self.error("Function-call with '!' is not supported")
        return Node("var", pos, v)

    def map_literal(self, pos: tuple[int, int]) -> Node:
        self.enter()
        items: list[tuple[str, Node]] = []
        seen: set[str] = set()
        while not self.is_op("}"):
            t = self.next()
            if t[0] not in ("id", "str"):
                raise self.error("Expecting a property name for the object map literal", t)
            if t[1] in seen:
                raise self.error(f"Duplicated property for object map literal: {t[1]}", t)
            seen.add(t[1])
            self.expect(":", "to separate the property name and its value")
            items.append((t[1], self.expr()))
            if not self.is_op("}"):
                self.expect(",", "to separate the items of this object map literal")
        self.next()
        self.depth -= 1
        return Node("map", pos, items)

    def closure(self, t: Token) -> Node:
        params: list[str] = []
        if t[1] == "|":
            while not self.is_op("|"):
                p, _ = self.ident("a closure parameter name")
                params.append(p)
                if not self.is_op("|"):
                    self.expect(",", "to separate the closure parameters")
            self.next()
        self.enter()
        was = self.in_fn
        self.in_fn = True
        body = self.expr() if not self.is_op("{") else self.block()
        self.in_fn = was
        self.depth -= 1
        return Node("closure", (t[2], t[3]), params, body)

    def if_expr(self, pos: tuple[int, int]) -> Node:
        cond = self.expr()
        then = self.block()
        other = None
        if self.is_kw("else"):
            self.next()
            if self.is_kw("if"):
                t = self.next()
                other = self.if_expr((t[2], t[3]))
            else:
                other = self.block()
        return Node("if", pos, cond, then, other)

    def for_expr(self, pos: tuple[int, int]) -> Node:
        counter = None
        if self.is_op("("):
            self.next()
            var, _ = self.ident("a loop variable name")
            self.expect(",", "to separate the loop variable and the counter")
            counter, _ = self.ident("a counter variable name")
            self.expect(")", "to close the loop variables")
        else:
            var, _ = self.ident("a loop variable name")
        if not self.is_kw("in"):
            raise self.error("Expecting 'in' after the for loop variable")
        self.next()
        iterable = self.expr()
        return Node("for", pos, var, counter, iterable, self.block())

    def switch_expr(self, pos: tuple[int, int]) -> Node:
        subject = self.expr()
        self.expect("{", "to start the switch cases")
        cases: list[tuple[list[Node], Node | None, Node]] = []
        default: Node | None = None
        while not self.is_op("}"):
            t = self.peek()
            if default is not None:
                raise self.error("Wildcard pattern must be the last case of a switch")
            if t[0] == "id" and t[1] == "_":
                self.next()
                self.expect("=>", "after the switch case")
                default = self.case_body()
            else:
                pats = [self.expr(31)]
                while self.is_op("|"):
                    self.next()
                    pats.append(self.expr(31))
                cond = None
                if self.is_kw("if"):
                    self.next()
                    cond = self.expr()
                self.expect("=>", "after the switch case")
                cases.append((pats, cond, self.case_body()))
            if self.is_op(","):
                self.next()
            elif not self.is_op("}") and self.toks[self.i - 1][1] != "}":
                raise self.error("Expecting ',' to separate the switch cases")
        self.next()
        return Node("switch", pos, subject, cases, default)

    def case_body(self) -> Node:
        if self.is_op("{"):
            return self.block()
        t = self.peek()
        if t[0] == "id" and t[1] in ("break", "continue", "return", "throw"):
            s = self.statement()
            return Node("block", s.pos, [s])
        return self.expr()

