"""The python runner: a script in a forked, limited child of the warm worker process.

In the script: `inputs` (prerequisite name -> result), `args` (the job's args), `ctx` (job
identity, `ctx.db` a client bound to the job's context database, `ctx.log(text)`). The result is
the variable `result`, else the value of a final expression, else None; it must be JSON.
Forking the already-imported worker costs about a millisecond, where a fresh interpreter costs
tens of milliseconds; the child still gets its own session, limits, directory and environment.
"""
from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from typing import Any

from ..errors import JobTimeout, ScriptError
from . import child
from .base import JobContext
from .child import FILENAME, LAST, JobCtx, compile_script, script_error
from .isolate import Finished, Limits, child_setup, job_env, own_workdir, supervise
from .zygote import Zygote

__all__ = ["FILENAME", "LAST", "RUNNER", "JobCtx", "PythonRunner", "compile_script",
           "script_error"]

MAX_RESULT_BYTES = 16 * 1024 * 1024


class PythonRunner:
    name = "python"
    isolated = True

    def __init__(self, *, use_zygote: bool = True) -> None:
        self.use_zygote = use_zygote
        self.zygote = Zygote()

    def run(self, job: JobContext) -> Any:
        try:
            code = compile_script(job.script)
        except SyntaxError as exc:
            err = script_error(exc, job.script)
            raise ScriptError(err["message"], line=err["line"], column=err["column"],
                              kind="SyntaxError") from None
        uid, gid = job.user or (-1, -1)
        limits = Limits(job.timeout_s, job.cpu_s, job.memory_bytes, job.output_bytes,
                        job_env(job.env, os.environ, job.env_allow), uid, gid)
        workdir = tempfile.mkdtemp(prefix=f"hc-job-{job.job_id[:8]}-")
        try:
            own_workdir(workdir, limits)
            # the zygote never sees a job's content (spawn_python): its children hold
            # nothing of the worker nor of other jobs, so every job may use it
            if not self.use_zygote:
                done = fork_python(job, code, limits, workdir)
            else:
                try:
                    done = spawn_python(self.zygote, job, limits, workdir)
                except (OSError, EOFError, ValueError):
                    # the zygote broke: drop it (a new one starts next time), fork directly
                    self.zygote.stop()
                    done = fork_python(job, code, limits, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
        if done.output["output"]:
            for line in done.output["output"].decode(errors="replace").splitlines():
                job.log(line)
            if done.truncated["output"]:
                job.log(f"[output truncated at {job.output_bytes} bytes]")
        return outcome(done, job.timeout_s)


def boot_argv(code: str) -> list[str]:
    """A fresh interpreter running `code`: isolated mode without `site` (its .pth imports cost
    more than a job), given this worker's import path so herocelery and redis resolve."""
    import herocelery
    root = os.path.dirname(os.path.dirname(os.path.abspath(herocelery.__file__)))
    paths = [root] + [p for p in sys.path if p and p != root]
    # the packages are entered without running herocelery/__init__ (which loads settings
    # and PyYAML, most of the start-up cost) nor runners/__init__ (the runner registry, its
    # dataclasses): the job needs only runners/child.py, and every module more makes each
    # fork and exit dearer
    pkg_dir = os.path.join(root, "herocelery")
    boot = (f"import sys, types; sys.path[:0] = {paths!r}; "
            "pkg = types.ModuleType('herocelery'); "
            f"pkg.__path__ = [{pkg_dir!r}]; sys.modules['herocelery'] = pkg; "
            "sub = types.ModuleType('herocelery.runners'); "
            f"sub.__path__ = [{os.path.join(pkg_dir, 'runners')!r}]; "
            "sys.modules['herocelery.runners'] = pkg.runners = sub; " + code)
    return [sys.executable, "-I", "-S", "-c", boot]


def fresh_argv(job_file: str, result_fd: int) -> list[str]:
    """A fresh interpreter for one job (`fresh_interpreter` jobs)."""
    return boot_argv("from herocelery.runners.child import main; main()") + \
        [job_file, str(result_fd)]


def write_job_file(job: JobContext, workdir: str) -> str:
    """What a fresh interpreter needs to run the job, in a file only the owner can read."""
    path = os.path.join(workdir, ".job.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(job_fields(job), out)
    return path


def job_fields(job: JobContext) -> dict[str, Any]:
    """What a child needs to run the job (no callables, no worker state)."""
    return {"script": job.script, "inputs": job.inputs, "args": job.args,
            "db_url": job.db_url, "job_id": job.job_id, "flow_id": job.flow_id,
            "name": job.name, "context_id": job.context_id, "caller_id": job.caller_id,
            "signatories": list(job.signatories), "attempt": job.attempt}


def spawn_python(zygote: Zygote, job: JobContext, limits: Limits, workdir: str) -> Finished:
    """The job in a child of the runner's zygote (see zygote.py). What the job is (script,
    inputs, its context's connection, its environment) goes through a pipe that only the
    forked child reads: the zygote itself sees the directory and the numeric limits alone,
    so its memory, which every job it forks inherits, holds nothing of another job."""
    data = json.dumps({"job": job_fields(job), "env": dict(limits.env)}).encode()
    r_job, w_job = os.pipe()
    r_res, w_res = os.pipe()
    r_out, w_out = os.pipe()
    request = {"workdir": workdir,
               "limits": {"cpu_s": limits.cpu_s, "memory_bytes": limits.memory_bytes,
                          "uid": limits.uid, "gid": limits.gid}}
    try:
        pid = zygote.spawn(request, w_res, w_out, r_job)
    except BaseException:
        for fd in (r_res, r_out, w_job):
            os.close(fd)
        raise
    finally:
        for fd in (w_res, w_out, r_job):
            os.close(fd)
    try:
        view = memoryview(data)
        while view:                      # the child reads as it starts: never blocks long
            view = view[os.write(w_job, view):]
    except BrokenPipeError:
        pass                             # the child died first: supervise reports it
    finally:
        os.close(w_job)
    return supervise(pid, {"result": r_res, "output": r_out}, limits, job.cancelled,
                     caps={"result": MAX_RESULT_BYTES}, reap=zygote.wait)


def fork_python(job: JobContext, code: Any, limits: Limits, workdir: str) -> Finished:
    job_file = write_job_file(job, workdir) if job.fresh_interpreter else None
    if job_file is not None:
        own_workdir(workdir, limits)
    argv = fresh_argv(job_file, 0) if job_file else []
    r_res, w_res = os.pipe()
    r_out, w_out = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(r_res)
            os.close(r_out)
            devnull = os.open(os.devnull, os.O_RDONLY)
            os.dup2(devnull, 0)
            os.dup2(w_out, 1)
            os.dup2(w_out, 2)
            child_setup(limits, workdir)
            os.environ.clear()
            os.environ.update(limits.env)
            if job_file is not None:
                os.set_inheritable(w_res, True)
                argv[-1] = str(w_res)
                os.execve(argv[0], argv, dict(limits.env))
        except OSError as exc:   # e.g. job_user may not read the interpreter's path
            os.write(2, f"the job's process could not start {argv[:1] or ''}: {exc}\n"
                     .encode(errors="replace"))
            os._exit(70)
        except BaseException:
            os._exit(70)
        child.run(job, code, w_res)
    os.close(w_res)
    os.close(w_out)
    return supervise(pid, {"result": r_res, "output": r_out}, limits, job.cancelled,
                     caps={"result": MAX_RESULT_BYTES})


def outcome(done: Finished, timeout_s: float) -> Any:
    """Turn what the child left into the result, or raise the right ScriptError. Pure."""
    if done.timed_out:
        raise JobTimeout(f"timed out after {timeout_s:g}s; the job's process group was killed",
                         kind="Timeout")
    if done.cancelled:
        raise ScriptError("cancelled", kind="Cancelled")
    raw = done.output["result"]
    if done.truncated["result"] or not raw:
        sig = done.signal
        if sig is not None:
            import signal as _signal
            name = _signal.Signals(sig).name
            why = " (CPU time limit)" if name == "SIGXCPU" else ""
            raise ScriptError(f"the job's process was killed by {name}{why}", kind="Killed")
        raise ScriptError(f"the job's process exited with code {done.exit_code} and no result",
                          kind="Crashed")
    try:
        data = json.loads(raw)
    except ValueError:
        raise ScriptError("the job's result could not be read", kind="Crashed") from None
    if data.get("ok"):
        return data.get("result")
    err = data.get("error") or {}
    raise ScriptError(str(err.get("message")), line=err.get("line"), column=err.get("column"),
                      kind=str(err.get("type", "ScriptError")), traceback=err.get("traceback"))


RUNNER = PythonRunner()
