"""Rhai source text -> tokens, each with its (line, position); never evaluates anything.

A token is a `Token(kind, value, line, col)`; kinds: `int`, `float`, `str`, `char`, `tmpl`
(a back-tick string: a list of str parts and token lists), `id`, `op`, `eof`.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from .errors import RhaiParseError


class Token(NamedTuple):
    """One token: its kind, its value and where it starts."""

    kind: str
    value: Any
    line: int
    col: int

    @property
    def pos(self) -> tuple[int, int]:
        return (self.line, self.col)

    def is_op(self, value: str) -> bool:
        return self.kind == "op" and self.value == value

    def is_kw(self, value: str) -> bool:
        return self.kind == "id" and self.value == value


# longest first so that `**=` wins over `**` and `*`
OPERATORS = sorted("""
+ - * / % ** << >> & | ^ && || ! == != < <= > >= = += -= *= /= %= **= <<= >>= &= |= ^=
?? ??= ? ?. ?[ . .. ..= ( ) [ ] { } #{ , ; : :: => !in
""".split(), key=len, reverse=True)
# symbols Rhai reserves: an error naming the symbol, never two other operators
RESERVED_SYMBOLS = ("===", "!==", "...", "->", "<-", "++", "--", ":=", "::<", "(*", "*)",
                    "<|", "|>")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\"}
_IDSTART = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_IDCHARS = _IDSTART | set("0123456789")
_HEX = set("0123456789abcdefABCDEF")
_RADIX = {"x": 16, "X": 16, "o": 8, "O": 8, "b": 2, "B": 2}
MIN_INT_TEXT = 9223372036854775808      # `-9223372036854775808` is a literal of its own


class Lexer:
    """Turns one script into tokens; errors name the line and position."""

    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.line = 1
        self.col = 1

    def error(self, msg: str, line: int | None = None, col: int | None = None) -> RhaiParseError:
        return RhaiParseError(msg, (line or self.line, col or self.col))

    def advance(self, n: int = 1) -> None:
        for _ in range(n):
            if self.src[self.i] == "\n":
                self.line += 1
                self.col = 1
            else:
                self.col += 1
            self.i += 1

    def skip_space(self) -> None:
        src, n = self.src, len(self.src)
        while self.i < n:
            c = src[self.i]
            if c in " \t\r\n":
                self.advance()
            elif src.startswith("//", self.i):
                while self.i < n and src[self.i] != "\n":
                    self.advance()
            elif src.startswith("/*", self.i):
                line, col = self.line, self.col
                depth = 0
                while True:
                    if self.i >= n:
                        raise self.error("Unterminated comment", line, col)
                    if src.startswith("/*", self.i):
                        depth += 1
                        self.advance(2)
                    elif src.startswith("*/", self.i):
                        depth -= 1
                        self.advance(2)
                        if depth == 0:
                            break
                    else:
                        self.advance()
            elif c == "#" and self.i == 0 and src.startswith("#!"):
                while self.i < n and src[self.i] != "\n":
                    self.advance()
            else:
                return

    def tokens(self, until_brace: bool = False) -> list[Token]:
        """All tokens; with until_brace, stop at the `}` closing an interpolation."""
        out: list[Token] = []
        depth = 0
        src, n = self.src, len(self.src)
        while True:
            self.skip_space()
            line, col = self.line, self.col
            if self.i >= n:
                if until_brace:
                    raise self.error("Unterminated string interpolation: expecting '}'")
                out.append(Token("eof", None, line, col))
                return out
            c = src[self.i]
            if until_brace:
                if c == "{" or src.startswith("#{", self.i):
                    depth += 1
                elif c == "}":
                    if depth == 0:
                        self.advance()
                        out.append(Token("eof", None, line, col))
                        return out
                    depth -= 1
            if c.isdigit():
                out.append(self.number(line, col, _negated(out)))
            elif c in _IDSTART:
                j = self.i
                while j < n and src[j] in _IDCHARS:
                    j += 1
                word = src[self.i:j]
                self.advance(j - self.i)
                out.append(Token("id", word, line, col))
            elif c == '"':
                out.append(Token("str", self.string('"', line, col), line, col))
            elif c == "`":
                out.append(Token("tmpl", self.template(line, col), line, col))
            elif c == "'":
                s = self.string("'", line, col)
                if len(s) != 1:
                    raise self.error("Invalid character literal: '" + s + "'", line, col)
                out.append(Token("char", s, line, col))
            elif c == "#" and src[self.i + 1:self.i + 2] in ('"', "#"):
                out.append(Token("str", self.raw_string(line, col), line, col))
            else:
                for sym in RESERVED_SYMBOLS:
                    if src.startswith(sym, self.i):
                        raise self.error(f"'{sym}' is a reserved symbol", line, col)
                for op in OPERATORS:
                    if src.startswith(op, self.i) and not (
                            op == "!in" and src[self.i + 3:self.i + 4] in _IDCHARS
                            and self.i + 3 < n):
                        self.advance(len(op))
                        out.append(Token("op", op, line, col))
                        break
                else:
                    if c in "@~$`?#":
                        raise self.error(f"Unexpected '{c}'", line, col)
                    raise self.error(f"Unknown character: {c!r}", line, col)

    def number(self, line: int, col: int, negated: bool = False) -> Token:
        src, n, i = self.src, len(self.src), self.i
        if src[i] == "0" and src[i + 1:i + 2] in _RADIX and src[i + 1:i + 2] != "":
            base = _RADIX[src[i + 1]]
            j = i + 2
            while j < n and (src[j] in _HEX or src[j] == "_"):
                j += 1
            text = src[i:j]
            if j < n and src[j] in _IDCHARS:
                raise self.error(f"Invalid number: {text}{src[j]}", line, col)
            self.advance(j - i)
            digits = text[2:].replace("_", "")
            try:
                value = int(digits, base)
            except ValueError:
                raise self.error(f"Invalid number: {text}", line, col) from None
            if value > 0xFFFFFFFFFFFFFFFF:
                raise self.error(f"Invalid number: {text}", line, col)
            if value > 0x7FFFFFFFFFFFFFFF:     # Rhai reads hex bit patterns as i64
                value -= 1 << 64
            return Token("int", value, line, col)
        j = i
        while j < n and (src[j].isdigit() or src[j] == "_"):
            j += 1
        is_float = False
        if j < n and src[j] == ".":
            nxt = src[j + 1:j + 2]
            if nxt.isdigit():
                is_float = True
                j += 1
                while j < n and (src[j].isdigit() or src[j] == "_"):
                    j += 1
            elif nxt not in ("_", ".") and (nxt == "" or nxt not in _IDSTART):
                # `1.` is the float 1.0 (unless a property or a range follows)
                self.advance(j + 1 - i)
                return Token("float", float(src[i:j].replace("_", "")), line, col)
        if j < n and src[j] in "eE":
            k = j + 1
            if k < n and src[k] in "+-":
                k += 1
            if k < n and src[k].isdigit():
                is_float = True
                j = k
                while j < n and src[j].isdigit():
                    j += 1
        text = src[i:j]
        if j < n and src[j] in _IDSTART:
            raise self.error(f"Invalid number: {text}{src[j]}", line, col)
        self.advance(j - i)
        clean = text.replace("_", "")
        if is_float:
            return Token("float", float(clean), line, col)
        value = int(clean)
        if value > 0x7FFFFFFFFFFFFFFF and not (negated and value == MIN_INT_TEXT):
            raise self.error(f"Integer overflow: {text}", line, col)
        return Token("int", value, line, col)

    def escape(self, quote: str) -> str:
        """One escape sequence of a normal string or char (the backslash is next)."""
        src = self.src
        line, col = self.line, self.col
        self.advance()  # the backslash
        if self.i >= len(src):
            raise self.error("Unterminated string")
        c = src[self.i]
        if c in _ESCAPES or c == quote:
            self.advance()
            return _ESCAPES.get(c, c)
        width = {"x": 2, "u": 4, "U": 8}.get(c)
        if width:
            digits = src[self.i + 1:self.i + 1 + width]
            try:
                if len(digits) != width or not set(digits) <= _HEX:
                    raise ValueError
                ch = chr(int(digits, 16))
            except (ValueError, OverflowError):
                raise self.error(f"Invalid escape sequence: \\{c}{digits}", line, col) from None
            self.advance(width + 1)
            return ch
        raise self.error(f"Invalid escape sequence: \\{c}", line, col)

    def string(self, quote: str, line: int, col: int) -> str:
        """A normal string (`"` with escapes, `""` for a quote, `\\` + newline continuing the
        line past the indentation of the opening quote) or a char literal (`'`)."""
        self.advance()
        parts: list[str] = []
        src, n = self.src, len(self.src)
        skip_until = 0                      # after a continuation: skip spaces before this col
        while True:
            if self.i >= n or (src[self.i] == "\n" and quote == "'"):
                raise self.error("Unterminated string" if quote == '"'
                                 else "Unterminated character literal", line, col)
            c = src[self.i]
            if c == quote:
                if quote == '"' and src[self.i + 1:self.i + 2] == '"':
                    self.advance(2)         # `""` inside a string is one `"`
                    parts.append('"')
                    skip_until = 0
                    continue
                self.advance()
                return "".join(parts)
            if c == "\\" and quote == '"' and src[self.i + 1:self.i + 2] in ("\n", "\r"):
                self.advance()              # line continuation
                if src[self.i] == "\r":
                    self.advance()
                if self.i < n and src[self.i] == "\n":
                    self.advance()
                skip_until = col + 1
                continue
            if c == "\\":
                parts.append(self.escape(quote))
                skip_until = 0
            elif c == "\n":
                raise self.error("Unterminated string", line, col)
            elif c == "\r" and src[self.i + 1:self.i + 2] == "\n":
                self.advance()
            elif skip_until and c in " \t" and self.col < skip_until:
                self.advance()
            else:
                parts.append(c)
                self.advance()
                skip_until = 0

    def raw_string(self, line: int, col: int) -> str:
        """`#"..."#`, `##"..."##`: verbatim text up to the quote and as many `#`."""
        src = self.src
        j = self.i
        while j < len(src) and src[j] == "#":
            j += 1
        hashes = j - self.i
        if src[j:j + 1] != '"':
            raise self.error("Unexpected '#'", line, col)
        close = '"' + "#" * hashes
        end = src.find(close, j + 1)
        if end < 0:
            raise self.error("Unterminated string", line, col)
        text = src[j + 1:end]
        self.advance(end + len(close) - self.i)
        return text.replace("\r\n", "\n")

    def template(self, line: int, col: int) -> list[Any]:
        """A back-tick string: verbatim (no escapes; two back-ticks are one), a newline right
        after the opening back-tick is dropped, `${ statements }` interpolates."""
        self.advance()
        src, n = self.src, len(self.src)
        if src.startswith("\r\n", self.i):
            self.advance(2)
        elif src.startswith("\n", self.i):
            self.advance()
        parts: list[Any] = []
        buf: list[str] = []
        while True:
            if self.i >= n:
                raise self.error("Unterminated string", line, col)
            c = src[self.i]
            if c == "`":
                if src[self.i + 1:self.i + 2] == "`":
                    buf.append("`")
                    self.advance(2)
                    continue
                self.advance()
                parts.append("".join(buf))
                return parts
            if src.startswith("${", self.i):
                parts.append("".join(buf))
                buf = []
                self.advance(2)
                parts.append(self.tokens(until_brace=True))
            elif c == "\r" and src[self.i + 1:self.i + 2] == "\n":
                self.advance()
            else:
                buf.append(c)
                self.advance()


def _negated(out: list[Token]) -> bool:
    """The number about to be read follows a unary minus (so it may be -2^63)."""
    if not out or not out[-1].is_op("-"):
        return False
    if len(out) == 1:
        return True
    before = out[-2]
    return (before.kind == "op" and before.value not in (")", "]", "}")) or \
        (before.kind == "id" and before.value in ("return", "throw", "in", "else"))


def tokenize(src: str) -> list[Token]:
    """All tokens of a script, ending with an `eof` token."""
    return Lexer(src).tokens()
