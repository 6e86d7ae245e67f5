"""The syntax tree: one small node type, its kind names the construct; no behaviour here."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

Pos = tuple[int, int]


class Node:
    """A construct of the script: `kind` (e.g. "bin", "call"), its position and fields."""

    __slots__ = ("kind", "pos", "a")

    def __init__(self, kind: str, pos: Pos, *a: Any) -> None:
        self.kind = kind
        self.pos = pos
        self.a = a

    def __repr__(self) -> str:
        return f"{self.kind}{self.a!r}"

    def walk(self) -> Iterator["Node"]:
        """This node and every node below it."""
        yield self
        stack: list[Any] = list(self.a)
        while stack:
            x = stack.pop()
            if isinstance(x, Node):
                yield x
                stack.extend(x.a)
            elif isinstance(x, (list, tuple)):
                stack.extend(x)
            elif isinstance(x, FnDef):
                stack.append(x.body)


@dataclass
class FnDef:
    """`fn name(params) { body }`; `private` functions are hidden from modules' users."""

    name: str
    params: list[str]
    body: Node
    pos: Pos
    private: bool = False


@dataclass
class Script:
    """A parsed script: its top-level statements and its functions."""

    stmts: list[Node]
    fns: list[FnDef] = field(default_factory=list)
