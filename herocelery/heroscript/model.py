"""The parsed form of HeroScript: actions with positions, and the text around them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import HeroScriptError

# number of leading '!' -> kind (HEROSCRIPT.md §2)
KINDS: dict[int, str] = {1: "dal", 2: "sal", 3: "macro", 4: "wal"}
BANGS: dict[str, int] = {v: k for k, v in KINDS.items()}

DEFAULT_PRIORITY = 50


@dataclass(slots=True)
class Action:
    """One action: `!!actor.name` with ordered params, positional args and positions.

    `params` values are always strings (typed when read); `param_pos` maps each key to the
    (line, column) where the key starts; lines and columns are 1-based.
    """

    kind: str
    actor: str
    name: str
    params: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    param_comments: dict[str, str] = field(default_factory=dict)
    file: str = "<text>"
    line: int = 0
    column: int = 0
    param_pos: dict[str, tuple[int, int]] = field(default_factory=dict)
    source_line: str = ""
    id: int = 0
    priority: int = DEFAULT_PRIORITY
    done: bool = False
    result: Any = None

    @property
    def full_name(self) -> str:
        return f"{self.actor}.{self.name}"

    @property
    def bangs(self) -> int:
        return BANGS[self.kind]

    def where(self, key: str | None = None) -> str:
        """`file:line:col` of the action head, or of param `key` when it has a position."""
        line, col = self.param_pos.get(key, (self.line, self.column)) if key else \
            (self.line, self.column)
        return f"{self.file}:{line}:{col}"

    def error(self, reason: str, key: str | None = None) -> HeroScriptError:
        """A HeroScriptError positioned at this action (or at its param `key`)."""
        line, col = self.line, self.column
        if key is not None and key in self.param_pos:
            line, col = self.param_pos[key]
        return HeroScriptError(reason, file=self.file, line=line, column=col,
                               source_line=self.source_line or None)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view used by `herocelery heroscript parse --json`."""
        return {"kind": self.kind, "actor": self.actor, "name": self.name,
                "params": dict(self.params), "args": list(self.args),
                "comments": list(self.comments),
                "param_comments": dict(self.param_comments),
                "file": self.file, "line": self.line, "column": self.column,
                "param_positions": {k: list(v) for k, v in self.param_pos.items()},
                "id": self.id, "priority": self.priority}


@dataclass(slots=True)
class Text:
    """Lines that are not actions (Markdown around the actions, stray comments), kept as is."""

    lines: list[str]
    line: int


Item = Action | Text
