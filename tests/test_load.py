"""Three ways to write a flow give one model; every bad input is one clear error."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from herocelery.errors import FlowError
from herocelery.flow import Flow, load

ROOT = Path(__file__).resolve().parents[1]
ETL_YAML = ROOT / "examples" / "etl.yaml"


def python_etl() -> Flow:
    f = Flow("etl", context="default")
    f.job("extract", runner="python", script="result = [1, 2, 3]")
    f.job("double", runner="python", after=["extract"], retries=2,
          script='result = [x * 2 for x in inputs["extract"]]\n')
    return f


def test_yaml_json_and_python_give_the_same_flow(tmp_path):
    from_yaml = load(str(ETL_YAML))
    as_json = tmp_path / "etl.json"
    as_json.write_text(json.dumps(from_yaml.model_dump()))
    assert load(str(as_json)) == from_yaml
    assert python_etl().spec() == from_yaml


def test_a_flow_is_importable_as_module_attribute(tmp_path, monkeypatch):
    (tmp_path / "myflows.py").write_text(textwrap.dedent("""
        from herocelery import Flow
        etl = Flow("etl")
        etl.job("extract", script="result = [1, 2, 3]")
        def make():
            return etl
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert list(load("myflows:etl").jobs) == ["extract"]
    assert load("myflows:make").name == "etl"
    with pytest.raises(FlowError, match="has no attribute 'nope'"):
        load("myflows:nope")


@pytest.mark.parametrize("text, message", [
    ("name: x\njobs:\n  a: {script: x}\n  a: {script: y}\n",
     "line 4, column 3: invalid YAML: duplicate key 'a'"),
    ("name: x\njobs:\n  a: {script: x, retries: lots}\n",
     "job 'a', field 'retries': Input should be a valid integer"),
    ("name: x\njobs:\n  a: {script: x, colour: red}\n", "job 'a', field 'colour': unknown field"),
    ("name: x\njobs:\n  a: {runner: python}\n", "job 'a', field 'script': missing"),
    ("name: x\njobs:\n  a: [1, 2\n", "invalid YAML"),
    ("- just\n- a list\n", "a flow must be a mapping"),
    ("name: x\njobs:\n  a: 3\n", "job 'a': must be a mapping"),
    ("name: 'bad name!'\njobs:\n  a: {script: x}\n", "field 'name'"),
    ("name: x\njobs:\n  a: {script: x, timeout: -1}\n", "job 'a', field 'timeout'"),
])
def test_malformed_files_get_one_message_naming_where(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(FlowError) as err:
        load(str(path))
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_bad_json_names_line_and_column(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n "jobs": {"a": {"script": "x"},}}')
    with pytest.raises(FlowError, match=r"line 2, column \d+: invalid JSON"):
        load(str(path))


def test_missing_file_and_duplicate_python_job():
    with pytest.raises(FlowError, match="no such file"):
        load("/nonexistent/flow.yaml")
    f = Flow("x")
    f.job("a", script="x")
    with pytest.raises(FlowError, match="job 'a': defined twice"):
        f.job("a", script="y")


def test_cli_prints_one_line_and_no_traceback_for_bad_input(tmp_path):
    path = tmp_path / "cyc.yaml"
    path.write_text("name: x\njobs:\n  a: {script: x, after: [b]}\n  b: {script: x, after: [a]}\n")
    proc = subprocess.run([sys.executable, "-m", "herocelery", "--broker",
                           "redis://127.0.0.1:1/1", "flow", "submit", str(path)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "cycle between jobs" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert len(proc.stderr.strip().splitlines()) == 1
