"""`herocelery heroscript parse|check|fmt` as a user runs it: real subprocesses."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from support import env_without_herocelery

SCRIPT = """# Services

// configure then start a service
!!supervisor.configure
    name:'default'
    redis_addr:'127.0.0.1:6379'   // local
    description:'
        two
        lines
        '
!!supervisor.start name:default reset id:3
"""


def hc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "herocelery", "heroscript", *args],
                          input=stdin, capture_output=True, text=True, timeout=60,
                          env=env_without_herocelery())


def test_parse_json_lists_actions_with_positions(tmp_path: Path) -> None:
    f = tmp_path / "s.md"
    f.write_text(SCRIPT)
    out = hc("parse", str(f), "--json")
    assert out.returncode == 0, out.stderr
    actions = json.loads(out.stdout)
    assert [(a["kind"], a["actor"], a["name"], a["line"], a["column"]) for a in actions] == [
        ("sal", "supervisor", "configure", 4, 1), ("sal", "supervisor", "start", 11, 1)]
    assert actions[0]["params"] == {"name": "default", "redis_addr": "127.0.0.1:6379",
                                    "description": "two\nlines"}
    assert actions[0]["comments"] == ["configure then start a service"]
    assert actions[1]["args"] == ["reset"] and actions[1]["params"] == {"name": "default"}


def test_parse_reads_stdin_and_errors_are_one_line() -> None:
    ok = hc("parse", "-", stdin="!!a.b x:1\n")
    assert ok.returncode == 0 and "!!a.b" in ok.stdout and "x='1'" in ok.stdout
    bad = hc("parse", "-", stdin="!!a.b\n    x:'open\n")
    assert bad.returncode == 1
    assert bad.stderr.strip().splitlines() == [
        "<stdin>:2:7: unterminated quote: a value opened with ' is not closed on this line"]
    assert "Traceback" not in bad.stderr


def test_check_warns_about_bare_flags_and_fails_on_errors(tmp_path: Path) -> None:
    f = tmp_path / "s.hero"
    f.write_text(SCRIPT)
    out = hc("check", str(f))
    assert out.returncode == 0
    assert f"{f}:11:1: warning: !!supervisor.start: bare word 'reset'" in out.stderr
    assert "2 action(s), 1 warning(s)" in out.stdout
    assert hc("check", "--strict", str(f)).returncode == 1
    f.write_text("!!!!!too.many\n")
    bad = hc("check", str(f))
    assert bad.returncode == 1 and bad.stderr.startswith(f"{f}:1:1: too many '!'")
    missing = hc("check", str(tmp_path / "nope.hero"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_fmt_is_canonical_idempotent_and_keeps_ids(tmp_path: Path) -> None:
    f = tmp_path / "s.md"
    f.write_text(SCRIPT)
    first = hc("fmt", str(f))
    assert first.returncode == 0, first.stderr
    assert "id:3" in first.stdout and first.stdout.startswith("# Services\n\n// configure")
    g = tmp_path / "again.md"
    g.write_text(first.stdout)
    assert hc("fmt", str(g)).stdout == first.stdout
    assert hc("fmt", "--write", str(f)).returncode == 0
    assert f.read_text() == first.stdout


def test_check_validates_flow_files_with_positions(tmp_path: Path) -> None:
    f = tmp_path / "flow.hero"
    f.write_text("!!flow.define name:x\n!!flow.job name:a runner:python\n    retries:lots\n")
    out = hc("check", str(f))
    assert out.returncode == 1
    assert out.stderr.strip() == f"{f}:3:5: param 'retries': 'lots' is not an integer"
