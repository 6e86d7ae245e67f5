"""Compile-time scopes: every variable gets a frame slot; captured variables live in cells."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .syntax import Call, Closure, Node
from .syntax import Var as VarNode


@dataclass
class Var:
    """A variable's frame slot; `boxed` when a closure may capture it (held in a Cell)."""

    name: str
    slot: int
    const: bool = False
    boxed: bool = False
    module: bool = False


@dataclass
class FnScope:
    """The variables of one function (or closure, or the script's top level)."""

    boxed_names: set[str]
    parent: FnScope | None = None           # set for closures only: where captures come from
    blocks: list[dict[str, Var]] = field(default_factory=lambda: [{}])
    nslots: int = 1                           # slot 0 holds `this`
    loops: int = 0
    captures: list[tuple[Var, Var]] = field(default_factory=list)   # (outer, inner)
    top: bool = False
    catch_slots: list[int] = field(default_factory=list)   # enclosing catch blocks' errors
    # `eval` support: variables an eval defines live in fr[eval_slot] = {block id: {name: v}}
    block_ids: list[int] = field(default_factory=lambda: [0])
    eval_blocks: set[int] = field(default_factory=set)     # blocks holding an eval call
    eval_slot: int | None = None
    next_block: int = 1
    no_locals: bool | None = None      # generated code keeps variables in Python locals?

    def declare(self, name: str, const: bool = False, module: bool = False) -> Var:
        v = Var(name, self.nslots, const, name in self.boxed_names, module)
        self.nslots += 1
        self.blocks[-1][name] = v
        return v

    def lookup(self, name: str) -> Var | None:
        for block in reversed(self.blocks):
            v = block.get(name)
            if v is not None:
                return v
        if self.parent is not None:
            outer = self.parent.lookup(name)
            if outer is not None and outer.boxed and not outer.module:
                inner = Var(name, self.nslots, outer.const, True)
                self.nslots += 1
                self.blocks[0][name] = inner
                self.captures.append((outer, inner))
                return inner
        return None

    def find(self, name: str) -> Var | None:
        """The variable `name` of this function's own blocks (no capture from outside)."""
        for block in reversed(self.blocks):
            v = block.get(name)
            if v is not None:
                return v
        return None

    def push(self) -> None:
        self.blocks.append({})
        self.block_ids.append(self.next_block)
        self.next_block += 1

    def pop(self) -> None:
        self.blocks.pop()
        self.block_ids.pop()

    def mark_eval(self) -> int:
        """An eval call in the current block: its variables go to this block's id."""
        if self.eval_slot is None:
            self.eval_slot = self.nslots
            self.nslots += 1
        bid = self.block_ids[-1]
        self.eval_blocks.add(bid)
        return bid

    def dyn_for(self, name: str) -> list[int]:
        """The eval blocks (innermost first) whose variables may hide the static `name` here."""
        if not self.eval_blocks:
            return []
        depth = 0
        for i in range(len(self.blocks) - 1, -1, -1):
            if name in self.blocks[i]:
                depth = i
                break
        return [self.block_ids[i] for i in range(len(self.blocks) - 1, depth - 1, -1)
                if self.block_ids[i] in self.eval_blocks]

    def in_eval_block(self) -> bool:
        return self.block_ids[-1] in self.eval_blocks

    def visible(self) -> dict[str, Var]:
        out: dict[str, Var] = {}
        for block in self.blocks:
            out.update(block)
        return out


def captured_names(nodes: Iterable[Node]) -> set[str]:
    """Names used inside any closure below these nodes (their variables must be cells)."""
    names: set[str] = set()
    for n in nodes:
        for sub in n.walk():
            if isinstance(sub, Closure):
                for x in sub.walk():
                    if isinstance(x, (VarNode, Call)):   # `f(x)` may call a captured fn pointer
                        names.add(x.name)
    return names
