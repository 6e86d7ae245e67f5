"""Parse a generated ~10 MB HeroScript playbook: MB/s (median of repeats) and peak memory.

    python bench/bench_heroscript.py [--mb 10] [--repeats 5]

Speed is measured without tracing; peak memory is measured in a separate pass with
tracemalloc (Python allocations made while parsing, the input text excluded).
"""
from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import sys
import time
import tracemalloc
from datetime import datetime, timezone

from herocelery.heroscript import parse

WORDS = ["alpha", "beta", "gamma", "delta", "wallet", "tft", "primary", "node", "site"]


def generate(target_bytes: int, seed: int = 7) -> str:
    """Actions with single-line, quoted, list and multi-line params, comments, Markdown."""
    rnd = random.Random(seed)
    parts: list[str] = []
    size = 0
    i = 0
    while size < target_bytes:
        i += 1
        w = rnd.sample(WORDS, 3)
        kind = i % 4
        if kind == 0:
            block = (f"// action {i}\n!!payment.add person:p{i} amount:{rnd.randint(1, 9999)}\n"
                     f"    name: '{w[0]} {w[1]}'\n    tags: {w[0]},{w[1]} ,{w[2]}\n"
                     f"    preferred: false   // note {i}\n")
        elif kind == 1:
            block = (f"!!site.config name:s{i} path:'/data/{w[0]}/{i}' "
                     f"domains:[{w[1]}.com, '{w[2]}.org'] port:{8000 + i % 1000}\n")
        elif kind == 2:
            block = (f"!!flow.job name:job{i} runner:python after:job{i - 1}\n"
                     f"    script:'\n        x = {i}\n        y = [x, x * 2]\n"
                     f"        result = {{\"sum\": sum(y)}}\n        '\n")
        else:
            block = (f"Some Markdown text about {w[0]} and {w[1]}.\n\n"
                     f"!!db.set key:k{i} value:\"it's {w[2]}\" ex:60\n")
        parts.append(block)
        size += len(block)
    return "".join(parts)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    opts = ap.parse_args()
    text = generate(int(opts.mb * 1024 * 1024))
    mb = len(text.encode()) / (1024 * 1024)
    times, cpu = [], []
    count = 0
    for _ in range(opts.repeats):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        actions = parse(text, "bench.hero")
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        count = len(actions)
        del actions
    c0 = time.process_time()
    sum(range(10**7))
    calib = time.process_time() - c0
    gc.collect()
    tracemalloc.start()
    actions = parse(text, "bench.hero")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    med = statistics.median(times)
    print(f"date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; machine: "
          f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores; "
          f"Python {sys.version.split()[0]}")
    print(f"input: {mb:.2f} MB, {count} actions, {text.count(chr(10))} lines")
    print(f"parse: median {med:.3f} s of {opts.repeats} "
          f"(min {min(times):.3f}, max {max(times):.3f}) -> {mb / med:.1f} MB/s")
    print(f"parse CPU time: median {statistics.median(cpu):.3f} s -> "
          f"{mb / statistics.median(cpu):.1f} MB/s of CPU; load average "
          f"{__import__('os').getloadavg()[0]:.1f}; calibration sum(range(1e7)) "
          f"{calib:.3f} s CPU")
    print(f"peak memory while parsing (tracemalloc): {peak / 1024 / 1024:.1f} MB = "
          f"{peak / len(text.encode()):.2f}x input")
    del actions


if __name__ == "__main__":
    main()
