"""Rhai interpreter speed: four programs, each timed in Rhai and as the same algorithm in
CPython, in one run; prints median times, ratios and their geometric mean.

    python bench/bench_rhai.py [--repeats 5] [--markdown]
"""
from __future__ import annotations

import argparse
import math
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any

from herocelery.runners.rhai import Engine, Limits

FIB = """
fn fib(n) { if n < 2 { n } else { fib(n - 1) + fib(n - 2) } }
fib(25)
"""

SIEVE = """
let n = 200000;
let flags = [];
flags.pad(n + 1, true);
flags[0] = false;
flags[1] = false;
let count = 0;
for i in 2..=n {
    if flags[i] {
        count += 1;
        let j = i * i;
        while j <= n {
            flags[j] = false;
            j += i;
        }
    }
}
count
"""

LOOP = """
let sum = 0;
for i in 0..1000000 {
    sum += i % 7;
}
sum
"""

STRING = """
let s = "";
for i in 0..100000 {
    s += "piece";
}
s.len()
"""


def py_fib() -> int:
    def fib(n: int) -> int:
        if n < 2:
            return n
        return fib(n - 1) + fib(n - 2)
    return fib(25)


def py_sieve() -> int:
    n = 200000
    flags = [True] * (n + 1)
    flags[0] = flags[1] = False
    count = 0
    for i in range(2, n + 1):
        if flags[i]:
            count += 1
            j = i * i
            while j <= n:
                flags[j] = False
                j += i
    return count


def py_loop() -> int:
    total = 0
    for i in range(1000000):
        total += i % 7
    return total


def py_string() -> int:
    s = ""
    for _ in range(100000):
        s += "piece"
    return len(s)


ORDERS = [{"sku": f"s{i % 50}", "qty": i % 7, "price": 1.5} for i in range(50000)]

JOB = """
let totals = #{};
let n = 0;
for o in INPUTS.orders {
    if o.qty > 0 {
        totals[o.sku] = (totals[o.sku] ?? 0.0) + o.qty * o.price;
        n += 1;
    }
}
let out = [];
for k in totals.keys() { out.push(`${k}:${totals[k]}`); }
[n, out.len()]
"""


def py_job() -> list[int]:
    totals: dict[str, float] = {}
    n = 0
    for o in ORDERS:
        if o["qty"] > 0:
            totals[o["sku"]] = totals.get(o["sku"], 0.0) + o["qty"] * o["price"]
            n += 1
    out = [f"{k}:{v}" for k, v in sorted(totals.items())]
    return [n, len(out)]


# outside the four: a map-heavy job over INPUTS (scope conversion included)
EXTRA: list[tuple[str, str, Callable[[], Any]]] = [("job: 50k orders", JOB, py_job)]

CASES: list[tuple[str, str, Callable[[], Any]]] = [
    ("fib(25)", FIB, py_fib),
    ("sieve 200k", SIEVE, py_sieve),
    ("loop 1M i % 7", LOOP, py_loop),
    ("string 100k +=", STRING, py_string),
]


def timed(f: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = f()
    return time.perf_counter() - t0, result


def measure(rhai: Callable[[], Any], py: Callable[[], Any], repeats: int
            ) -> tuple[float, float, float]:
    """Median Rhai time, median CPython time, median of the per-repeat ratios; the two are
    run back to back in each repeat so that a change of machine load hits both."""
    rts, pys, ratios = [], [], []
    for _ in range(repeats):
        r_s, r_res = timed(rhai)
        p_s, p_res = timed(py)
        assert r_res == p_res, (r_res, p_res)
        rts.append(r_s)
        pys.append(p_s)
        ratios.append(r_s / p_s)
    return statistics.median(rts), statistics.median(pys), statistics.median(ratios)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    engine = Engine(Limits(max_call_levels=256))
    rows, ratios = [], []
    for name, script, py in CASES:
        rt_s, py_s, ratio = measure(lambda script=script: engine.evaluate(script), py, args.repeats)
        ratios.append(ratio)
        rows.append((name, rt_s, py_s, ratio))
    geo = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    extra = []
    for name, script, py in EXTRA:
        extra.append((name, *measure(lambda script=script: engine.evaluate(
            script, scope={"INPUTS": {"orders": ORDERS}}), py, args.repeats)))
    head = (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, 2 cores, "
            f"{platform.machine()}, Python {platform.python_version()}, "
            f"median of {args.repeats} back-to-back pairs")
    if args.markdown:
        print(head + "\n")
        print("| benchmark | Rhai (s) | CPython (s) | ratio |\n|---|---|---|---|")
        for name, a, b, r in rows:
            print(f"| {name} | {a:.4f} | {b:.4f} | {r:.1f}x |")
        print(f"| geometric mean | | | {geo:.1f}x |")
        for name, a, b, r in extra:
            print(f"| ({name}, not in the mean) | {a:.4f} | {b:.4f} | {r:.1f}x |")
    else:
        print(head)
        for name, a, b, r in rows:
            print(f"{name:16} rhai {a:8.4f}s  python {b:8.4f}s  ratio {r:5.1f}x")
        print(f"geometric mean ratio {geo:.2f}x")
        for name, a, b, r in extra:
            print(f"{name:16} rhai {a:8.4f}s  python {b:8.4f}s  ratio {r:5.1f}x (not in the mean)")


if __name__ == "__main__":
    main()
