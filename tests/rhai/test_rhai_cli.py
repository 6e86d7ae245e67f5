"""`herocelery rhai eval|run` as a user runs it: a real subprocess."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from support import env_without_herocelery  # type: ignore[import-not-found]


def hc(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "herocelery.cli", *args], input=stdin,
                          capture_output=True, text=True, timeout=60,
                          env=env_without_herocelery())


@pytest.mark.parametrize(("script", "shown"), [
    ("40 + 2", "42"),
    ('"text"', "text"),
    ("'c'", "c"),
    ("[1, 3.5, 1.0, true, \"a\", 'c', (), #{a: 1}]",
     "[1, 3.5, 1.0, true, \"a\", 'c', (), #{\"a\": 1}]"),
])
def test_eval_prints_the_display_form(script: str, shown: str) -> None:
    r = hc("rhai", "eval", script)
    assert r.returncode == 0, r.stderr
    assert r.stdout == shown + "\n"


def test_eval_json_format() -> None:
    r = hc("rhai", "eval", "--format", "json", "#{a: [1, 2.5, ()], b: 'x'}")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"a": [1, 2.5, None], "b": "x"}


def test_print_and_debug_go_to_stderr() -> None:
    r = hc("rhai", "eval", 'print("hello"); debug("dbg"); 7')
    assert r.returncode == 0
    assert r.stdout == "7\n"
    assert r.stderr.splitlines() == ["hello", '"dbg"']


def test_script_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    f = tmp_path / "s.rhai"
    f.write_text("fn sq(x) { x * x }\nsq(9)\n")
    assert hc("rhai", "eval", "-f", str(f)).stdout == "81\n"
    assert hc("rhai", "eval", "-", stdin="let x = 6;\nx * 7").stdout == "42\n"


@pytest.mark.parametrize(("script", "message"), [
    ('throw "boom";', "Runtime error: boom (line 1, position 1)"),
    ("let x = ;", "(line 1, position 9)"),
    ("let a = 1;\nnope(a)", "Function not found: nope (i64) (line 2, position 1)"),
    ("9223372036854775807 + 1", "Addition overflow"),
])
def test_errors_exit_non_zero_with_one_line_and_no_traceback(script: str, message: str) -> None:
    r = hc("rhai", "eval", script)
    assert r.returncode != 0
    assert r.stdout == ""
    assert message in r.stderr
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_timeout_and_operation_limits_from_the_command_line() -> None:
    r = hc("rhai", "eval", "--timeout", "0.3", "loop { }")
    assert r.returncode != 0 and "Script terminated" in r.stderr
    r = hc("rhai", "eval", "--max-operations", "100", "loop { }")
    assert r.returncode != 0 and "Too many operations" in r.stderr


def test_eval_has_default_limits_that_name_their_flag() -> None:
    # issue 12.10: with no flags, `loop {}` ends with a clear error instead of running forever
    r = hc("rhai", "eval", "loop {}")
    assert r.returncode != 0
    assert "Too many operations" in r.stderr and "--max-operations" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    r = hc("rhai", "eval", "--max-operations", "0", "--timeout", "0.3", "loop {}")
    assert r.returncode != 0 and "--timeout" in r.stderr
    r = hc("rhai", "eval", "--max-operations", "-1", "1")
    assert r.returncode == 2 and "--max-operations" in r.stderr


def test_run_executes_a_file_for_its_effects(tmp_path: Path) -> None:
    f = tmp_path / "job.rhai"
    f.write_text('for i in 0..3 { print(`line ${i}`); }\n42\n')
    r = hc("rhai", "run", str(f))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert r.stderr.splitlines() == ["line 0", "line 1", "line 2"]


def test_run_reports_a_missing_file_and_a_failing_script(tmp_path: Path) -> None:
    r = hc("rhai", "run", str(tmp_path / "missing.rhai"))
    assert r.returncode != 0 and "missing.rhai" in r.stderr
    f = tmp_path / "bad.rhai"
    f.write_text("let x = 1;\nthrow x + 1;\n")
    r = hc("rhai", "run", str(f))
    assert r.returncode != 0
    assert "Runtime error: 2 (line 2, position 1)" in r.stderr


def test_eval_needs_a_script() -> None:
    r = hc("rhai", "eval")
    assert r.returncode != 0
    assert "SCRIPT" in r.stderr
