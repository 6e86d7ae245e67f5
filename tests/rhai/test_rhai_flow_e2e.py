"""A flow end to end: a rhai job consumes a python job's result and writes to its context
database (real redis-server, real Celery workers started by `herocelery run`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import redis

from herocelery.settings import Settings

FLOW = """
name: rhai-e2e
jobs:
  numbers: {{runner: python, script: "result = {{'values': [3, 4, 5], 'tag': '{tag}'}}"}}
  squares:
    runner: rhai
    after: [numbers]
    script: |
      let data = INPUTS.numbers;
      let out = data.values.map(|x| x * x);
      db_set(`${{data.tag}}:total`, out.reduce(|s, x| s + x, 0));
      db_rpush(`${{data.tag}}:seen`, CONTEXT_ID);
      print(`squares of ${{data.values}}`);
      #{{squares: out, total: parse_int(db_get(`${{data.tag}}:total`))}}
  broken:
    runner: rhai
    after: [numbers]
    allow_failure: true
    script: |
      let x = INPUTS.numbers.values;
      x.no_such_method()
  endless:
    runner: rhai
    after: [numbers]
    allow_failure: true
    timeout: 1
    script: "let i = 0; loop {{ i += 1; }}"
"""


def test_a_rhai_job_uses_a_python_jobs_result_and_its_context_db(
        redis_server: Any, tmp_path: Path) -> None:
    tag = f"rhai-e2e-{uuid.uuid4().hex[:8]}"
    flow = tmp_path / "flow.yaml"
    flow.write_text(FLOW.format(tag=tag))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env["HEROCELERY_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.run([sys.executable, "-m", "herocelery", "--broker",
                           redis_server.url + "/7", "run", str(flow), "--json"],
                          capture_output=True, text=True, timeout=150, env=env)
    out = json.loads(proc.stdout)
    jobs = out["jobs"]
    assert jobs["squares"] == {"status": "finished",
                               "result": {"squares": [9, 16, 25], "total": 50}, "error": None}
    assert jobs["broken"]["status"] == "error"
    assert "Function not found: no_such_method (array)" in json.dumps(jobs["broken"]["error"])
    # past its timeout a rhai job ends `timeout` (issue 12.10), not `error`
    assert jobs["endless"]["status"] == "timeout", jobs["endless"]
    assert "Script terminated" in json.dumps(jobs["endless"]["error"])
    assert "Traceback" not in proc.stderr
    context_db = redis.Redis.from_url(redis_server.url + f"/{Settings().context_db}",
                                      decode_responses=True)
    try:
        assert context_db.get(f"{tag}:total") == "50"
        assert context_db.lrange(f"{tag}:seen", 0, -1) == ["default"]
    finally:
        context_db.delete(f"{tag}:total", f"{tag}:seen")
        context_db.close()
