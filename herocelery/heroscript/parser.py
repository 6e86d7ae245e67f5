"""HeroScript text -> actions with positions (HEROSCRIPT.md §1-§3).

Guarantees: `parse` returns actions in file order with 1-based line/column of the head and
of every param; the only exception it raises is `HeroScriptError`, whatever the input.
The scan is line oriented (one regex match per token). When the optional C accelerator
(`_speedups.c`, see `_accel.py`) is built it scans the common lines and hands every other
line (and every error) to this module's `_Parser.line`, so both give the same results.
"""
from __future__ import annotations

import re
from collections.abc import Iterator

from ..errors import HeroScriptError
from ._accel import Scan, scanner
from .model import KINDS, Action, Item, Text

OPENERS = frozenset({"'", '"', "'''", '"""'})

_Q = r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*\""""
_BARE = r"""[^\s,'"\[][^\s,]*"""
_ITEM = rf"(?:{_Q}|{_BARE})"
_LIST = rf"""\[(?:{_Q}|[^\]'"])*\]"""
_VALUE = rf"(?:{_LIST}|{_ITEM}(?:[ ]*,[ ]*(?:{_ITEM})?)*)?"
TOKEN = re.compile(rf"""[ ]*(?:
    (?P<c>//.*)
  | (?P<k>[^\s:'"]+):(?P<sp>[ ]+)?(?(sp)(?!//))(?P<v>{_VALUE})
  | (?P<a>{_Q}|[^\s'"]\S*)
)""", re.X)
# the common case, all in one match per token: atomic value, then a space or the end;
# quotes are unrolled (runs of plain characters) because per-character alternation is slow
_FQ = r"""'[^'\\]*+(?:\\.[^'\\]*+)*+'|"[^"\\]*+(?:\\.[^"\\]*+)*+\""""
_FITEM = rf"(?:{_FQ}|{_BARE})"
_FVALUE = rf"""(?:{_FITEM}(?:[ ]*+,[ ]*+{_FITEM}?)*+|\[(?:[^\]'"]++|{_FQ})*+\])?+"""
FAST = re.compile(rf"""[ ]*+(?:
    (?P<c>//.*)
  | (?P<k>[^\s:'"]++):(?:[ ]++(?!//))?+(?P<v>{_FVALUE})(?=[ ]|\Z)
  | (?P<a>(?:{_FQ}|[^\s'":/][^\s:'"]*+))(?=[ ]|\Z)
)""", re.X)
QUOTED = re.compile(_Q)
KEY_OK = re.compile(r"[A-Za-z0-9_,./]+\Z")
KEY_BAD_CHAR = re.compile(r"[^A-Za-z0-9_,./]")
HEAD = re.compile(r"(!+)(\S*)")
NAME_BAD = re.compile(r"[^a-z0-9]")
FIRST_AT_COL0 = re.compile(r"^[^\s]", re.M)
INDENTS = re.compile(r"^([ ]*)\S", re.M)
UNESCAPE = re.compile(r"\\(['\"\\])")

E_BANGS = "too many '!' ({n}): an action starts with 1 to 4"
E_NO_NAME = "action name missing after {bangs!r}"
E_PARTS = "action name {name!r} has {n} parts; use actor.name or name"
E_EMPTY_PART = "action name {name!r} has an empty part"
E_KEY = "invalid character {ch!r} in param key {key!r} (keys use letters, digits, _ , . /)"
E_EMPTY_KEY = "param key is empty before ':'"
E_UNTERMINATED = "unterminated quote: a value opened with {q} is not closed on this line"
E_AFTER = "unexpected {ch!r} after value of {key!r}; separate params with a space"
E_AFTER_ARG = "unexpected {ch!r} after a quoted argument; separate words with a space"
E_ONE_SPACE = "param lines must be indented by at least two spaces (found one)"
E_BLOCK = "multi-line value of {key!r} opened with {q} is never closed"
E_HTML = "'<!--' comment is never closed with '-->'"


def _err(reason: str, source: str, line: int, col: int, text: str) -> HeroScriptError:
    return HeroScriptError(reason, file=source, line=line, column=col,
                           source_line=text.rstrip("\r\n"))


def normalise_name(part: str) -> str:
    """Lower case; every character that is not a letter or digit becomes `_`."""
    return NAME_BAD.sub("_", part.lower())


def dedent_block(lines: list[str]) -> str:
    """Dedent a multi-line value: common indentation removed, blank lines kept empty."""
    widths = [len(s) - len(s.lstrip(" ")) for s in lines if s.strip()]
    cut = min(widths) if widths else 0
    return "\n".join(s[cut:] if s.strip() else "" for s in lines)


def unquote(v: str) -> str:
    """The content of a single quoted value; `\\'`, `\\"` and `\\\\` are escapes, any
    other backslash is literal (so `'C:\\new'` keeps its backslash)."""
    inner = v[1:-1]
    return UNESCAPE.sub(r"\1", inner) if "\\" in inner else inner


def iter_lines(text: str, chunk: int = 1 << 18) -> Iterator[str]:
    """The lines of `text` without their newline, split a chunk at a time so that a big
    text is never held twice (io.StringIO would keep a 4-byte-per-character copy)."""
    start = 0
    while True:
        end = text.find("\n", start + chunk)
        if end < 0:
            yield from text[start:].split("\n")
            return
        yield from text[start:end].split("\n")
        start = end + 1


class _Parser:
    """One pass over the lines; state is the current action and any open block."""

    def __init__(self, source: str, keep_ids: bool, keep_text: bool,
                 warnings: list[tuple[int, int, str]] | None) -> None:
        self.source = source
        self.keep_ids = keep_ids
        self.keep_text = keep_text
        self.warnings = warnings
        self.items: list[Item] = []
        self.cur: Action | None = None
        self.pending: list[str] = []
        self.text: Text | None = None
        self.names: dict[str, tuple[str, str]] = {}
        self.keys: dict[str, str] = {}
        self.count = 0
        self.base = 0
        self.norm = ""   # the normalised text the actions point into
        # open multi-line value: (action, key, quote, lines, line, col, source line)
        self.block: tuple[Action, str, str, list[str], int, int, str] | None = None
        self.html_start: tuple[int, str] | None = None   # open '<!--': (line, source line)

    # -- text around actions -------------------------------------------------------------
    def _other(self, line: str, lineno: int) -> None:
        self.cur = None
        if not self.keep_text:
            self.pending = []
            return
        if self.text is None:
            self.text = Text([], lineno)
            self.items.append(self.text)
        self.text.lines.extend("// " + c if c else "//" for c in self.pending)
        self.pending = []
        self.text.lines.append(line[self.base:].rstrip("\r\n"))  # dedented like the rest

    # -- heads ---------------------------------------------------------------------------
    def head(self, s: str, col: int, lineno: int, raw: str) -> None:
        m = HEAD.match(s)
        assert m is not None
        bangs, word = m.group(1), m.group(2)
        if len(bangs) > 4:
            raise _err(E_BANGS.format(n=len(bangs)), self.source, lineno, col, raw)
        if not word:
            raise _err(E_NO_NAME.format(bangs=bangs), self.source, lineno, col, raw)
        names = self.names.get(word)
        if names is None:
            parts = word.split(".")
            if len(parts) > 2:
                raise _err(E_PARTS.format(name=word, n=len(parts)), self.source, lineno,
                           col + len(bangs), raw)
            if not all(parts):
                raise _err(E_EMPTY_PART.format(name=word), self.source, lineno,
                           col + len(bangs), raw)
            if len(parts) == 1:
                parts.insert(0, "core")
            names = (normalise_name(parts[0]), normalise_name(parts[1]))
            self.names[word] = names
        self.count += 1
        act = Action(KINDS[len(bangs)], names[0], names[1], file=self.source, line=lineno,
                     column=col, text=self.norm, id=self.count)
        if self.pending:
            act.comments = self.pending
            self.pending = []
        self.items.append(act)
        self.text = None
        self.cur = act
        rest = m.end()
        if rest < len(s):
            self.params(act, raw, lineno, col - 1 + rest)

    # -- params --------------------------------------------------------------------------
    def params(self, act: Action, line: str, lineno: int, pos: int) -> None:
        """Fast path: every token of the line matches FAST; anything unusual (multi-line
        openers, errors, odd args) is handled by the exact, slower `params_exact`."""
        line = line.rstrip()
        n = len(line)
        toks = []
        at = pos
        for m in FAST.finditer(line, pos):
            if m.start() != at:
                break
            toks.append(m)
            at = m.end()
        if at != n:
            self.params_exact(act, line, lineno, pos)
            return
        last_key: str | None = None
        keys = self.keys
        for m in toks:
            c, k, v, a = m.groups()       # FAST's groups, in pattern order
            if k is not None:
                key = keys.get(k)
                if key is None:
                    key = self._key(k, m.start(2), lineno, line)
                if v:
                    if v[0] in "'\"":
                        if v[-1] == v[0] and QUOTED.fullmatch(v):
                            v = unquote(v)
                    elif v[-1] == " ":
                        v = v.rstrip()
                if key in act.params or key == "id":
                    self._set(act, key, v, lineno, m.start(2) + 1)
                else:
                    act.pos.extend((key, lineno - act.line, m.start(2) + 1))
                    act.params[key] = v
                last_key = key
            elif a is not None:
                act.args.append(unquote(a) if a[0] in "'\"" else a)
            else:
                comment = c[2:].strip()
                if last_key is not None:
                    act.param_comments[last_key] = comment
                else:
                    act.comments.append(comment)

    def params_exact(self, act: Action, line: str, lineno: int, pos: int) -> None:
        n = len(line)
        last_key: str | None = None
        while pos < n:
            m = TOKEN.match(line, pos)
            if m is None:
                at = pos + len(line[pos:]) - len(line[pos:].lstrip(" "))
                raise _err(E_UNTERMINATED.format(q=line[at]), self.source, lineno, at + 1,
                           line)
            k = m.group("k")
            if k is not None:
                key = self.keys.get(k)
                if key is None:
                    key = self._key(k, m.start("k"), lineno, line)
                v = m.group("v")
                e = m.end()
                if (not v or v in ("''", '""')) and line[m.start("v"):].strip() in OPENERS:
                    q = line[m.start("v"):].strip()
                    self.block = (act, key, q, [], lineno, m.start("k") + 1, line)
                    return
                if e < n and line[e] != " ":
                    ch = line[e]
                    if ch in "'\"" and not QUOTED.match(line, e):
                        raise _err(E_UNTERMINATED.format(q=ch), self.source, lineno, e + 1,
                                   line)
                    raise _err(E_AFTER.format(ch=ch, key=key), self.source, lineno, e + 1,
                               line)
                if v and v[0] in "'\"" and v[-1] == v[0] and QUOTED.fullmatch(v):
                    v = unquote(v)
                elif v:
                    v = v.rstrip()
                self._set(act, key, v, lineno, m.start("k") + 1)
                last_key = key
            elif m.group("a") is not None:
                a = m.group("a")
                e = m.end()
                if e < n and line[e] != " ":
                    raise _err(E_AFTER_ARG.format(ch=line[e]), self.source, lineno, e + 1,
                               line)
                if a[0] in "'\"":
                    a = unquote(a)
                elif a[0] == ":":
                    raise _err(E_EMPTY_KEY, self.source, lineno, m.start("a") + 1, line)
                act.args.append(a)
            else:
                comment = m.group("c")[2:].strip()
                if last_key is not None:
                    act.param_comments[last_key] = comment
                else:
                    act.comments.append(comment)
                return
            pos = m.end()

    def _key(self, k: str, start: int, lineno: int, line: str) -> str:
        if not KEY_OK.match(k):
            bad = KEY_BAD_CHAR.search(k)
            assert bad is not None
            raise _err(E_KEY.format(ch=bad.group(), key=k), self.source, lineno,
                       start + bad.start() + 1, line)
        key = k.lower()
        self.keys[k] = key
        return key

    def _set(self, act: Action, key: str, value: str, lineno: int, col: int) -> None:
        if key == "id" and not self.keep_ids:
            return
        if key in act.params and self.warnings is not None:
            self.warnings.append((lineno, col, f"param {key!r} given twice; the last wins"))
        if key in act.params:
            act.set_param_pos(key, lineno, col)
        else:
            act.pos.extend((key, lineno - act.line, col))
        act.params[key] = value

    # -- blocks --------------------------------------------------------------------------
    def block_line(self, line: str) -> None:
        assert self.block is not None
        act, key, q, lines, lineno, col, _ = self.block
        stripped = line.strip()
        if stripped == q or (len(q) == 1 and stripped in ("'", '"')):
            self._set(act, key, dedent_block(lines), lineno, col)
            self.block = None
        else:
            lines.append(line.rstrip("\r\n"))

    # -- driver --------------------------------------------------------------------------
    def line(self, raw: str, lineno: int) -> None:
        """One line of the scan. The accelerator's C scan hands every line it does not
        handle itself here, with the state (cur, pending, text, count, block, html_start)
        in these attributes, so unusual lines and errors take exactly this path."""
        if self.block is not None:
            self.block_line(raw)
            return
        if self.html_start is not None:
            end = raw.find("-->")
            body = raw if end < 0 else raw[:end]
            if body.strip():
                self.pending.append(body.strip())
            if end >= 0:
                self.html_start = None
            return
        s = raw.lstrip(" ")
        if not s:
            if self.text is not None and self.cur is None:
                self.text.lines.append("")
            return
        ind = len(raw) - len(s) - self.base
        cur = self.cur
        if cur is not None and ind > 0:
            if ind == 1:
                raise _err(E_ONE_SPACE, self.source, lineno, self.base + 2, raw)
            if s.startswith("//"):
                cur.comments.append(s[2:].strip())
            else:
                self.params(cur, raw, lineno, len(raw) - len(s))
            return
        c = s[0]
        if c == "!" and not s.startswith("!["):
            self.head(s, len(raw) - len(s) + 1, lineno, raw)
        elif c == "/" and s.startswith("//"):
            self.cur = None
            self.pending.append(s[2:].strip())
        elif c == "<" and s.startswith("<!--"):
            self.cur = None
            end = s.find("-->", 4)
            body = s[4:] if end < 0 else s[4:end]
            if body.strip():
                self.pending.append(body.strip())
            if end < 0:
                self.html_start = (lineno, raw)
        else:
            self._other(raw, lineno)

    def run(self, text: str, scan: Scan | None) -> list[Item]:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\t" in text:
            text = text.replace("\t", "    ")
        self.norm = text
        if FIRST_AT_COL0.search(text) is None:
            self.base = min((len(m.group(1)) for m in INDENTS.finditer(text)), default=0)
        lines = scan(self, text) if scan is not None else None   # None: C declined the text
        if lines is None:
            lines = 0
            step = self.line
            for raw in iter_lines(text):
                lines += 1
                step(raw, lines)
        return self._finish(lines)

    def _finish(self, lines: int) -> list[Item]:
        if self.block is not None:
            act, key, q, _, bl, bc, bline = self.block
            raise _err(E_BLOCK.format(key=key, q=q), self.source, bl, bc, bline)
        if self.html_start is not None:
            hl, hraw = self.html_start
            raise _err(E_HTML, self.source, hl, len(hraw) - len(hraw.lstrip()) + 1, hraw)
        if self.pending and self.keep_text:
            self.items.append(Text(["// " + c if c else "//" for c in self.pending], lines))
        return self.items


def parse_items(text: str, source: str = "<text>", *, keep_ids: bool = False,
                keep_text: bool = True,
                warnings: list[tuple[int, int, str]] | None = None,
                pure: bool = False) -> list[Item]:
    """Actions and the text around them, in file order (for formatting). `pure` uses the
    Python scan even when the C accelerator is built (the reference; same results)."""
    try:
        return _Parser(source, keep_ids, keep_text, warnings).run(
            text, None if pure else scanner())
    except HeroScriptError:
        raise
    except Exception as exc:  # noqa: BLE001
        # a bug in this module, but the user still gets a positioned, typed error
        raise HeroScriptError(f"could not parse: {type(exc).__name__}: {exc}",
                              file=source) from None


def parse(text: str, source: str = "<text>", *, keep_ids: bool = False,
          warnings: list[tuple[int, int, str]] | None = None,
          pure: bool = False) -> list[Action]:
    """The actions of `text` in file order, ids 1..N; raises only HeroScriptError."""
    items = parse_items(text, source, keep_ids=keep_ids, keep_text=False, warnings=warnings,
                        pure=pure)
    return [i for i in items if isinstance(i, Action)]
