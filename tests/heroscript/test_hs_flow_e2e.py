"""End to end: `herocelery run` executes a HeroScript flow file whose jobs include a
heroscript job (real redis-server, real Celery workers started by `herocelery run`)."""
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

FLOW = """# HeroScript flow

A python job produces numbers; a heroscript job stores them and reports.

!!flow.define name:hs-e2e

!!flow.job name:extract runner:python
    script:'
        result = {{"values": [1, 2, 3], "tag": "{tag}"}}
        '

!!flow.job name:store runner:heroscript after:extract timeout:30s
    script:'
        !!db.set key:'{{inputs.extract.tag}}:vals' value:'{{inputs.extract.values}}'
        !!db.rpush key:'{{inputs.extract.tag}}:seen' value:'{{job.context_id}}'
        !!play.echo text:'stored {{inputs.extract.values}}'
        !!job.result json:'{{"values": {{inputs.extract.values}}, "job": "{{job.name}}"}}'
        '

!!flow.job name:broken runner:heroscript after:extract allow_failure:true
    script:'
        !!play.echo text:fine
        !!db.set key:x value:'{{inputs.nope}}'
        '
"""


def test_a_heroscript_flow_with_a_heroscript_job_runs_end_to_end(
        redis_server: Any, tmp_path: Path) -> None:
    tag = f"hs-e2e-{uuid.uuid4().hex[:8]}"
    flow = tmp_path / "flow.md"
    flow.write_text(FLOW.format(tag=tag))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env["HEROCELERY_DATA_DIR"] = str(tmp_path / "data")
    # a store of its own: the session's workers share this redis-server (store database 3)
    env["HEROCELERY_STORE_DB"] = "38"
    proc = subprocess.run([sys.executable, "-m", "herocelery", "--broker",
                           redis_server.url + "/8", "run", str(flow), "--json"],
                          capture_output=True, text=True, timeout=150, env=env)
    assert proc.stdout.strip(), proc.stderr
    jobs = json.loads(proc.stdout)["jobs"]
    assert jobs["extract"]["status"] == "finished"
    assert jobs["store"] == {"status": "finished", "error": None,
                             "result": {"values": [1, 2, 3], "job": "store"}}
    assert jobs["broken"]["status"] == "error"
    error = json.dumps(jobs["broken"]["error"])
    assert "job:broken:2:" in error and "{inputs.nope}" in error
    assert "Traceback" not in proc.stderr
    context_db = redis.Redis.from_url(redis_server.url + f"/{Settings().context_db}",
                                      decode_responses=True)
    try:
        assert context_db.get(f"{tag}:vals") == "[1, 2, 3]"
        assert context_db.lrange(f"{tag}:seen", 0, -1) == ["default"]
    finally:
        context_db.delete(f"{tag}:vals", f"{tag}:seen")
        context_db.close()
