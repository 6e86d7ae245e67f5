"""The parsed form of HeroScript: actions with positions, and the text around them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import HeroScriptError

# number of leading '!' -> kind (HEROSCRIPT.md §2)
KINDS: dict[int, str] = {1: "dal", 2: "sal", 3: "macro", 4: "wal"}
BANGS: dict[str, int] = {v: k for k, v in KINDS.items()}

DEFAULT_PRIORITY = 50


def line_of(text: str | None, n: int) -> str:
    """Line `n` (1-based) of `text`, "" when unknown; only used to report errors."""
    if not text or n < 1:
        return ""
    start = 0
    for _ in range(n - 1):
        start = text.find("\n", start) + 1
        if start == 0:
            return ""
    end = text.find("\n", start)
    return text[start:end if end >= 0 else None]


@dataclass(slots=True)
class Action:
    """One action: `!!actor.name` with ordered params, positional args and positions.

    `params` values are always strings (typed when read). `param_pos` gives, for each key,
    the 1-based (line, column) where the key starts; positions are kept compactly
    (`pos`: key, line offset from the head, column, repeated) because playbooks are big.
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
    pos: list[Any] = field(default_factory=list, repr=False)
    text: str | None = field(default=None, repr=False)   # the parsed text, shared
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

    @property
    def param_pos(self) -> dict[str, tuple[int, int]]:
        p = self.pos
        return {p[i]: (self.line + p[i + 1], p[i + 2]) for i in range(0, len(p), 3)}

    def set_param_pos(self, key: str, line: int, column: int) -> None:
        p = self.pos
        for i in range(0, len(p), 3):
            if p[i] == key:
                p[i + 1], p[i + 2] = line - self.line, column
                return
        p.extend((key, line - self.line, column))

    @property
    def source_line(self) -> str:
        """The head line as parsed ("" when the text is not kept)."""
        return line_of(self.text, self.line)

    def _at(self, key: str | None) -> tuple[int, int, str]:
        if key is not None:
            p = self.pos
            for i in range(0, len(p), 3):
                if p[i] == key:
                    line = self.line + p[i + 1]
                    return line, p[i + 2], line_of(self.text, line)
        return self.line, self.column, self.source_line

    def where(self, key: str | None = None) -> str:
        """`file:line:col` of the action head, or of param `key` when it has a position."""
        line, col, _ = self._at(key)
        return f"{self.file}:{line}:{col}"

    def error(self, reason: str, key: str | None = None) -> HeroScriptError:
        """A HeroScriptError positioned at this action (or at its param `key`)."""
        line, col, src = self._at(key)
        return HeroScriptError(reason, file=self.file, line=line, column=col,
                               source_line=src or None)

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
