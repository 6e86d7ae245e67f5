"""Tokens -> syntax tree with positions; errors name the problem and where it is."""
from __future__ import annotations

from typing import Any

from .syntax import FnDef, Node, Script
from .errors import RhaiParseError
from .lexer import Lexer, Token

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
ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "??="}
KEYWORDS = {"let", "const", "if", "else", "switch", "while", "loop", "do", "until", "for", "in",
            "break", "continue", "return", "throw", "try", "catch", "fn", "private", "import",
            "export", "as", "true", "false", "this", "global"}
RESERVED = {"var", "static", "shared", "goto", "exit", "match", "case", "public", "protected",
            "new", "use", "with", "module", "package", "super", "spawn", "thread", "go", "sync",
            "async", "await", "yield", "default", "void", "null", "nil"}
BLOCK_STMTS = {"if", "switch", "while", "loop", "do", "for", "block", "try"}
PLACES = {"var", "index", "prop", "this"}


class Parser:
    """Recursive descent over one token list; depth-limited so that it never overflows."""

    def __init__(self, tokens: list[Token], max_depth: int = 64) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0
        self.max_depth = max_depth
        self.fns: list[FnDef] = []
        self.in_fn = False

    # -- helpers --------------------------------------------------------------
    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t[0] != "eof":
            self.i += 1
        return t

    def is_op(self, value: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t[0] == "op" and t[1] == value

    def is_kw(self, value: str, k: int = 0) -> bool:
        t = self.peek(k)
        return t[0] == "id" and t[1] == value

    def error(self, msg: str, tok: Token | None = None) -> RhaiParseError:
        t = tok or self.peek()
        if t[0] == "eof" and not msg.startswith(("Unexpected", "Script is incomplete")):
            msg = f"Script is incomplete: {msg}"
        return RhaiParseError(msg, (t[2], t[3]))

    def expect(self, value: str, why: str) -> Token:
        t = self.peek()
        if t[0] == "op" and t[1] == value:
            return self.next()
        raise self.error(f"Expecting '{value}' {why}")

    def ident(self, what: str) -> tuple[str, Token]:
        t = self.peek()
        if t[0] != "id" or t[1] in KEYWORDS:
            raise self.error(f"Expecting {what}")
        if t[1] in RESERVED:
            raise self.error(f"'{t[1]}' is a reserved keyword")
        self.next()
        return t[1], t

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.error("Expression exceeds maximum complexity")

    # -- statements -----------------------------------------------------------
    def script(self) -> Script:
        stmts = self.statements(top=True)
        return Script(stmts, self.fns)

    def statements(self, top: bool = False) -> list[Node]:
        stmts: list[Node] = []
        while True:
            t = self.peek()
            if t[0] == "eof":
                if not top:
                    raise self.error("Expecting '}' to end this block")
                return stmts
            if not top and t[0] == "op" and t[1] == "}":
                return stmts
            if t[0] == "op" and t[1] == ";":
                self.next()
                continue
            if t[0] == "id" and t[1] in ("fn", "private"):
                if not top or self.in_fn:
                    raise self.error("Functions can only be defined at global level")
                self.function()
                continue
            s = self.statement()
            stmts.append(s)
            if self.is_op(";"):
                self.next()
            elif not (self.peek()[0] == "eof" or self.is_op("}") or self.needs_no_semi(s)):
                raise self.error("Expecting ';' to terminate this statement")

    @staticmethod
    def needs_no_semi(s: Node) -> bool:
        if s.kind in BLOCK_STMTS or s.kind == "import":
            return True
        return s.kind == "expr" and s.a[0].kind in BLOCK_STMTS

    def function(self) -> None:
        private = False
        if self.is_kw("private"):
            self.next()
            private = True
        start = self.next()
        if not (start[0] == "id" and start[1] == "fn"):
            raise self.error("Expecting 'fn' after 'private'", start)
        name, nt = self.ident("a function name")
        self.expect("(", "to start the parameters list")
        params: list[str] = []
        while not self.is_op(")"):
            p, pt = self.ident("a parameter name")
            if p in params:
                raise self.error(f"Duplicated parameter: {p}", pt)
            params.append(p)
            if not self.is_op(")"):
                self.expect(",", "to separate the parameters")
        self.next()
        if not self.is_op("{"):
            raise self.error("Expecting '{' to start the function body")
        for f in self.fns:
            if f.name == name and len(f.params) == len(params):
                raise self.error(f"Function already exists: {name} ({len(params)} parameters)", nt)
        self.in_fn = True
        body = self.block()
        self.in_fn = False
        self.fns.append(FnDef(name, params, body, (start[2], start[3]), private))

    def statement(self) -> Node:
        t = self.peek()
        pos = (t[2], t[3])
        if t[0] == "id":
            w = t[1]
            if w in ("let", "const"):
                self.next()
                name, _ = self.ident("a variable name")
                value = None
                if self.is_op("="):
                    self.next()
                    value = self.expr()
                elif w == "const":
                    raise self.error("Expecting '=' to give the constant a value")
                return Node("let", pos, name, value, w == "const")
            if w in ("break", "continue"):
                self.next()
                value = None
                if w == "break" and not self.at_end():
                    value = self.expr()
                return Node(w, pos, value)
            if w in ("return", "throw"):
                self.next()
                value = None if self.at_end() else self.expr()
                return Node(w, pos, value)
            if w == "try":
                self.next()
                body = self.block()
                if not self.is_kw("catch"):
                    raise self.error("Expecting 'catch' after the 'try' block")
                self.next()
                var = None
                if self.is_op("("):
                    self.next()
                    var, _ = self.ident("a variable name for the error")
                    self.expect(")", "to close the catch variable")
                return Node("try", pos, body, var, self.block())
            if w == "import":
                self.next()
                path = self.expr()
                alias = None
                if self.is_kw("as"):
                    self.next()
                    alias, _ = self.ident("a module alias")
                return Node("import", pos, path, alias)
            if w == "export":
                raise self.error("'export' is not supported")
        e = self.expr()
        if self.peek()[0] == "op" and self.peek()[1] in ASSIGN_OPS:
            op = self.next()[1]
            if e.kind not in PLACES:
                raise self.error("Cannot assign to an expression" if e.kind not in ("lit",)
                                 else "Cannot assign to a constant value", self.toks[self.i - 1])
            value = self.expr()
            return Node("assign", pos, op, e, value)
        return Node("expr", pos, e)

    def at_end(self) -> bool:
        t = self.peek()
        return t[0] == "eof" or (t[0] == "op" and t[1] in (";", "}", ","))

    def block(self) -> Node:
        t = self.expect("{", "to start a statement block")
        self.enter()
        stmts = self.statements()
        self.expect("}", "to end this statement block")
        self.depth -= 1
        return Node("block", (t[2], t[3]), stmts)

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


def parse(src: str, max_depth: int = 64) -> Script:
    """Parse a whole script; raises RhaiParseError naming the problem and its position."""
    try:
        return Parser(Lexer(src).tokens(), max_depth).script()
    except RecursionError:
        raise RhaiParseError("Expression exceeds maximum complexity", (1, 1)) from None
