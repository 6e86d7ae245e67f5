"""Redis 7.0's own Tcl unit tests against HeroDB, in external-server mode (a measuring tool).

The suite is not shipped here: get it from Debian's source package (`apt-get source
--download-only redis`, then unpack `redis_7.0.15.orig.tar.gz`) and pass its folder. Each unit
file runs against a fresh HeroDB (`--dir` in a temporary folder, appendfsync no) with
`tclsh tests/test_helper.tcl --host 127.0.0.1 --port P --single unit/X --clients 1`; the
`[ok]` and `[err]` lines are counted, and a unit that aborts (an exception, a timeout) is
reported as such. The same run against redis-server gives the ceiling (tests it skips in
external mode are skipped for both).

    python bench/bench_herodb_redis_suite.py --suite /tmp/redis-src/redis-7.0.15 \
        [--units unit/type/string,unit/type/list] [--redis] [--timeout 300] [--out FILE]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import free_port, wait_port  # noqa: E402

UNITS = ("unit/type/string unit/type/incr unit/type/list unit/type/hash unit/type/set "
         "unit/type/zset unit/type/stream unit/type/stream-cgroups unit/keyspace unit/expire "
         "unit/scan unit/multi unit/pubsub unit/scripting unit/bitops unit/bitfield "
         "unit/hyperloglog unit/sort unit/info unit/info-command unit/protocol unit/auth "
         "unit/querybuf unit/maxmemory unit/obuf-limits unit/introspection unit/introspection-2 "
         "unit/other unit/limits unit/quit unit/dump unit/latency-monitor unit/tracking "
         "unit/type/list-2 unit/type/list-3").split()
OK = re.compile(r"^\[ok\]: ", re.M)
ERR = re.compile(r"^\[err\]: (.*)$", re.M)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
EXC = re.compile(r"^\[exception\]|^\[TIMEOUT\]|Killing still running", re.M)


def start(kind: str, d: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if kind == "redis-server":
        cmd = ["redis-server", "--port", str(port), "--save", "", "--dir", d,
               "--enable-debug-command", "yes"]
    else:
        cmd = [sys.executable, "-m", "herocelery.herodb", "serve", "--port", str(port),
               "--dir", d, "--appendfsync", "no"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return proc, port


def run_unit(suite: Path, kind: str, unit: str, timeout: float) -> tuple[int, int, str, list[str]]:
    d = tempfile.mkdtemp(prefix="suite-")
    proc, port = start(kind, d)
    status = "done"
    try:
        res = subprocess.run(["tclsh", "tests/test_helper.tcl", "--host", "127.0.0.1", "--port",
                              str(port), "--single", unit, "--clients", "1", "--timeout", "60"],
                             cwd=suite, capture_output=True, text=True, timeout=timeout)
        text = res.stdout + res.stderr
    except subprocess.TimeoutExpired as exc:
        text = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) \
            else (exc.stdout or "")
        status = "timeout"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(d, ignore_errors=True)
    text = ANSI.sub("", text)
    if status == "done" and EXC.search(text):
        status = "aborted"
    return len(OK.findall(text)), len(ERR.findall(text)), status, ERR.findall(text)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", type=Path, required=True)
    ap.add_argument("--units", default=",".join(UNITS))
    ap.add_argument("--redis", action="store_true", help="also run against redis-server")
    ap.add_argument("--timeout", type=float, default=300)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args()
    kinds = ["herodb"] + (["redis-server"] if args.redis else [])
    lines = [f"# Redis 7.0 unit tests, external mode ({time.strftime('%Y-%m-%d %H:%M')} UTC, "
             f"load {os.getloadavg()[0]:.1f})", "",
             "| unit | " + " | ".join(f"{k} ok / err / status" for k in kinds) + " |",
             "|---|" + "---|" * len(kinds)]
    totals = {k: [0, 0] for k in kinds}
    failures: list[str] = []
    for unit in args.units.split(","):
        cells = []
        for kind in kinds:
            ok, err, status, errs = run_unit(args.suite, kind, unit, args.timeout)
            totals[kind][0] += ok
            totals[kind][1] += err
            cells.append(f"{ok} / {err} / {status}")
            if kind == "herodb":
                failures += [f"{unit}: {e}" for e in errs]
        lines.append(f"| {unit} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines.append("| **total** | " + " | ".join(f"{t[0]} / {t[1]}" for t in totals.values()) + " |")
    text = ("\n".join(lines) + "\n\nHeroDB failures:\n\n"
            + "\n".join(f"- {f}" for f in failures) + "\n")
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
