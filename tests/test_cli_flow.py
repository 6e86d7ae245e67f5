"""The `herocelery flow ...` commands against a running installation (real workers)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def hc(settings, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    env.update(settings.to_env())
    proc = subprocess.run([sys.executable, "-m", "herocelery", *args], capture_output=True,
                          text=True, timeout=120, env=env)
    assert "Traceback" not in proc.stderr, proc.stderr
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.fixture(scope="module")
def n_flow(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("flows") / "n.yaml"
    path.write_text(
        "name: nshape\njobs:\n"
        "  a: {script: 'result = 1'}\n"
        "  b: {script: 'result = 2'}\n"
        "  c: {after: [a, b], script: 'result = inputs[\"a\"] + inputs[\"b\"]'}\n"
        "  d: {after: [b], runner: shell, script: 'echo d'}\n")
    return path


def test_submit_wait_status_list_and_graph(cluster, hero_settings, n_flow):
    out = json.loads(hc(hero_settings, "flow", "submit", str(n_flow), "--wait", "--json").stdout)
    assert out["status"] == "finished" and out["jobs"]["c"]["result"] == 3
    flow_id = out["flow_id"]
    status = json.loads(hc(hero_settings, "flow", "status", flow_id, "--json").stdout)
    assert status["jobs"]["d"]["result"] == {"stdout": "d\n", "exit_code": 0}
    listed = json.loads(hc(hero_settings, "flow", "list", "--json").stdout)
    assert any(f["id"] == flow_id and f["status"] == "finished" for f in listed)
    table = hc(hero_settings, "flow", "status", flow_id).stdout
    assert flow_id in table and table.count("finished") >= 5  # title and four jobs
    tree = hc(hero_settings, "flow", "graph", flow_id).stdout
    assert "c [finished]  (also after b)" in tree and "d [finished]" in tree
    dot = hc(hero_settings, "flow", "graph", flow_id, "--format", "dot").stdout
    assert dot.startswith("digraph") and "j_b -> j_d;" in dot and "j_a -> j_c;" in dot
    mer = hc(hero_settings, "flow", "graph", str(n_flow), "--format", "mermaid").stdout
    assert mer.startswith("graph TD") and "j_b --> j_c" in mer


def test_user_errors_are_one_line(cluster, hero_settings, n_flow):
    proc = hc(hero_settings, "flow", "status", "no-such-flow", check=False)
    assert proc.returncode == 1 and "no flow with id 'no-such-flow'" in proc.stderr
    ghost = "77-" + "0" * 32  # names a database no context holds
    proc = hc(hero_settings, "flow", "status", ghost, check=False)
    assert proc.returncode == 1 and "belongs to no context" in proc.stderr
    assert "Traceback" not in proc.stderr
    out = json.loads(hc(hero_settings, "flow", "submit", str(n_flow), "--wait",
                        "--json").stdout)
    proc = hc(hero_settings, "flow", "cancel", out["flow_id"], check=False)
    assert proc.returncode == 2 and "already ended (finished)" in proc.stderr
    proc = hc(hero_settings, "flow", "retry", out["flow_id"], check=False)
    assert proc.returncode == 2 and "nothing to retry" in proc.stderr


def test_submit_without_wait_prints_the_id_and_the_flow_runs(cluster, hero_settings, n_flow):
    flow_id = hc(hero_settings, "flow", "submit", str(n_flow)).stdout.strip()
    assert re.fullmatch(r"\d+-[0-9a-f]{32}", flow_id)  # names its context's database
    from herocelery.flow import FlowHandle
    handle = FlowHandle(flow_id, hero_settings)
    try:
        assert handle.wait(60).value == "finished"
    finally:
        handle.close()


def test_submit_wait_prints_the_flow_id_first_then_the_outcome(cluster, hero_settings, n_flow):
    out = hc(hero_settings, "flow", "submit", str(n_flow), "--wait").stdout
    first, rest = out.split("\n", 1)
    assert re.fullmatch(r"\d+-[0-9a-f]{32}", first)          # the id alone, on the first line
    assert f"flow {first}: finished" in rest


def test_status_on_a_configured_broker_shows_its_nodes_runners(cluster, hero_settings):
    """`herocelery status` with a broker configured and no `up`: the store's nodes."""
    rows = json.loads(hc(hero_settings, "status", "--json").stdout)["rows"]
    states = {(r["process"], r["node"]): r["state"] for r in rows}
    assert states[("runner python", "node1")].startswith("running")
    assert states[("runner shell", "node1")].startswith("running")
