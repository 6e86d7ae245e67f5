"""Full-text indexes of one database, on tantivy (the official Python bindings).

An `FtIndex` keeps the documents themselves (id -> score and fields, the truth that FT.ADD
wrote) and a tantivy index built from them (the inverted index that answers queries). The
documents are what the append-only log recreates at start (FT.CREATE and FT.ADD are logged like
any write, and compaction dumps them as such), so the tantivy index is *rebuilt* from the log
on every start, as RediSearch rebuilds its indexes from the keyspace on load. It lives in memory
(tantivy's RAM directory): nothing of it is written outside the log, so an encrypted database
leaks no term, and an index can never disagree with the log after a crash.

Reads see every acknowledged write: FT.SEARCH commits pending additions first (tantivy shows a
document only after a commit). Writes also schedule a commit `COMMIT_DELAY_S` later on the
server's loop (one per burst), which then releases the index writer (its memory arena), so a
read after a pause does not pay for the commit and an idle index holds no writer.
"""
from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import tantivy
from tantivy import (
    Document,
    FieldType,
    Filter,
    Index,
    Occur,
    Order,
    Query,
    SchemaBuilder,
    TextAnalyzerBuilder,
    Tokenizer,
)

from . import ftquery as q

KINDS = ("TEXT", "TAG", "NUMERIC")
FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
WRITER_HEAP = 15_000_000  # tantivy's minimum per indexing thread
COMMIT_DELAY_S = 0.1      # a burst of writes is committed this long after its first write
TAG_SEPARATOR = ","
SORT_KEY_CHARS = 256
SCORE_FIELD = "__score"
ID_FIELD = "__id"        # the document id, indexed raw: FT.ADD and FT.DEL find it by term
LABEL_FIELD = "__n"      # a number per stored version, a fast field: hits -> ids without
                         # reading tantivy's document store

# tantivy's "default" tokenizer, to analyze query words exactly as indexed text was
_ANALYZER = (TextAnalyzerBuilder(Tokenizer.simple()).filter(Filter.remove_long(40))
             .filter(Filter.lowercase()).build())


