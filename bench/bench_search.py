"""HeroDB FT.* and VEC.* against the libraries used directly, side by side in one run (a
benchmark, not a test).

FT: index N short documents (title, body, a tag, a year) with pipelined FT.ADD into a HeroDB
subprocess (log on disk, everysec) and with the tantivy package directly (same schema, same
tokenizer, one writer); then Q mixed queries (words, two-word AND, phrases, prefixes, tags,
numeric ranges, OR, NOT), top 10 ids each: HeroDB over RESP (redis-py, one round trip per
query) and tantivy directly (Query objects built with its API). Reports docs/s, query p50/p99
and the ratio direct p50 / HeroDB p50 (≥ 0.5 wanted). Also: the restart that rebuilds the
index from the log (time until the first query answers).

VEC: N 128-dim float32 vectors into a HeroDB vector set and into a usearch index directly
(same HNSW parameters); recall@10 of HeroDB against exact (numpy brute force) over 200
queries, and query p50 over Q queries for both. The vectors come from a 24-dimensional latent
space mapped to 128 dimensions plus noise, as embeddings do (low intrinsic dimension);
isotropic Gaussian noise in 128 dimensions is the known worst case of every graph index
(recall then needs a much larger EF, see bench/results/search.md).

Usage: python bench/bench_search.py [--docs 100000] [--vectors 100000] [--queries 1000]
       [--out bench/results/search.md]
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import free_port, wait_port  # noqa: E402

WORDS = [f"w{i}" for i in range(5000)]
TAGS = [f"t{i}" for i in range(20)]


def zipf_word(rng: random.Random) -> str:
    return WORDS[min(int(rng.paretovariate(1.1)) - 1, len(WORDS) - 1)]


def make_docs(n: int, rng: random.Random) -> list[dict[str, str]]:
    return [{"title": " ".join(zipf_word(rng) for _ in range(rng.randint(3, 6))),
             "body": " ".join(zipf_word(rng) for _ in range(rng.randint(10, 20))),
             "tag": rng.choice(TAGS), "year": str(rng.randint(1950, 2025))}
            for _ in range(n)]


def make_queries(n: int, rng: random.Random) -> list[tuple[str, tuple[Any, ...]]]:
    """(HeroDB query text, spec for the direct tantivy query)."""
    out: list[tuple[str, tuple[Any, ...]]] = []
    kinds = ["word", "and", "phrase", "prefix", "tag", "range", "or", "not"]
    for i in range(n):
        kind = kinds[i % len(kinds)]
        a, b = zipf_word(rng), zipf_word(rng)
        if kind == "word":
            out.append((a, ("word", a)))
        elif kind == "and":
            out.append((f"{a} {b}", ("and", a, b)))
        elif kind == "phrase":
            out.append((f'"{a} {b}"', ("phrase", a, b)))
        elif kind == "prefix":
            p = a[:3]
            out.append((f"{p}*", ("prefix", p)))
        elif kind == "tag":
            t = rng.choice(TAGS)
            out.append((f"@tag:{{{t}}} {a}", ("tag", t, a)))
        elif kind == "range":
            lo = rng.randint(1950, 2020)
            out.append((f"@year:[{lo} {lo + 5}] {a}", ("range", lo, lo + 5, a)))
        elif kind == "or":
            out.append((f"{a} | {b}", ("or", a, b)))
        else:
            out.append((f"{a} -{b}", ("not", a, b)))
    return out


# ---- HeroDB --------------------------------------------------------------------------------------
def start_herodb(data: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    env = dict(os.environ)
    env.pop("HEROCELERY_PURE_PYTHON", None)
    proc = subprocess.Popen([sys.executable, "-m", "herocelery.herodb", "serve", "--port",
                             str(port), "--dir", data, "--appendfsync", "everysec"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wait_port(port, 120)
    return proc, port


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(120)


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(p / 100 * len(s)))]


# ---- FT ------------------------------------------------------------------------------------------
def ft_herodb(r: redis.Redis, docs: list[dict[str, str]]) -> float:
    r.execute_command("FT.CREATE", "bench", "SCHEMA", "title", "TEXT", "body", "TEXT",
                      "tag", "TAG", "year", "NUMERIC")
    t = time.perf_counter()
    for start in range(0, len(docs), 1000):
        pipe = r.pipeline(transaction=False)
        for i, d in enumerate(docs[start:start + 1000], start):
            pipe.execute_command("FT.ADD", "bench", f"d{i}", 1.0, "title", d["title"], "body",
                                 d["body"], "tag", d["tag"], "year", d["year"])
        pipe.execute()
    r.execute_command("FT.SEARCH", "bench", "w0", "LIMIT", 0, 1)  # commits what was added
    return time.perf_counter() - t


def ft_direct(docs: list[dict[str, str]]) -> tuple[Any, Any, float]:
    import tantivy
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("title")
    sb.add_text_field("body")
    sb.add_text_field("tag", tokenizer_name="raw", index_option="basic")
    sb.add_float_field("year", indexed=True, fast=True)
    schema = sb.build()
    index = tantivy.Index(schema)
    t = time.perf_counter()
    writer = index.writer(heap_size=15_000_000, num_threads=1)
    for i, d in enumerate(docs):
        doc = tantivy.Document()
        doc.add_text("id", f"d{i}")
        doc.add_text("title", d["title"])
        doc.add_text("body", d["body"])
        doc.add_text("tag", d["tag"])
        doc.add_float("year", float(d["year"]))
        writer.add_document(doc)
    writer.commit()
    index.reload()
    return index, schema, time.perf_counter() - t


def direct_query(schema: Any, spec: tuple[Any, ...]) -> Any:
    from tantivy import FieldType, Occur, Query
    def word(w: str) -> Any:
        return Query.boolean_query([(Occur.Should, Query.term_query(schema, f, w))
                                    for f in ("title", "body")])
    kind = spec[0]
    if kind == "word":
        return word(spec[1])
    if kind == "and":
        return Query.boolean_query([(Occur.Must, word(spec[1])), (Occur.Must, word(spec[2]))])
    if kind == "phrase":
        return Query.boolean_query([
            (Occur.Should, Query.phrase_query(schema, f, [spec[1], spec[2]]))
            for f in ("title", "body")])
    if kind == "prefix":
        return Query.boolean_query([(Occur.Should, Query.regex_query(schema, f, spec[1] + ".*"))
                                    for f in ("title", "body")])
    if kind == "tag":
        return Query.boolean_query([(Occur.Must, Query.term_query(schema, "tag", spec[1])),
                                    (Occur.Must, word(spec[2]))])
    if kind == "range":
        rng = Query.range_query(schema, "year", FieldType.Float, float(spec[1]), float(spec[2]))
        return Query.boolean_query([(Occur.Must, rng), (Occur.Must, word(spec[3]))])
    if kind == "or":
        return Query.boolean_query([(Occur.Should, word(spec[1])), (Occur.Should, word(spec[2]))])
    return Query.boolean_query([(Occur.Must, Query.all_query()), (Occur.Must, word(spec[1])),
                                (Occur.MustNot, word(spec[2]))])


def bench_ft(n_docs: int, n_queries: int, rng: random.Random) -> dict[str, Any]:
    docs = make_docs(n_docs, rng)
    queries = make_queries(n_queries, rng)
    data = tempfile.mkdtemp(prefix="bench-ft-")
    proc, port = start_herodb(data)
    r = redis.Redis(port=port)
    herodb_index_s = ft_herodb(r, docs)
    index, schema, direct_index_s = ft_direct(docs)
    searcher = index.searcher()
    lat_h, lat_d, lat_ping, same = [], [], [], 0
    for text, spec in queries:  # interleaved: load hits both alike
        t = time.perf_counter()
        got = r.execute_command("FT.SEARCH", "bench", text, "NOCONTENT", "LIMIT", 0, 10)
        lat_h.append(time.perf_counter() - t)
        t = time.perf_counter()  # direct: build the query, search, read the ids
        res = searcher.search(direct_query(schema, spec), 10)
        ids = [searcher.doc(a)["id"][0] for _, a in res.hits]
        lat_d.append(time.perf_counter() - t)
        t = time.perf_counter()
        r.ping()
        lat_ping.append(time.perf_counter() - t)
        same += int(got[0] == res.count)
    stop(proc)
    t = time.perf_counter()  # restart: the log is replayed, the index rebuilt
    proc, port = start_herodb(data)
    r = redis.Redis(port=port)
    answer = r.execute_command("FT.SEARCH", "bench", "w1", "NOCONTENT", "LIMIT", 0, 1)
    restart_s = time.perf_counter() - t
    assert answer[0] > 0
    stop(proc)
    subprocess.run(["rm", "-rf", data], check=False)
    return {"docs": n_docs, "queries": n_queries, "herodb_docs_s": n_docs / herodb_index_s,
            "direct_docs_s": n_docs / direct_index_s,
            "herodb_p50_ms": pct(lat_h, 50) * 1e3, "herodb_p99_ms": pct(lat_h, 99) * 1e3,
            "direct_p50_ms": pct(lat_d, 50) * 1e3, "direct_p99_ms": pct(lat_d, 99) * 1e3,
            "ratio": pct(lat_d, 50) / pct(lat_h, 50), "same_counts": same / n_queries,
            "ping_p50_ms": pct(lat_ping, 50) * 1e3,
            "restart_s": restart_s, "ids_sample": ids[:1]}


# ---- VEC -----------------------------------------------------------------------------------------
def make_vectors(n: int, dim: int, rng: np.random.Generator, latent: int = 24) -> np.ndarray:
    mix = np.random.default_rng(42).standard_normal((latent, dim)).astype(np.float32)
    z = rng.standard_normal((n, latent)).astype(np.float32)
    return (z @ mix + 0.05 * rng.standard_normal((n, dim)).astype(np.float32)).astype(np.float32)


def bench_vec(n: int, n_queries: int, rng: np.random.Generator) -> dict[str, Any]:
    from usearch.index import Index

    from herocelery.herodb import vectors as hv
    dim = 128
    data = make_vectors(n, dim, rng)
    queries = make_vectors(n_queries, dim, rng)
    folder = tempfile.mkdtemp(prefix="bench-vec-")
    proc, port = start_herodb(folder)
    r = redis.Redis(port=port)
    r.execute_command("VEC.CREATE", "bench", "DIM", dim, "METRIC", "cosine")
    t = time.perf_counter()
    for start in range(0, n, 1000):
        pipe = r.pipeline(transaction=False)
        for i in range(start, min(n, start + 1000)):
            pipe.execute_command("VEC.ADD", "bench", str(i), data[i].tobytes())
        pipe.execute()
    herodb_add_s = time.perf_counter() - t
    t = time.perf_counter()  # the first search starts the build; searches are exact meanwhile
    r.execute_command("VEC.SEARCH", "bench", 10, queries[0].tobytes())
    while True:
        info = r.execute_command("VEC.INFO", "bench")
        if dict(zip(info[::2], info[1::2], strict=False))[b"index_built"]:
            break
        r.ping()  # the server keeps answering during the build
        time.sleep(0.1)
    build_s = time.perf_counter() - t
    direct = Index(ndim=dim, metric="cos", dtype="f32", connectivity=hv.CONNECTIVITY,
                   expansion_add=hv.EXPANSION_ADD, expansion_search=hv.EXPANSION_SEARCH)
    direct_build_s = timed(lambda: direct.add(np.arange(n, dtype=np.uint64), data))
    normed = data / np.linalg.norm(data, axis=1, keepdims=True)
    recalls, lat_h, lat_d, lat_ping = [], [], [], []
    for qi, q in enumerate(queries):
        t = time.perf_counter()
        r.ping()
        lat_ping.append(time.perf_counter() - t)
        t = time.perf_counter()
        got = r.execute_command("VEC.SEARCH", "bench", 10, q.tobytes())
        lat_h.append(time.perf_counter() - t)
        t = time.perf_counter()
        direct.search(q, 10)
        lat_d.append(time.perf_counter() - t)
        if qi < 200:
            exact = set(np.argsort(-(normed @ (q / np.linalg.norm(q))))[:10].tolist())
            recalls.append(len(exact & {int(i) for i, _, _ in got}) / 10)
    stop(proc)
    subprocess.run(["rm", "-rf", folder], check=False)
    return {"vectors": n, "dim": dim, "queries": n_queries,
            "herodb_add_s": herodb_add_s, "herodb_build_s": build_s,
            "direct_build_s": direct_build_s, "recall_at_10": statistics.mean(recalls),
            "herodb_p50_ms": pct(lat_h, 50) * 1e3, "herodb_p99_ms": pct(lat_h, 99) * 1e3,
            "direct_p50_ms": pct(lat_d, 50) * 1e3, "ratio": pct(lat_d, 50) / pct(lat_h, 50),
            "ping_p50_ms": pct(lat_ping, 50) * 1e3}


def report(ft: dict[str, Any], vec: dict[str, Any], load: str) -> str:
    when = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""# Full-text and vector search (bench/bench_search.py)

`python bench/bench_search.py --docs {ft['docs']} --vectors {vec['vectors']} --queries {ft['queries']}`
— {when}, {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()};
load before the run: {load}. One run; the HeroDB and the direct measurements interleave query
by query, so load from other processes hits both alike.

## FT ({ft['docs']:,} short documents, {ft['queries']:,} mixed queries, top 10 ids)

| | HeroDB (FT.* over RESP) | tantivy directly |
|---|---:|---:|
| indexing, docs/s | {ft['herodb_docs_s']:,.0f} | {ft['direct_docs_s']:,.0f} |
| query p50 | {ft['herodb_p50_ms']:.3f} ms | {ft['direct_p50_ms']:.3f} ms |
| query p99 | {ft['herodb_p99_ms']:.3f} ms | {ft['direct_p99_ms']:.3f} ms |

Query ratio (direct p50 / HeroDB p50, RESP round trip included): **{ft['ratio']:.2f}**
(target ≥ 0.5); a PING round trip in the same loop: p50 {ft['ping_p50_ms']:.3f} ms. Both found
the same number of matches for {ft['same_counts']:.0%} of the queries (the direct side builds
its tantivy Query objects per query, as a caller of the library must). Restart (log replay + index rebuild) until the first query answered: {ft['restart_s']:.1f} s.

## VEC ({vec['vectors']:,} × {vec['dim']}-dim float32, cosine, {vec['queries']:,} queries, k = 10)

| | HeroDB (VEC.* over RESP) | usearch directly |
|---|---:|---:|
| adding (pipelined VEC.ADD) | {vec['herodb_add_s']:.1f} s | — |
| HNSW build (HeroDB: background, from the first search) | {vec['herodb_build_s']:.1f} s | {vec['direct_build_s']:.1f} s |
| query p50 | {vec['herodb_p50_ms']:.3f} ms | {vec['direct_p50_ms']:.3f} ms |

recall@10 against exact search (200 queries): **{vec['recall_at_10']:.3f}** (target ≥ 0.95);
query ratio (direct p50 / HeroDB p50): **{vec['ratio']:.2f}** (target ≥ 0.5); a PING round trip
in the same loop: p50 {vec['ping_p50_ms']:.3f} ms.
"""  # noqa: E501  (Markdown: a table row and a command line are one line each)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=100_000)
    ap.add_argument("--vectors", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", choices=["ft", "vec"], default=None, help="Run one half only.")
    a = ap.parse_args()
    load = open("/proc/loadavg").read().split()[:3]
    if a.only != "vec":
        ft = bench_ft(a.docs, a.queries, random.Random(1))
        print(ft, flush=True)
    if a.only != "ft":
        vec = bench_vec(a.vectors, a.queries, np.random.default_rng(1))
        print(vec, flush=True)
    if a.only:
        return
    text = report(ft, vec, " ".join(load))
    print(text)
    if a.out:
        Path(a.out).write_text(text)


if __name__ == "__main__":
    main()
