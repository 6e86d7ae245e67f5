"""Issue 19.7: jobs that run inside the shared runner process (rhai, heroscript) have a bounded
total memory. Each case runs in a fresh interpreter so that its peak RSS is its own."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from support import env_without_herocelery  # type: ignore[import-not-found]

PRELUDE = textwrap.dedent("""
    import json, resource, sys
    from herocelery.runners.base import JobContext

    def job(runner, script, inputs=None):
        return JobContext(job_id="j", flow_id="f", name="big", runner=runner, script=script,
                          args={}, env={}, inputs=inputs or {}, caller_id="c",
                          context_id="x", node="n", timeout_s=60.0,
                          db_url="redis://127.0.0.1:1/0", log=lambda s: None)

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024

    def attempt(runner, j):
        try:
            return {"ok": runner.run(j)}
        except Exception as e:
            return {"error": type(e).__name__, "message": str(e)}
""")

RHAI = PRELUDE + textwrap.dedent("""
    from herocelery.runners.rhai.runner import RUNNER
    before = peak_mb()
    soft_before = resource.getrlimit(resource.RLIMIT_AS)
    # 128 distinct strings of 8 MB each: 1 GiB in total, every single value within the sizes
    big = attempt(RUNNER, job("rhai", '''
        let s = "x".repeat(8388608);
        let a = [];
        for i in 0..128 { a.push(s + i); }
        a.len()
    '''))
    after = peak_mb()
    # the process goes on: the next job runs, and the limit is what it was
    nxt = attempt(RUNNER, job("rhai", 'let s = "y".repeat(8388608); (s + 1).len()'))
    print(json.dumps({"big": big, "next": nxt, "grew_mb": after - before,
                      "limit_restored": resource.getrlimit(resource.RLIMIT_AS) == soft_before}))
""")

HEROSCRIPT = PRELUDE + textwrap.dedent("""
    from herocelery.runners.heroscript import RUNNER
    before = peak_mb()
    script = "\\n".join("!!play.echo msg:'a{inputs.big}'" for _ in range(128))
    big = attempt(RUNNER, job("heroscript", script, {"big": "x" * 8388608}))
    after = peak_mb()
    nxt = attempt(RUNNER, job("heroscript", "!!play.echo msg:hello"))
    print(json.dumps({"big": big, "next": nxt, "grew_mb": after - before}))
""")


def run(code: str) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env=env_without_herocelery())
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_a_rhai_job_cannot_grow_the_runner_past_its_memory_cap() -> None:
    out = run(RHAI)
    big = out["big"]
    assert isinstance(big, dict) and big.get("error") == "RhaiLimitError", big
    assert "Out of memory" in str(big["message"]) and "256 MB" in str(big["message"])
    assert isinstance(out["grew_mb"], int) and out["grew_mb"] < 400, out
    assert out["next"] == {"ok": 8388609}
    assert out["limit_restored"] is True


def test_a_heroscript_job_cannot_grow_the_runner_past_its_memory_cap() -> None:
    out = run(HEROSCRIPT)
    big = out["big"]
    assert isinstance(big, dict) and big.get("error") == "HeroScriptError", big
    assert "memory" in str(big["message"]).lower(), big
    assert isinstance(out["grew_mb"], int) and out["grew_mb"] < 400, out
    assert isinstance(out["next"], dict) and "ok" in out["next"], out