class FtError(ValueError):
    """Bad input for an index (unknown field, wrong type, malformed query); nothing changed."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str          # TEXT | TAG | NUMERIC
    sortable: bool
    slot: str          # the tantivy field name (f0, f1 ...): user names never reach tantivy


def parse_schema(args: list[bytes]) -> list[Field]:
    """`field TYPE [SORTABLE] ...` (the arguments after SCHEMA); FtError naming the bad one."""
    fields: list[Field] = []
    seen: set[str] = set()
    i = 0
    if not args:
        raise FtError("SCHEMA needs at least one field: SCHEMA field TEXT|TAG|NUMERIC [SORTABLE]")
    while i < len(args):
        name = args[i].decode(errors="replace")
        if not FIELD_RE.match(name) or name.startswith("__"):
            raise FtError(f"field name {name!r} is not valid (letters, digits and '_', at most "
                          "64, not starting with '__')")
        if name in seen:
            raise FtError(f"field {name!r} appears twice in the schema")
        if i + 1 >= len(args):
            raise FtError(f"field {name!r} needs a type: TEXT, TAG or NUMERIC")
        kind = args[i + 1].decode(errors="replace").upper()
        if kind not in KINDS:
            raise FtError(f"field {name!r}: unknown type {args[i + 1].decode(errors='replace')!r}"
                          " (TEXT, TAG or NUMERIC)")
        i += 2
        sortable = i < len(args) and args[i].upper() == b"SORTABLE"
        if sortable:
            i += 1
        seen.add(name)
        fields.append(Field(name, kind, sortable or kind == "NUMERIC", f"f{len(fields)}"))
    return fields


def schema_args(fields: list[Field]) -> list[bytes]:
    """The SCHEMA arguments that recreate `fields` (for the log's compaction)."""
    out: list[bytes] = []
    for f in fields:
        out += [f.name.encode(), f.kind.encode()]
        if f.sortable and f.kind != "NUMERIC":
            out.append(b"SORTABLE")
    return out


def words(text: str) -> list[str]:
    """Text as the index sees it: tantivy's default tokens (split, lowercased, ≤ 40 bytes)."""
    return list(_ANALYZER.analyze(text))


def tag_values(raw: str) -> list[str]:
    return [t.strip().lower() for t in raw.split(TAG_SEPARATOR) if t.strip()]


class FtIndex:
    """One full-text index: its schema, its documents and their tantivy index."""

    def __init__(self, name: bytes, fields: list[Field]) -> None:
        self.name = name
        self.fields = fields
        self.by_name = {f.name: f for f in fields}
        self.docs: dict[bytes, tuple[float, dict[str, str]]] = {}
        self.by_label: dict[int, bytes] = {}
        self.label_of: dict[bytes, int] = {}
        self.next_label = 0
        self.weighted = 0  # documents whose score is not 1: only then is relevance weighted
        sb = SchemaBuilder()
        sb.add_text_field(ID_FIELD, tokenizer_name="raw", index_option="basic")
        sb.add_unsigned_field(LABEL_FIELD, fast=True)
        sb.add_float_field(SCORE_FIELD, fast=True)
        for f in fields:
            if f.kind == "TEXT":
                sb.add_text_field(f.slot)
            elif f.kind == "TAG":
                sb.add_text_field(f.slot, tokenizer_name="raw", index_option="basic")
            else:
                sb.add_float_field(f.slot, indexed=True, fast=True)
            if f.sortable and f.kind != "NUMERIC":
                sb.add_text_field("s" + f.slot[1:], tokenizer_name="raw", fast=True,
                                  index_option="basic")
        self.schema = sb.build()
        self.index = Index(self.schema)  # RAM: rebuilt from the log at start (module docstring)
        self.writer: Any = None
        self.pending = False
        self.commit_scheduled = False
        self.closed = False
        self._searcher: Any = None

    # ---- writes ------------------------------------------------------------------------------
    def check(self, pairs: list[tuple[bytes, bytes]]) -> dict[str, str]:
        """The fields of an FT.ADD, validated against the schema (FtError: nothing added)."""
        out: dict[str, str] = {}
        for raw_name, raw_value in pairs:
            name = raw_name.decode(errors="replace")
            f = self.by_name.get(name)
            if f is None:
                raise FtError(f"index {self.label}: unknown field {name!r} (schema: "
                              f"{', '.join(self.by_name)})")
            value = raw_value.decode(errors="replace")
            if f.kind == "NUMERIC":
                number = _number(value)
                if number is None:
                    raise FtError(f"index {self.label}, field {name!r} is NUMERIC: {value!r} is "
                                  "not a finite number")
            out[name] = value
        return out

    def add(self, doc_id: bytes, score: float, fields: dict[str, str]) -> bool:
        """Add or replace a document (checked by `check`); True when it is new."""
        writer = self._writer()
        new = doc_id not in self.docs
        if not new:
            writer.delete_documents_by_term(ID_FIELD, doc_id.decode(errors="surrogateescape"))
            self._forget(doc_id)
        label = self.next_label
        self.next_label += 1
        self.by_label[label], self.label_of[doc_id] = doc_id, label
        self.weighted += score != 1.0
        doc = Document()
        doc.add_text(ID_FIELD, doc_id.decode(errors="surrogateescape"))
        doc.add_unsigned(LABEL_FIELD, label)
        doc.add_float(SCORE_FIELD, score)
        for name, value in fields.items():
            f = self.by_name[name]
            if f.kind == "TEXT":
                doc.add_text(f.slot, value)
            elif f.kind == "TAG":
                for tag in tag_values(value):
                    doc.add_text(f.slot, tag)
            else:
                doc.add_float(f.slot, float(value))
            if f.sortable and f.kind != "NUMERIC":
                doc.add_text("s" + f.slot[1:], value.lower()[:SORT_KEY_CHARS])
        writer.add_document(doc)
        self.docs[doc_id] = (score, fields)
        self.pending = True
        return new

    def delete(self, doc_id: bytes) -> bool:
        if doc_id not in self.docs:
            return False
        self._writer().delete_documents_by_term(ID_FIELD, doc_id.decode(errors="surrogateescape"))
        self._forget(doc_id)
        del self.docs[doc_id]
        self.pending = True
        return True

    def _forget(self, doc_id: bytes) -> None:
        del self.by_label[self.label_of.pop(doc_id)]
        self.weighted -= self.docs[doc_id][0] != 1.0

    def commit(self) -> None:
        """Make every added document searchable (a no-op when nothing is pending)."""
        if self.pending:
            self.writer.commit()
            self.index.reload()
            self.pending = False
            self._searcher = None

    def idle_commit(self) -> None:
        """The scheduled commit: make pending writes searchable and release the writer."""
        self.commit_scheduled = False
        if self.closed:
            return
        self.commit()
        self.writer = None

    def close(self) -> None:
        self.closed = True
        if self.writer is not None:
            self.writer.rollback()
            self.writer = None

    def _writer(self) -> Any:
        if self.writer is None:
            self.writer = self.index.writer(heap_size=WRITER_HEAP, num_threads=1)
        return self.writer

    # ---- reads -------------------------------------------------------------------------------
    def search(self, query: q.Node, offset: int, limit: int, sort_by: str | None = None,
               ascending: bool = True) -> tuple[int, list[tuple[bytes, float]]]:
        """(number of matches, [(doc id, relevance or sort key)]) of one page of results."""
        tq = self.compile(query)
        self.commit()
        if self._searcher is None:
            self._searcher = self.index.searcher()
        searcher = self._searcher
        if sort_by is not None:
            f = self.by_name.get(sort_by)
            if f is None:
                raise FtError(f"index {self.label}: SORTBY names unknown field {sort_by!r}")
            if not f.sortable:
                raise FtError(f"index {self.label}: field {sort_by!r} is not SORTABLE")
            slot = f.slot if f.kind == "NUMERIC" else "s" + f.slot[1:]
            result = searcher.search(tq, limit, count=True, order_by_field=slot, offset=offset,
                                     order=Order.Asc if ascending else Order.Desc)
        elif self.weighted:
            result = searcher.search(tq, limit, count=True, offset=offset,
                                     weight_by_field=SCORE_FIELD)
        else:  # every score is 1: weighting would change nothing but cost time
            result = searcher.search(tq, limit, count=True, offset=offset)
        labels = searcher.fast_field_values(LABEL_FIELD, [a for _, a in result.hits])
        by_label = self.by_label
        return result.count, [(by_label[n], key)
                              for n, (key, _) in zip(labels, result.hits, strict=False)]

    def compile(self, node: q.Node) -> Any:
        """A tantivy Query for a parsed query; FtError for a field the schema lacks or a
        condition the field's type cannot answer."""
        schema = self.schema
        if isinstance(node, q.All):
            return Query.all_query()
        if isinstance(node, (q.Word, q.Phrase, q.Prefix)):
            if node.field is not None and self._field(node.field).kind == "TAG":
                return self._tag_word(self._field(node.field), node)
            fields = self._text_fields(node.field)
            if isinstance(node, q.Prefix):
                toks = words(node.text)
                if len(toks) != 1:
                    raise FtError(f"prefix {node.text + '*'!r} must be one word")
                pattern = _regex_escape(toks[0]) + ".*"
                return _any([Query.regex_query(schema, f.slot, pattern) for f in fields])
            toks = words(node.text)
            if not toks:
                return Query.empty_query()  # only separators: matches nothing, as a stop word
            if len(toks) == 1:
                return _any([Query.term_query(schema, f.slot, toks[0]) for f in fields])
            terms: list[str | tuple[int, str]] = list(toks)
            return _any([Query.phrase_query(schema, f.slot, terms) for f in fields])
        if isinstance(node, q.Tags):
            f = self._field(node.field)
            if f.kind != "TAG":
                raise FtError(f"index {self.label}: field {f.name!r} is {f.kind}, not TAG: "
                              f"{{...}} needs a TAG field")
            return _any([Query.term_query(schema, f.slot, t.strip().lower())
                         for t in node.values])
        if isinstance(node, q.Range):
            f = self._field(node.field)
            if f.kind != "NUMERIC":
                raise FtError(f"index {self.label}: field {f.name!r} is {f.kind}, not NUMERIC: "
                              "[low high] needs a NUMERIC field")
            low = None if node.low == -math.inf else node.low
            high = None if node.high == math.inf else node.high
            if low is None and high is None:
                return Query.exists_query(f.slot)
            return Query.range_query(schema, f.slot, FieldType.Float, low, high,
                                     include_lower=node.low_inclusive or low is None,
                                     include_upper=node.high_inclusive or high is None)
        if isinstance(node, q.Not):
            return Query.boolean_query([(Occur.Must, Query.all_query()),
                                        (Occur.MustNot, self.compile(node.item))])
        if isinstance(node, q.And):
            return Query.boolean_query([(Occur.Must, self.compile(i)) for i in node.items])
        if isinstance(node, q.Or):
            return Query.boolean_query([(Occur.Should, self.compile(i)) for i in node.items])
        raise FtError(f"unsupported query node {node!r}")  # pragma: no cover

    def _field(self, name: str) -> Field:
        f = self.by_name.get(name)
        if f is None:
            raise FtError(f"index {self.label}: unknown field {name!r} in the query (schema: "
                          f"{', '.join(self.by_name)})")
        return f

    def _text_fields(self, name: str | None) -> list[Field]:
        if name is None:
            fields = [f for f in self.fields if f.kind == "TEXT"]
            if not fields:
                raise FtError(f"index {self.label} has no TEXT field: use @field:{{tag}} or "
                              "@field:[low high]")
            return fields
        f = self._field(name)
        if f.kind != "TEXT":
            raise FtError(f"index {self.label}: field {f.name!r} is {f.kind}: a word query "
                          f"needs a TEXT field (use {_hint(f)})")
        return [f]

    def _tag_word(self, f: Field, node: q.Word | q.Phrase | q.Prefix) -> Any:
        """@tag:word is @tag:{word}; @tag:pre* matches tags starting with pre."""
        tag = node.text.strip().lower()
        if isinstance(node, q.Prefix):
            return Query.regex_query(self.schema, f.slot, _regex_escape(tag) + ".*")
        return Query.term_query(self.schema, f.slot, tag)

    # ---- description -------------------------------------------------------------------------
    @property
    def label(self) -> str:
        return repr(self.name.decode(errors="replace"))

    def info(self) -> list[Any]:
        return [b"index_name", self.name,
                b"fields", [[f.name.encode(), f.kind.encode()]
                            + ([b"SORTABLE"] if f.sortable else []) for f in self.fields],
                b"num_docs", len(self.docs),
                b"engine", str(getattr(tantivy, "__version__", "tantivy")).encode()]

    def dump(self) -> Iterator[list[bytes]]:
        """The commands that recreate this index (FT.CREATE, then one FT.ADD per document)."""
        yield [b"FT.CREATE", self.name, b"SCHEMA", *schema_args(self.fields)]
        for doc_id, (score, fields) in self.docs.items():
            argv = [b"FT.ADD", self.name, doc_id, repr(score).encode()]
            for name, value in fields.items():
                argv += [name.encode(), value.encode(errors="surrogateescape")]
            yield argv


class Indexes(dict[bytes, "FtIndex"]):
    """The full-text indexes of one database (name -> FtIndex), kept in `Database.extras`."""

    def dump(self) -> Iterator[list[bytes]]:
        for index in self.values():
            yield from index.dump()

    def close(self) -> None:
        for index in self.values():
            index.close()


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _regex_escape(text: str) -> str:
    """Escape the meta characters of tantivy's (Rust) regex syntax, and only those."""
    return "".join("\\" + ch if ch in _REGEX_META else ch for ch in text)


_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


def _any(queries: list[Any]) -> Any:
    if len(queries) == 1:
        return queries[0]
    return Query.boolean_query([(Occur.Should, x) for x in queries])


def _hint(f: Field) -> str:
    return f"@{f.name}:{{tag}}" if f.kind == "TAG" else f"@{f.name}:[low high]"
