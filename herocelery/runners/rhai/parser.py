"""Tokens -> syntax tree with positions; errors name the problem and where it is.

`TokenStream` holds the position in the token list and the depth limit; `Parser` parses
statements and functions and hands expressions to its `ExprParser` (parse_expr.py), which
hands blocks back: two objects, one stream, no inheritance.
"""
from __future__ import annotations

from .errors import RhaiParseError
from .lexer import Lexer, Token
from .parse_expr import KEYWORDS, RESERVED, ExprParser
from .syntax import (
    BLOCKISH,
    PLACES,
    Assign,
    Block,
    Break,
    Continue,
    Export,
    ExprStmt,
    FnDef,
    Import,
    Let,
    Lit,
    Node,
    Return,
    Script,
    Throw,
    Try,
)

ASSIGN_OPS = {"=", "+=", "-=", "*=", "/=", "%=", "**=", "<<=", ">>=", "&=", "|=", "^=", "??="}
NO_SEMI = BLOCKISH + (Try, Import)


class TokenStream:
    """A token list being read: look-ahead, expectations, the nesting depth limit."""

    def __init__(self, tokens: list[Token], max_depth: int = 64) -> None:
        self.toks = tokens
        self.i = 0
        self.depth = 0
        self.max_depth = max_depth

    def peek(self, k: int = 0) -> Token:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def prev(self) -> Token:
        return self.toks[self.i - 1]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != "eof":
            self.i += 1
        return t

    def is_op(self, value: str, k: int = 0) -> bool:
        return self.peek(k).is_op(value)

    def is_kw(self, value: str, k: int = 0) -> bool:
        return self.peek(k).is_kw(value)

    def at_eof(self) -> bool:
        return self.peek().kind == "eof"

    def error(self, msg: str, tok: Token | None = None) -> RhaiParseError:
        t = tok or self.peek()
        if t.kind == "eof" and not msg.startswith(("Unexpected", "Script is incomplete")):
            msg = f"Script is incomplete: {msg}"
        return RhaiParseError(msg, t.pos)

    def expect(self, value: str, why: str) -> Token:
        if self.is_op(value):
            return self.next()
        raise self.error(f"Expecting '{value}' {why}")

    def ident(self, what: str) -> tuple[str, Token]:
        t = self.peek()
        if t.kind != "id" or t.value in KEYWORDS:
            raise self.error(f"Expecting {what}")
        if t.value in RESERVED:
            raise self.error(f"'{t.value}' is a reserved keyword")
        self.next()
        return t.value, t

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.max_depth:
            raise self.error("Expression exceeds maximum complexity")

    def leave(self) -> None:
        self.depth -= 1


