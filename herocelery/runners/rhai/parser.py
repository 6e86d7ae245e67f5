"""Tokens -> syntax tree with positions; errors name the problem and where it is."""
from __future__ import annotations


from .syntax import FnDef, Node, Script
from .errors import RhaiParseError
from .lexer import Lexer, Token
from .parse_expr import KEYWORDS, RESERVED, ExprParser

ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "??="}
BLOCK_STMTS = {"if", "switch", "while", "loop", "do", "for", "block", "try"}
PLACES = {"var", "index", "prop", "this"}


class Parser(ExprParser):
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
        if (t[0] == "id" and t[1] in ("if", "switch", "while", "loop", "do", "for")) or \
                (t[0] == "op" and t[1] == "{"):
            # a block-like statement ends at its closing brace: `for .. { }` then `[a, b]`
            # on the next line is a new statement, not an index
            return Node("expr", pos, self.primary())
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


def parse(src: str, max_depth: int = 64) -> Script:
    """Parse a whole script; raises RhaiParseError naming the problem and its position."""
    try:
        return Parser(Lexer(src).tokens(), max_depth).script()
    except RecursionError:
        raise RhaiParseError("Expression exceeds maximum complexity", (1, 1)) from None
