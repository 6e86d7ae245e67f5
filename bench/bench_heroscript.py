"""Parse a generated ~10 MB HeroScript playbook: MB/s (median of repeats) and peak memory,
through the C accelerator and through the pure-Python parser, side by side in one run.

    python bench/bench_heroscript.py [--mb 10] [--repeats 5]

Each repeat parses the same text once per path (alternating, so both see the same machine
load). Speed is measured without tracing; peak memory is measured in a separate pass per
path with tracemalloc (Python allocations made while parsing, the input text excluded).
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time
import tracemalloc
from datetime import UTC, datetime

from herocelery.heroscript import parse
from herocelery.heroscript._accel import accelerated

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


def measure(text: str, pure: bool, times: list[float], cpu: list[float]) -> int:
    gc.collect()
    t0, c0 = time.perf_counter(), time.process_time()
    actions = parse(text, "bench.hero", pure=pure)
    times.append(time.perf_counter() - t0)
    cpu.append(time.process_time() - c0)
    count = len(actions)
    del actions
    return count


def peak_memory(text: str, pure: bool) -> int:
    gc.collect()
    tracemalloc.start()
    actions = parse(text, "bench.hero", pure=pure)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del actions
    return peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=5)
    opts = ap.parse_args()
    text = generate(int(opts.mb * 1024 * 1024))
    size = len(text.encode())
    mb = size / (1024 * 1024)
    paths = {"accelerated (C)": False, "pure Python": True} if accelerated() else \
        {"pure Python": True}
    times: dict[str, list[float]] = {name: [] for name in paths}
    cpu: dict[str, list[float]] = {name: [] for name in paths}
    counts = set()
    for _ in range(opts.repeats):
        for name, pure in paths.items():
            counts.add(measure(text, pure, times[name], cpu[name]))
    assert len(counts) == 1, counts
    c0 = time.process_time()
    sum(range(10**7))
    calib = time.process_time() - c0
    peaks = {name: peak_memory(text, pure) for name, pure in paths.items()}
    print(f"date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; machine: "
          f"{platform.machine()}, {len(os.sched_getaffinity(0))} cores; "
          f"Python {sys.version.split()[0]}; load average {os.getloadavg()[0]:.1f}; "
          f"calibration sum(range(1e7)) {calib:.3f} s CPU")
    print(f"input: {mb:.2f} MB, {counts.pop()} actions, {text.count(chr(10))} lines")
    if not accelerated():
        print("accelerator: not built (or HEROCELERY_PURE_PYTHON=1); pure Python only")
    for name in paths:
        med, cmed = statistics.median(times[name]), statistics.median(cpu[name])
        print(f"{name}: parse median {med:.3f} s of {opts.repeats} (min {min(times[name]):.3f}"
              f", max {max(times[name]):.3f}) -> {mb / med:.1f} MB/s; CPU median {cmed:.3f} s"
              f" -> {mb / cmed:.1f} MB/s; peak memory {peaks[name] / 1024 / 1024:.1f} MB = "
              f"{peaks[name] / size:.2f}x input")
    if len(paths) == 2:
        fast, pure = (statistics.median(times[name]) for name in paths)
        print(f"speed-up: {pure / fast:.1f}x (medians)")


if __name__ == "__main__":
    main()