class Parser:
    """Recursive descent over one token list; depth-limited so that it never overflows."""

    def __init__(self, tokens: list[Token], max_depth: int = 64) -> None:
        self.ts = TokenStream(tokens, max_depth)
        self.exprs = ExprParser(self.ts, self)
        self.fns: list[FnDef] = []
        self.in_fn = False

    def expr(self) -> Node:
        return self.exprs.expr()

    # -- statements -----------------------------------------------------------
    def script(self) -> Script:
        stmts = self.statements(top=True)
        return Script(stmts, self.fns)

    def statements(self, top: bool = False) -> list[Node]:
        ts = self.ts
        stmts: list[Node] = []
        while True:
            t = ts.peek()
            if t.kind == "eof":
                if not top:
                    raise ts.error("Expecting '}' to end this block")
                return stmts
            if not top and t.is_op("}"):
                return stmts
            if t.is_op(";"):
                ts.next()
                continue
            if t.kind == "id" and t.value in ("fn", "private"):
                if not top or self.in_fn:
                    raise ts.error("Functions can only be defined at global level")
                self.function()
                continue
            s = self.statement(top)
            stmts.append(s)
            if ts.is_op(";"):
                ts.next()
            elif not (ts.at_eof() or ts.is_op("}") or self.needs_no_semi(s)):
                raise ts.error("Expecting ';' to terminate this statement")

    @staticmethod
    def needs_no_semi(s: Node) -> bool:
        if isinstance(s, NO_SEMI):
            return True
        return isinstance(s, ExprStmt) and isinstance(s.expr, BLOCKISH)

    def function(self) -> None:
        ts = self.ts
        private = False
        if ts.is_kw("private"):
            ts.next()
            private = True
        start = ts.next()
        if not start.is_kw("fn"):
            raise ts.error("Expecting 'fn' after 'private'", start)
        name, nt = ts.ident("a function name")
        ts.expect("(", "to start the parameters list")
        params: list[str] = []
        while not ts.is_op(")"):
            p, pt = ts.ident("a parameter name")
            if p in params:
                raise ts.error(f"Duplicated parameter: {p}", pt)
            params.append(p)
            if not ts.is_op(")"):
                ts.expect(",", "to separate the parameters")
        ts.next()
        if not ts.is_op("{"):
            raise ts.error("Expecting '{' to start the function body")
        for f in self.fns:
            if f.name == name and len(f.params) == len(params):
                raise ts.error(f"Function already exists: {name} ({len(params)} parameters)", nt)
        self.in_fn = True
        body = self.block()
        self.in_fn = False
        self.fns.append(FnDef(name, params, body, start.pos, private))

    def statement(self, top: bool = False) -> Node:
        ts = self.ts
        t = ts.peek()
        pos = t.pos
        if t.kind == "id":
            w = t.value
            if w in ("let", "const"):
                ts.next()
                return self.let(pos, w == "const", export=False)
            if w in ("break", "continue"):
                ts.next()
                if w == "continue":
                    return Continue(pos)
                return Break(pos, None if self.at_end() else self.expr())
            if w in ("return", "throw"):
                ts.next()
                value = None if self.at_end() else self.expr()
                return Return(pos, value) if w == "return" else Throw(pos, value)
            if w == "try":
                ts.next()
                body = self.block()
                if not ts.is_kw("catch"):
                    raise ts.error("Expecting 'catch' after the 'try' block")
                ts.next()
                var = None
                if ts.is_op("("):
                    ts.next()
                    var, _ = ts.ident("a variable name for the error")
                    ts.expect(")", "to close the catch variable")
                return Try(pos, body, var, self.block())
            if w == "import":
                ts.next()
                path = self.expr()
                alias = None
                if ts.is_kw("as"):
                    ts.next()
                    alias, _ = ts.ident("a module alias")
                return Import(pos, path, alias)
            if w == "export":
                return self.export(pos, top)
        if (t.kind == "id" and t.value in ("if", "switch", "while", "loop", "do", "for")) or \
                t.is_op("{"):
            # a block-like statement ends at its closing brace: `for .. { }` then `[a, b]`
            # on the next line is a new statement, not an index
            return ExprStmt(pos, self.exprs.primary())
        e = self.expr()
        nt = ts.peek()
        if nt.kind == "op" and nt.value in ASSIGN_OPS:
            op = ts.next().value
            if not isinstance(e, PLACES):
                raise ts.error("Cannot assign to an expression" if not isinstance(e, Lit)
                               else "Cannot assign to a constant value", ts.prev())
            return Assign(pos, op, e, self.expr())
        return ExprStmt(pos, e)

    def let(self, pos: tuple[int, int], const: bool, export: bool) -> Let:
        ts = self.ts
        name, _ = ts.ident("a variable name")
        value = None
        if ts.is_op("="):
            ts.next()
            value = self.expr()
        elif const:
            raise ts.error("Expecting '=' to give the constant a value")
        return Let(pos, name, value, const, export)

    def export(self, pos: tuple[int, int], top: bool) -> Node:
        """`export let x = ..`, `export const X = ..`, `export x as y`."""
        ts = self.ts
        ts.next()
        if not top or self.in_fn:
            raise ts.error("Export statement can only appear at global level")
        if ts.is_kw("let") or ts.is_kw("const"):
            return self.let(pos, ts.next().value == "const", export=True)
        items: list[tuple[str, str]] = []
        while True:
            name, _ = ts.ident("a variable name to export")
            alias = name
            if ts.is_kw("as"):
                ts.next()
                alias, _ = ts.ident("an alias for the exported variable")
            items.append((name, alias))
            if not ts.is_op(","):
                return Export(pos, items)
            ts.next()

    def at_end(self) -> bool:
        t = self.ts.peek()
        return t.kind == "eof" or (t.kind == "op" and t.value in (";", "}", ","))

    def block(self) -> Block:
        ts = self.ts
        t = ts.expect("{", "to start a statement block")
        ts.enter()
        stmts = self.statements()
        ts.expect("}", "to end this statement block")
        ts.leave()
        return Block(t.pos, stmts)


def parse(src: str, max_depth: int = 64) -> Script:
    """Parse a whole script; raises RhaiParseError naming the problem and its position."""
    try:
        return Parser(Lexer(src).tokens(), max_depth).script()
    except RecursionError:
        raise RhaiParseError("Expression exceeds maximum complexity", (1, 1)) from None
