"""The README's main command and the shipped examples, as a user runs them."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], tmp_path: Path, store_db: int | None = None
        ) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env["HEROCELERY_DATA_DIR"] = str(tmp_path / "data")
    if store_db is not None:
        env["HEROCELERY_STORE_DB"] = str(store_db)
    return subprocess.run([sys.executable, "-m", "herocelery", *args], capture_output=True,
                          text=True, timeout=240, env=env, cwd=ROOT)


def test_the_readme_main_command_runs_on_the_embedded_herodb(tmp_path):
    """No broker configured: `herocelery run` starts HeroDB itself, runs, stops it."""
    proc = run(["run", "examples/etl.yaml"], tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "double" in proc.stdout and "[2, 4, 6]" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "data" / "herodb").is_dir()  # its data lives in the data directory
    again = run(["run", "examples/etl.yaml", "--json"], tmp_path)  # restart on the same data
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["jobs"]["double"]["result"] == [2, 4, 6]


def test_the_heroscript_example_runs_python_rhai_and_heroscript_jobs(redis_server, tmp_path):
    # a store of its own: the session's workers share this redis-server (store database 3)
    proc = run(["--broker", redis_server.url + "/12", "run", "examples/etl.heroscript",
                "--json"], tmp_path, store_db=42)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = json.loads(proc.stdout)["jobs"]
    assert jobs["double"]["result"] == [2, 4, 6]
    assert jobs["report"]["result"] == "doubled [2, 4, 6]"
