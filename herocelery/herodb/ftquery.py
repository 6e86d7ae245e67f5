"""The query language of FT.SEARCH (and of VEC.SEARCH's FILTER), parsed into a small tree.

Pure: text in, `Node` out, or a `QueryError` naming the offset and what was expected. The
syntax follows RediSearch's:

    hello world            both words (juxtaposition is AND; `AND` may be written too)
    hello | world          either (`OR` too)
    -hello  /  NOT hello   without
    "quick brown fox"      a phrase (the words next to each other, in order)
    hel*                   a prefix
    @title:hello           a word in one field (also @title:"a phrase", @title:hel*,
                           @title:(a | b))
    @tags:{red | New York} a TAG field holding one of the tags
    @year:[2000 2010]      a NUMERIC field in a range; `(` before a bound excludes it,
                           `-inf` / `+inf` leave a side open
    ( ... )                grouping;  *  alone: every document

`backend`s (fulltext.py for tantivy, vectors.py for metadata filters) turn the tree into
their own queries.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MAX_QUERY_BYTES = 64 * 1024
MAX_DEPTH = 64
SPECIAL = set('()|{}[]"@*')


class QueryError(ValueError):
    """A malformed query: `offset` is where in the text it went wrong."""

    def __init__(self, message: str, offset: int, text: str = "") -> None:
        near = text[offset:offset + 20]
        where = f" at offset {offset}" + (f" near '{near}'" if near else " (end of query)")
        super().__init__(f"Syntax error{where}: {message}")
        self.offset = offset


@dataclass(frozen=True)
class Word:
    field: str | None
    text: str


@dataclass(frozen=True)
class Phrase:
    field: str | None
    text: str


@dataclass(frozen=True)
class Prefix:
    field: str | None
    text: str


@dataclass(frozen=True)
class Tags:
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Range:
    field: str
    low: float
    high: float
    low_inclusive: bool = True
    high_inclusive: bool = True


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class All:
    pass


Node = Word | Phrase | Prefix | Tags | Range | And | Or | Not | All


def parse(text: str) -> Node:
    """The tree of a query; QueryError when it is malformed or empty."""
    if len(text.encode()) > MAX_QUERY_BYTES:
        raise QueryError(f"the query is longer than {MAX_QUERY_BYTES} bytes", 0)
    p = _Parser(text)
    p.skip()
    if p.at_end():
        raise QueryError("the query is empty (use * for every document)", 0, text)
    node = p.or_expr(None, 0)
    p.skip()
    if not p.at_end():
        raise QueryError("unexpected character", p.pos, text)
    return node


def fields_of(node: Node) -> set[str]:
    """Every field name a query names (to check them against a schema)."""
    if isinstance(node, (Word, Phrase, Prefix)):
        return {node.field} if node.field else set()
    if isinstance(node, (Tags, Range)):
        return {node.field}
    if isinstance(node, (And, Or)):
        return set().union(*(fields_of(i) for i in node.items))
    if isinstance(node, Not):
        return fields_of(node.item)
    return set()


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # ---- scanning ----------------------------------------------------------------------------
    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def error(self, message: str, offset: int | None = None) -> QueryError:
        return QueryError(message, self.pos if offset is None else offset, self.text)

    def keyword(self, word: str) -> bool:
        """True (and consumed) when the next bare word is the operator `word` (upper case)."""
        end = self.pos + len(word)
        if self.text[self.pos:end] == word and (end >= len(self.text) or self.text[end].isspace()
                                                or self.text[end] in '("@-'):
            self.pos = end
            return True
        return False

    # ---- grammar -----------------------------------------------------------------------------
    def or_expr(self, field: str | None, depth: int) -> Node:
        if depth > MAX_DEPTH:
            raise self.error(f"the query nests deeper than {MAX_DEPTH} levels")
        items = [self.and_expr(field, depth)]
        while True:
            self.skip()
            if self.peek() == "|":
                self.pos += 1
            elif not self.keyword("OR"):
                break
            self.skip()
            items.append(self.and_expr(field, depth))
        return items[0] if len(items) == 1 else Or(tuple(items))

    def and_expr(self, field: str | None, depth: int) -> Node:
        items: list[Node] = []
        while True:
            self.skip()
            ch = self.peek()
            if not ch or ch in ")|" or (self.text.startswith("OR", self.pos)
                                        and self._op("OR")):
                break  # the end of this AND group
            if self.keyword("AND"):
                if not items:
                    raise self.error("AND needs something on its left")
                self.skip()
                if not self.peek() or self.peek() in ")|":
                    raise self.error("AND needs something on its right")
                continue
            items.append(self.unary(field, depth))
        if not items:
            raise self.error("expected a word, a phrase, a @field condition or '('")
        return items[0] if len(items) == 1 else And(tuple(items))

    def _op(self, word: str) -> bool:
        end = self.pos + len(word)
        return end >= len(self.text) or self.text[end].isspace() or self.text[end] in '("@-'

    def unary(self, field: str | None, depth: int) -> Node:
        self.skip()
        if self.peek() == "-":
            self.pos += 1
            return Not(self.unary(field, depth + 1))
        if self.keyword("NOT"):
            self.skip()
            return Not(self.unary(field, depth + 1))
        return self.primary(field, depth)

    def primary(self, field: str | None, depth: int) -> Node:
        ch = self.peek()
        start = self.pos
        if ch == "(":
            self.pos += 1
            node = self.or_expr(field, depth + 1)
            self.skip()
            if self.peek() != ")":
                raise self.error(f"expected ')' to close the '(' at offset {start}")
            self.pos += 1
            return node
        if ch == "@":
            if field is not None:
                raise self.error("a @field condition cannot be nested inside another field's")
            return self.field_expr(depth)
        if ch == '"':
            return Phrase(field, self.quoted())
        if ch == "*":
            self.pos += 1
            if field is not None:
                raise self.error("'*' alone matches every document; it takes no field", start)
            return All()
        if ch in "{[":
            raise self.error(f"'{ch}' must follow a @field: (tags {{..}} or a range [..])")
        if ch in ")]}":
            raise self.error(f"unexpected '{ch}'")
        word = self.word()
        if self.peek() == "*":
            self.pos += 1
            return Prefix(field, word)
        return Word(field, word)

    def field_expr(self, depth: int) -> Node:
        self.pos += 1  # '@'
        start = self.pos
        while self.pos < len(self.text) and (self.text[self.pos].isalnum()
                                             or self.text[self.pos] == "_"):
            self.pos += 1
        name = self.text[start:self.pos]
        if not name:
            raise self.error("expected a field name after '@'")
        if self.peek() != ":":
            raise self.error(f"expected ':' after @{name}")
        self.pos += 1
        self.skip()
        ch = self.peek()
        if ch == "{":
            return Tags(name, self.tags())
        if ch == "[":
            return self.range(name)
        if ch == "(":
            return self.primary(name, depth)
        if ch == "-":
            raise self.error(f"write -@{name}:... to negate a field condition")
        if not ch:
            raise self.error(f"expected a value after @{name}:")
        return self.primary(name, depth)

    def quoted(self) -> str:
        start = self.pos
        self.pos += 1
        out = []
        while self.pos < len(self.text) and self.text[self.pos] != '"':
            if self.text[self.pos] == "\\" and self.pos + 1 < len(self.text):
                self.pos += 1
            out.append(self.text[self.pos])
            self.pos += 1
        if self.pos >= len(self.text):
            raise self.error("unterminated phrase (a '\"' is missing)", start)
        self.pos += 1
        return "".join(out)

    def word(self) -> str:
        out = []
        while self.pos < len(self.text):
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                out.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            if ch.isspace() or ch in SPECIAL:
                break
            out.append(ch)
            self.pos += 1
        if not out:
            raise self.error("expected a word")
        return "".join(out)

    def tags(self) -> tuple[str, ...]:
        start = self.pos
        self.pos += 1  # '{'
        values, current = [], []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated tag list (a '}' is missing)", start)
            ch = self.text[self.pos]
            if ch == "\\" and self.pos + 1 < len(self.text):
                current.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if ch in "|}":
                tag = "".join(current).strip()
                if not tag:
                    raise self.error("empty tag in {...}", self.pos - 1)
                values.append(tag)
                current = []
                if ch == "}":
                    return tuple(values)
            else:
                current.append(ch)

    def range(self, name: str) -> Range:
        start = self.pos
        self.pos += 1  # '['
        bounds: list[tuple[float, bool]] = []
        while True:
            self.skip()
            if self.peek() == "]":
                self.pos += 1
                break
            if self.at_end():
                raise self.error("unterminated range (a ']' is missing)", start)
            inclusive = True
            if self.peek() == "(":
                inclusive = False
                self.pos += 1
            begin = self.pos
            while self.pos < len(self.text) and not self.text[self.pos].isspace() \
                    and self.text[self.pos] not in "]":
                self.pos += 1
            raw = self.text[begin:self.pos]
            try:
                value = float(raw)
            except ValueError:
                raise self.error(f"{raw!r} is not a number", begin) from None
            if math.isnan(value):
                raise self.error("NaN is not a bound", begin)
            bounds.append((value, inclusive))
        if len(bounds) != 2:
            raise self.error(f"a range needs two bounds [low high], got {len(bounds)}", start)
        (low, li), (high, hi) = bounds
        return Range(name, low, high, li, hi)
