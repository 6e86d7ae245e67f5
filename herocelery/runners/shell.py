"""The shell runner: a bash script in its own limited process group.

Result: `{"stdout": ..., "exit_code": 0}`; stderr goes to the job's logs; a non-zero exit is an
error carrying the last stderr line and, when bash names one, the script line. Output past the
cap (`output_bytes` per stream) is cut, and the cut is visible: stdout and the logs then end
with the line `[output truncated at N bytes]`.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from typing import Any

from ..errors import JobTimeout, ScriptError
from .base import JobContext
from .isolate import Limits, child_setup, job_env, own_workdir, supervise

BASH_LINE = re.compile(r"job\.sh: line (\d+):")


class ShellRunner:
    name = "shell"
    isolated = True

    def run(self, job: JobContext) -> Any:
        bash = shutil.which("bash") or "/bin/bash"
        uid, gid = job.user or (-1, -1)
        limits = Limits(job.timeout_s, job.cpu_s, job.memory_bytes, job.output_bytes,
                        job_env(job.env, os.environ, job.env_allow), uid, gid)
        workdir = tempfile.mkdtemp(prefix=f"hc-job-{job.job_id[:8]}-")
        try:
            with open(os.path.join(workdir, "job.sh"), "w") as f:
                f.write(job.script)
            own_workdir(workdir, limits)
            proc = subprocess.Popen(
                [bash, "job.sh"], cwd=workdir, env=dict(limits.env), stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                preexec_fn=lambda: child_setup(limits, workdir), close_fds=True)
            assert proc.stdout is not None and proc.stderr is not None
            done = supervise(proc.pid, {"stdout": os.dup(proc.stdout.fileno()),
                                        "stderr": os.dup(proc.stderr.fileno())},
                             limits, job.cancelled)
            proc.stdout.close()
            proc.stderr.close()
            proc.returncode = done.exit_code
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        stdout = done.output["stdout"].decode(errors="replace")
        stderr = done.output["stderr"].decode(errors="replace")
        marker = truncation_marker(job.output_bytes)
        if done.truncated["stdout"]:
            stdout += ("" if stdout.endswith("\n") else "\n") + marker + "\n"
        for line in stderr.splitlines():
            job.log(line)
        if done.truncated["stderr"]:
            job.log(marker)
        if done.timed_out:
            raise JobTimeout(f"timed out after {job.timeout_s:g}s; the job's process group "
                             "was killed", kind="Timeout")
        if done.cancelled:
            raise ScriptError("cancelled", kind="Cancelled")
        code = done.exit_code
        if code != 0:
            lines = [ln for ln in stderr.splitlines() if ln.strip()]
            last = lines[-1] if lines else ""
            m = None
            for ln in reversed(lines):
                m = BASH_LINE.search(ln)
                if m:
                    break
            where = int(m.group(1)) if m else None
            detail = f": {last}" if last else ""
            raise ScriptError(f"exit code {code}{detail}", line=where, kind="ExitCode")
        return {"stdout": stdout, "exit_code": code}


def truncation_marker(cap: int) -> str:
    """The line that ends output cut at `cap` bytes. Pure."""
    return f"[output truncated at {cap} bytes]"


RUNNER = ShellRunner()
