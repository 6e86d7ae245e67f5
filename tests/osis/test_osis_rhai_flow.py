"""A rhai job in a real worker reaches OSIS through the osis_* bindings (wired by the runner
registry's extension hook, since the rhai package may not import osis)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

FLOW = """
name: osis-rhai
jobs:
  define:
    runner: osis
    script: '{"action": "define", "model": "note", "fields": {"title": "str"}, "index": ["title"]}'
  write:
    runner: rhai
    after: [define]
    script: |
      let a = osis_set("note", #{title: "from a rhai job"});
      let found = osis_find("note", #{title: "from*"});
      [osis_get("note", a.id).title, found.len()]
"""


def test_a_rhai_job_in_a_worker_calls_osis(redis_server, tmp_path):
    path = tmp_path / "flow.yaml"
    path.write_text(FLOW)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env["HEROCELERY_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run([sys.executable, "-m", "herocelery", "--broker",
                           redis_server.url + "/11", "run", str(path), "--json"],
                          capture_output=True, text=True, timeout=180, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(proc.stdout)
    assert out["jobs"]["write"]["result"] == ["from a rhai job", 1]
