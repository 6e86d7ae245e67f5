"""Actions -> canonical HeroScript text, and stable hashes of that text.

Guarantee: for every action the parser can produce, `parse(serialize(a))` gives an action
with the same kind, actor, name, params, args and comments, hence the same `action_hash`.
Limits (values the text form cannot carry): a multi-line value whose every line starts
with white space loses that common indentation, white-space-only lines of a multi-line
value become empty, and TABs are read as four spaces.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from .model import BANGS, Action, Item, Text

INLINE_MAX = 100
INDENT = "    "
SAFE_VALUE = re.compile(r"[A-Za-z0-9_.\-@+%~*?][A-Za-z0-9_.\-@+%~/:,=#&?!*(){}$<>;|^]*\Z")
BACKSLASH = re.compile(r"\\(?=['\"\\]|\Z)")   # backslashes that need escaping in quotes
SAFE_ARG = re.compile(r"[A-Za-z0-9_.\-@+%~*?][A-Za-z0-9_.\-@+%~/,=#&?!*(){}$<>;|^]*\Z")


def quote_line(text: str) -> str:
    """Any one-line text as a quoted value that parses back to exactly `text`."""
    escaped = BACKSLASH.sub(r"\\\\", text)
    if "'" in text and '"' not in text:
        return '"' + escaped + '"'
    return "'" + escaped.replace("'", "\\'") + "'"


def quote(value: str) -> str | None:
    """The single-line text form of a value, or None when it needs a multi-line block."""
    if "\n" in value:
        return None
    if SAFE_VALUE.match(value) and value[-1] != ",":   # a trailing comma continues a list
        return value
    return quote_line(value)


def _block(key: str, value: str, indent: str) -> list[str]:
    lines = value.split("\n")
    q = "'''" if any(s.strip() in ("'", '"') for s in lines) else "'"
    if q == "'''" and any(s.strip() == "'''" for s in lines):
        q = '"""'
    inner = indent + INDENT
    out = [f"{indent}{key}:{q}"]
    out.extend(inner + s if s else "" for s in lines)
    out.append(inner + q)
    return out


def _arg(arg: str) -> str:
    if SAFE_ARG.match(arg) and not arg.startswith("//"):
        return arg
    return quote_line(arg)


def serialize_action(action: Action, *, comments: bool = True) -> str:
    """Canonical text of one action: comments, head, args, params (inline when short)."""
    head = "!" * BANGS[action.kind] + f"{action.actor}.{action.name}"
    if action.args:
        head += " " + " ".join(_arg(a) for a in action.args)
    out = [f"// {c}" if c else "//" for c in action.comments] if comments else []
    quoted = {k: quote(v) for k, v in action.params.items()}
    has_notes = comments and bool(action.param_comments)
    inline = " ".join(f"{k}:{q}" for k, q in quoted.items() if q is not None)
    if not has_notes and None not in quoted.values() and \
            len(head) + 1 + len(inline) <= INLINE_MAX:
        out.append(f"{head} {inline}" if inline else head)
        return "\n".join(out)
    out.append(head)
    for key, q in quoted.items():
        if q is None:
            out.extend(_block(key, action.params[key], INDENT))
            continue
        line = f"{INDENT}{key}:{q}"
        note = action.param_comments.get(key) if comments else None
        out.append(f"{line} // {note}" if note is not None else line)
    return "\n".join(out)


def serialize(items: Iterable[Item]) -> str:
    """Canonical text of a document: items separated by one blank line, newline at end."""
    parts: list[str] = []
    for item in items:
        if isinstance(item, Text):
            lines = list(item.lines)
            while lines and not lines[-1].strip():
                lines.pop()
            if lines:
                parts.append("\n".join(lines))
        else:
            parts.append(serialize_action(item))
    if not parts:
        return ""
    text = "\n\n".join(parts) + "\n"
    # text whose every line is indented (its column-0 neighbour was a dropped comment) would
    # be dedented when read again: write it dedented, so formatting is idempotent
    base = min((len(m.group(1)) for m in _INDENTS.finditer(text)), default=0)
    if base:
        text = "\n".join(line[base:] for line in text.split("\n"))
    return text


_INDENTS = re.compile(r"^([ ]*)\S", re.M)   # as the parser measures the common indentation


def action_hash(action: Action) -> str:
    """Stable digest of the action's meaning (its canonical text without comments)."""
    text = serialize_action(action, comments=False)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def actions_hash(actions: Iterable[Action]) -> str:
    """Stable digest of a sequence of actions, in order."""
    h = hashlib.blake2b(digest_size=16)
    for a in actions:
        h.update(action_hash(a).encode())
    return h.hexdigest()
