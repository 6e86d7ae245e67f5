"""Pictures of a flow: a text tree, Graphviz DOT and Mermaid. Pure functions."""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

STATUS_COLOURS = {"finished": "#c8e6c9", "error": "#ffcdd2", "timeout": "#ffe0b2",
                  "skipped": "#eeeeee", "cancelled": "#d7ccc8", "started": "#bbdefb",
                  "dispatched": "#e1f5fe", "waiting_for_prerequisites": "#ffffff",
                  "created": "#ffffff"}


def text_tree(after: Mapping[str, Sequence[str]], statuses: Mapping[str, str] | None = None
              ) -> str:
    """Each job under its prerequisites, roots first; a job with several prerequisites is
    printed once, under its first, with the others named."""
    children: dict[str, list[str]] = {n: [] for n in after}
    for name, pres in after.items():
        if pres:
            children[pres[0]].append(name)
    lines: list[str] = []

    def label(name: str) -> str:
        extra = after[name][1:]
        also = f"  (also after {', '.join(extra)})" if extra else ""
        st = f" [{statuses[name]}]" if statuses and name in statuses else ""
        return f"{name}{st}{also}"

    # iterative depth-first walk: (name, prefix, is_last, is_root); no recursion limit
    stack = [(root, "", True, True) for root in reversed([n for n, p in after.items() if not p])]
    while stack:
        name, prefix, last, root = stack.pop()
        if root:
            lines.append(label(name))
            child_prefix = ""
        else:
            lines.append(prefix + ("└── " if last else "├── ") + label(name))
            child_prefix = prefix + ("    " if last else "│   ")
        kids = children[name]
        for i in range(len(kids) - 1, -1, -1):
            stack.append((kids[i], child_prefix, i == len(kids) - 1, False))
    return "\n".join(lines)


def _id(name: str) -> str:
    return "j_" + "".join(c if c.isalnum() else "_" for c in name)


def dot(name: str, after: Mapping[str, Sequence[str]],
        statuses: Mapping[str, str] | None = None) -> str:
    lines = [f"digraph {json.dumps(name)} {{", "  rankdir=LR;",
             "  node [shape=box, style=\"rounded,filled\", fillcolor=\"#ffffff\"];"]
    for job in after:
        attrs = [f"label={json.dumps(job + (chr(10) + statuses[job] if statuses else ''))}"]
        if statuses and job in statuses:
            attrs.append(f"fillcolor={json.dumps(STATUS_COLOURS.get(statuses[job], '#fff'))}")
        lines.append(f"  {_id(job)} [{', '.join(attrs)}];")
    for job, pres in after.items():
        for pre in pres:
            lines.append(f"  {_id(pre)} -> {_id(job)};")
    lines.append("}")
    return "\n".join(lines)


def mermaid(after: Mapping[str, Sequence[str]], statuses: Mapping[str, str] | None = None
            ) -> str:
    lines = ["graph TD"]
    for job in after:
        text = job + (f"<br/>{statuses[job]}" if statuses and job in statuses else "")
        lines.append(f"    {_id(job)}[\"{text}\"]")
    for job, pres in after.items():
        for pre in pres:
            lines.append(f"    {_id(pre)} --> {_id(job)}")
    if statuses:
        for status, colour in STATUS_COLOURS.items():
            members = [_id(j) for j, s in statuses.items() if s == status]
            if members:
                lines.append(f"    classDef {status} fill:{colour}")
                lines.append(f"    class {','.join(members)} {status}")
    return "\n".join(lines)


def short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"
