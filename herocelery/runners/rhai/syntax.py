"""The syntax tree: one small class per construct, each with its position; no behaviour here.

Expressions and statements are separate classes (an expression in statement position is an
`ExprStmt`). `walk()` visits a node and everything below it, closures and functions included.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

Pos = tuple[int, int]


class Node:
    """Base of every construct; subclasses are dataclasses whose first field is `pos`.

    `repr()` is a compact dump, `kind(field, ...)` (e.g. `bin('+', lit(1,), var('x',))`), and
    `a` the fields after `pos` as a tuple: both for reading trees in tests and by eye only;
    the compiler reads the named fields.
    """

    __slots__ = ()
    pos: Pos
    KIND = "node"

    @property
    def a(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in _field_names(type(self)))

    def __repr__(self) -> str:
        return f"{self.KIND}{self.a!r}"

    def children(self) -> Iterator[Node]:
        """The nodes directly below this one (in lists and tuples too)."""
        for name in _field_names(type(self)):
            yield from _nodes_in(getattr(self, name))

    def walk(self) -> Iterator[Node]:
        """This node and every node below it."""
        stack: list[Node] = [self]
        while stack:
            n = stack.pop()
            yield n
            stack.extend(n.children())


_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls) if f.name != "pos")
    return names


def _nodes_in(x: Any) -> Iterator[Node]:
    if isinstance(x, Node):
        yield x
    elif isinstance(x, (list, tuple)):
        for y in x:
            yield from _nodes_in(y)
    elif isinstance(x, FnDef):
        yield x.body


# -- expressions ---------------------------------------------------------------------------
@dataclass(eq=False, slots=True, repr=False)
class Lit(Node):
    """A constant: int, float, bool, string, char or ()."""
    KIND = "lit"
    pos: Pos
    value: Any


@dataclass(eq=False, slots=True, repr=False)
class Var(Node):
    KIND = "var"
    pos: Pos
    name: str


@dataclass(eq=False, slots=True, repr=False)
class This(Node):
    KIND = "this"
    pos: Pos


@dataclass(eq=False, slots=True, repr=False)
class NsVar(Node):
    """`ns::name` (a module's constant, or `global::NAME`)."""
    KIND = "nsvar"
    pos: Pos
    ns: str
    name: str


@dataclass(eq=False, slots=True, repr=False)
class Tmpl(Node):
    """A back-tick string: text parts and interpolated expressions."""
    KIND = "tmpl"
    pos: Pos
    parts: list[str | Node]


@dataclass(eq=False, slots=True, repr=False)
class ArrayLit(Node):
    KIND = "array"
    pos: Pos
    items: list[Node]


@dataclass(eq=False, slots=True, repr=False)
class MapLit(Node):
    KIND = "map"
    pos: Pos
    items: list[tuple[str, Node]]


@dataclass(eq=False, slots=True, repr=False)
class Unary(Node):
    KIND = "unary"
    pos: Pos
    op: str
    operand: Node


@dataclass(eq=False, slots=True, repr=False)
class Bin(Node):
    """A binary operator other than `&&` and `||`."""
    KIND = "bin"
    pos: Pos
    op: str
    left: Node
    right: Node


@dataclass(eq=False, slots=True, repr=False)
class And(Node):
    KIND = "and"
    pos: Pos
    left: Node
    right: Node


@dataclass(eq=False, slots=True, repr=False)
class Or(Node):
    KIND = "or"
    pos: Pos
    left: Node
    right: Node


@dataclass(eq=False, slots=True, repr=False)
class Index(Node):
    """`obj[idx]`, or `obj?[idx]` when safe."""
    KIND = "index"
    pos: Pos
    obj: Node
    idx: Node
    safe: bool


@dataclass(eq=False, slots=True, repr=False)
class Prop(Node):
    """`obj.name`, or `obj?.name` when safe."""
    KIND = "prop"
    pos: Pos
    obj: Node
    name: str
    safe: bool


@dataclass(eq=False, slots=True, repr=False)
class Method(Node):
    """`obj.name(args)`, or `obj?.name(args)` when safe."""
    KIND = "method"
    pos: Pos
    obj: Node
    name: str
    args: list[Node]
    safe: bool


@dataclass(eq=False, slots=True, repr=False)
class Call(Node):
    """`name(args)`; `ns::name(args)` when ns is set; `name!(args)` when bang."""
    KIND = "call"
    pos: Pos
    name: str
    args: list[Node]
    ns: str | None = None
    bang: bool = False


@dataclass(eq=False, slots=True, repr=False)
class Closure(Node):
    KIND = "closure"
    pos: Pos
    params: list[str]
    body: Node


@dataclass(eq=False, slots=True, repr=False)
class Block(Node):
    KIND = "block"
    pos: Pos
    stmts: list[Node]


@dataclass(eq=False, slots=True, repr=False)
class If(Node):
    KIND = "if"
    pos: Pos
    cond: Node
    then: Block
    other: Block | If | None


@dataclass(eq=False, slots=True)
class SwitchCase:
    """One `pat | pat if cond => body` arm."""
    pats: list[Node]
    cond: Node | None
    body: Node


@dataclass(eq=False, slots=True, repr=False)
class Switch(Node):
    KIND = "switch"
    pos: Pos
    subject: Node
    cases: list[SwitchCase]
    default: Node | None

    def children(self) -> Iterator[Node]:
        yield self.subject
        for c in self.cases:
            yield from c.pats
            if c.cond is not None:
                yield c.cond
            yield c.body
        if self.default is not None:
            yield self.default


@dataclass(eq=False, slots=True, repr=False)
class While(Node):
    """`while cond { }`; `loop { }` when cond is None."""
    KIND = "while"
    pos: Pos
    cond: Node | None
    body: Block


@dataclass(eq=False, slots=True, repr=False)
class Do(Node):
    """`do { } while cond` or, when until, `do { } until cond`."""
    KIND = "do"
    pos: Pos
    body: Block
    cond: Node
    until: bool


@dataclass(eq=False, slots=True, repr=False)
class For(Node):
    """`for var in iterable { }` or `for (var, counter) in iterable { }`."""
    KIND = "for"
    pos: Pos
    var: str
    counter: str | None
    iterable: Node
    body: Block


@dataclass(eq=False, slots=True, repr=False)
class Try(Node):
    """`try { } catch (var) { }` (a statement, or the value of a block's last statement)."""
    KIND = "try"
    pos: Pos
    body: Block
    var: str | None
    catch: Block


# -- statements ----------------------------------------------------------------------------
@dataclass(eq=False, slots=True, repr=False)
class ExprStmt(Node):
    KIND = "expr"
    pos: Pos
    expr: Node


@dataclass(eq=False, slots=True, repr=False)
class Let(Node):
    KIND = "let"
    pos: Pos
    name: str
    value: Node | None
    const: bool
    export: bool = False


@dataclass(eq=False, slots=True, repr=False)
class Assign(Node):
    KIND = "assign"
    pos: Pos
    op: str                     # "=", "+=", ... "??="
    target: Node
    value: Node


@dataclass(eq=False, slots=True, repr=False)
class Break(Node):
    KIND = "break"
    pos: Pos
    value: Node | None


@dataclass(eq=False, slots=True, repr=False)
class Continue(Node):
    KIND = "continue"
    pos: Pos


@dataclass(eq=False, slots=True, repr=False)
class Return(Node):
    KIND = "return"
    pos: Pos
    value: Node | None


@dataclass(eq=False, slots=True, repr=False)
class Throw(Node):
    KIND = "throw"
    pos: Pos
    value: Node | None


@dataclass(eq=False, slots=True, repr=False)
class Import(Node):
    KIND = "import"
    pos: Pos
    path: Node
    alias: str | None


@dataclass(eq=False, slots=True, repr=False)
class Export(Node):
    """`export x, y as z;` (module variables made visible to importers, under aliases)."""
    KIND = "export"
    pos: Pos
    items: list[tuple[str, str]]


Expr = (Lit | Var | This | NsVar | Tmpl | ArrayLit | MapLit | Unary | Bin | And | Or | Index | Prop
        | Method | Call | Closure | Block | If | Switch | While | Do | For | Try)
Stmt = ExprStmt | Let | Assign | Break | Continue | Return | Throw | Try | Import | Export

BLOCKISH = (If, Switch, While, Do, For, Block)   # block-like expressions
LOOPS = (While, Do, For)
PLACES = (Var, Index, Prop, This)                # what may be assigned to


@dataclass
class FnDef:
    """`fn name(params) { body }`; `private` functions are hidden from modules' users."""

    name: str
    params: list[str]
    body: Block
    pos: Pos
    private: bool = False


@dataclass
class Script:
    """A parsed script: its top-level statements and its functions."""

    stmts: list[Node]
    fns: list[FnDef] = field(default_factory=list)
