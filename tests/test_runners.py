"""The python and shell runners on their own: isolation, limits, results and errors."""
from __future__ import annotations

import os
import time
import uuid

import pytest
from support import wait_for

from herocelery.errors import JobTimeout, ScriptError
from herocelery.runners import get_runner
from herocelery.runners.base import JobContext


def job(script: str, runner: str = "python", **kw) -> tuple[JobContext, list[str]]:
    logs: list[str] = []
    base = dict(job_id=uuid.uuid4().hex, flow_id="f", name="j", runner=runner, script=script,
                args={"n": 3}, env={}, inputs={"up": [1, 2]}, caller_id="me",
                context_id="default", node="node1", timeout_s=10.0,
                db_url="redis://127.0.0.1:1/4", log=logs.append)
    base.update(kw)
    return JobContext(**base), logs


def run(script: str, runner: str = "python", **kw):
    ctx, logs = job(script, runner, **kw)
    return get_runner(runner).run(ctx), logs


def test_python_result_variable_inputs_and_args():
    result, _ = run("result = [x * args['n'] for x in inputs['up']]")
    assert result == [3, 6]


def test_python_final_expression_is_the_result_when_no_result_variable():
    assert run("x = 20\nx + 1")[0] == 21
    assert run("print('hi')\nx = 1")[0] is None


def test_python_output_goes_to_the_logs_capped():
    result, logs = run("print('hello'); import sys; print('oops', file=sys.stderr); result = 1")
    assert result == 1 and logs == ["hello", "oops"]
    _, logs = run("for i in range(100000): print('x' * 50)", output_bytes=1000)
    assert sum(len(x) for x in logs) < 1200 and "truncated" in logs[-1]


def test_python_error_names_type_message_and_line():
    with pytest.raises(ScriptError) as err:
        run("a = 1\nb = 2\nraise ValueError('bad value')\n")
    assert err.value.line == 3 and err.value.kind == "ValueError"
    assert "bad value" in err.value.message and "line 3" in err.value.message
    with pytest.raises(ScriptError) as err:
        run("x = (\n")
    assert err.value.kind == "SyntaxError" and err.value.line == 1


def test_python_result_must_be_json():
    with pytest.raises(ScriptError, match="not JSON-serialisable"):
        run("result = object()")


def test_python_environment_is_allow_listed_plus_the_jobs_own(monkeypatch):
    monkeypatch.setenv("SECRET_TOKEN", "s3cret")
    result, _ = run("import os; result = dict(os.environ)", env={"MINE": "1"})
    assert "SECRET_TOKEN" not in result and result["MINE"] == "1" and "PATH" in result


def test_python_runs_in_a_temporary_directory_that_is_removed():
    cwd, _ = run("import os; open('f.txt', 'w').write('x'); result = os.getcwd()")
    assert cwd != os.getcwd() and not os.path.exists(cwd)


def test_python_timeout_kills_the_whole_process_group(tmp_path):
    pidfile = tmp_path / "pid"
    script = (f"import subprocess, time\np = subprocess.Popen(['sleep', '60'])\n"
              f"open({str(pidfile)!r}, 'w').write(str(p.pid))\ntime.sleep(60)\n")
    started = time.monotonic()
    with pytest.raises(JobTimeout, match="timed out after 1s"):
        run(script, timeout_s=1.0)
    assert time.monotonic() - started < 10
    grandchild = int(pidfile.read_text())
    wait_for(lambda: not _alive(grandchild), 5, what="the job's own child to be killed")


def test_python_memory_limit_turns_into_an_error():
    with pytest.raises(ScriptError, match="MemoryError"):
        run("x = bytearray(3 * 1024 ** 3)", memory_bytes=2 * 1024 ** 3)


def test_python_cpu_limit_kills_a_busy_loop():
    with pytest.raises(ScriptError, match="SIGXCPU|SIGKILL"):
        run("while True: pass", cpu_s=1, timeout_s=20)


def test_cancel_stops_a_running_python_job():
    flag = {"at": time.monotonic() + 0.5}
    ctx, _ = job("import time; time.sleep(30)", cancelled=lambda: time.monotonic() > flag["at"])
    started = time.monotonic()
    with pytest.raises(ScriptError, match="cancelled"):
        get_runner("python").run(ctx)
    assert time.monotonic() - started < 5


def test_shell_result_is_stdout_and_exit_code():
    result, logs = run("echo hello\necho warn >&2\n", runner="shell")
    assert result == {"stdout": "hello\n", "exit_code": 0} and logs == ["warn"]


def test_shell_output_cut_at_the_cap_ends_with_a_visible_marker():
    """Output past `output_bytes` is cut, and the cut is said (issue 12.10): stdout (the
    result) ends with a marker line, and so do the logs (stderr)."""
    script = "for i in $(seq 2000); do echo out-$i; echo err-$i >&2; done\n"
    result, logs = run(script, runner="shell", output_bytes=1000)
    assert result["exit_code"] == 0
    kept, _, marker = result["stdout"].rpartition("\n[")
    assert kept.startswith("out-1\nout-2\n") and len(kept) <= 1000
    assert marker == "output truncated at 1000 bytes]\n"
    assert logs[0] == "err-1" and logs[-1] == "[output truncated at 1000 bytes]"
    assert len("\n".join(logs[:-1])) <= 1000
    small, _ = run("echo short\n", runner="shell", output_bytes=1000)
    assert small["stdout"] == "short\n"                 # nothing cut: no marker


def test_shell_nonzero_exit_is_an_error_with_the_line():
    with pytest.raises(ScriptError) as err:
        run("echo ok\nnot_a_command_xyz\nexit 3\n", runner="shell")
    assert "exit code 3" in err.value.message and err.value.line == 2


def test_shell_timeout_kills_background_children(tmp_path):
    pidfile = tmp_path / "pid"
    with pytest.raises(JobTimeout):
        run(f"sleep 60 &\necho $! > {pidfile}\nwait\n", runner="shell", timeout_s=1.0)
    pid = int(pidfile.read_text())
    wait_for(lambda: not _alive(pid), 5, what="background child killed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie awaiting its reaper counts as dead
        return f.read().split(")")[-1].split()[0] != "Z"
