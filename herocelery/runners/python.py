"""The python runner: a script in a forked, limited child of the warm worker process.

In the script: `inputs` (prerequisite name -> result), `args` (the job's args), `ctx` (job
identity, `ctx.db` a client bound to the job's context database, `ctx.log(text)`). The result is
the variable `result`, else the value of a final expression, else None; it must be JSON.
Forking the already-imported worker costs about a millisecond, where a fresh interpreter costs
tens of milliseconds; the child still gets its own session, limits, directory and environment.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import linecache
import os
import shutil
import sys
import tempfile
import traceback
from typing import Any

from ..errors import JobTimeout, ScriptError
from .base import JobContext
from .isolate import Finished, Limits, child_setup, job_env, own_workdir, supervise
from .zygote import Zygote

FILENAME = "<job>"
LAST = "__herocelery_last__"
MAX_RESULT_BYTES = 16 * 1024 * 1024


class JobCtx:
    """The `ctx` object a python job sees."""

    def __init__(self, job: dict[str, Any], db_url: str) -> None:
        self.job_id: str = job["job_id"]
        self.flow_id: str = job["flow_id"]
        self.name: str = job["name"]
        self.context_id: str = job["context_id"]
        self.caller_id: str = job["caller_id"]
        self.signatories: tuple[str, ...] = tuple(job.get("signatories", ()))
        # this run's number: 2 and up when the job runs again (retry, or a lost worker)
        self.attempt: int = int(job.get("attempt", 1))
        self._db_url = db_url
        self._db: Any = None
        self._osis: Any = None

    @property
    def db(self) -> Any:
        if self._db is None:
            import redis
            self._db = redis.Redis.from_url(self._db_url, decode_responses=True)
        return self._db

    @property
    def osis(self) -> Any:
        """OSIS objects of the job's context (`ctx.osis.set("note", {...})`, get, find, ...)."""
        if self._osis is None:
            from .osis import Osis
            self._osis = Osis(self.db)
        return self._osis

    def log(self, *parts: object) -> None:
        print(*parts, flush=True)


def compile_script(script: str) -> Any:
    """Compile a job script so a final bare expression becomes the fallback result."""
    tree = ast.parse(script, FILENAME)
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = tree.body[-1]
        assign = ast.Assign(targets=[ast.Name(id=LAST, ctx=ast.Store())], value=last.value)
        tree.body[-1] = ast.copy_location(assign, last)
        ast.fix_missing_locations(tree)
    return compile(tree, FILENAME, "exec")


def script_error(exc: BaseException, script: str) -> dict[str, Any]:
    """The error record of an exception raised by a job script: type, message, line."""
    if isinstance(exc, SyntaxError) and exc.filename == FILENAME:
        return {"type": "SyntaxError", "message": f"{exc.msg} (line {exc.lineno})",
                "line": exc.lineno, "column": exc.offset, "traceback": None}
    line = None
    tb = exc.__traceback__
    frames = []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == FILENAME:
            line = tb.tb_lineno
            frames.append(tb)
        tb = tb.tb_next
    linecache.cache[FILENAME] = (len(script), None, script.splitlines(True), FILENAME)
    text = "".join(traceback.format_exception(type(exc), exc, frames[0] if frames else None))
    where = f" (line {line})" if line else ""
    return {"type": type(exc).__name__, "message": f"{type(exc).__name__}: {exc}{where}",
            "line": line, "column": None, "traceback": text[-4000:]}


def _child(job: JobContext, code: Any, result_fd: int) -> None:
    """Runs in the forked child; never returns."""
    payload: dict[str, Any]
    try:
        sys.stdout = open(1, "w", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False)  # noqa: SIM115
        ns: dict[str, Any] = {"__name__": "__job__", "inputs": job.inputs, "args": job.args,
                              "ctx": JobCtx({"job_id": job.job_id, "flow_id": job.flow_id,
                                             "name": job.name, "context_id": job.context_id,
                                             "caller_id": job.caller_id,
                                             "signatories": job.signatories,
                                             "attempt": job.attempt}, job.db_url)}
        try:
            exec(code, ns)  # noqa: S102 - running the job's script is the point
            result = ns["result"] if "result" in ns else ns.get(LAST)
        except BaseException as exc:  # the script's own failure, reported as data
            text = json.dumps({"ok": False, "error": script_error(exc, job.script)})
        else:
            text = json.dumps({"ok": True, "result": result})
    except (TypeError, ValueError) as exc:
        text = json.dumps({"ok": False, "error": {
            "type": "ResultError", "message": f"result is not JSON-serialisable: {exc}",
            "line": None, "column": None, "traceback": None}})
    except BaseException as exc:  # pragma: no cover - last resort, keep the child silent
        text = json.dumps({"ok": False, "error": {"type": type(exc).__name__,
                                                  "message": str(exc)}})
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        data = text.encode()
        view = memoryview(data)
        while view:
            n = os.write(result_fd, view)
            view = view[n:]
    finally:
        os._exit(0)


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
            if job.fresh_interpreter or not self.use_zygote:
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
    # the package is entered without running herocelery/__init__ (which loads settings and
    # PyYAML, most of the start-up cost); the job needs only the runner modules
    boot = (f"import sys, types; sys.path[:0] = {paths!r}; "
            "pkg = types.ModuleType('herocelery'); "
            f"pkg.__path__ = [{os.path.join(root, 'herocelery')!r}]; "
            "sys.modules['herocelery'] = pkg; " + code)
    return [sys.executable, "-I", "-S", "-c", boot]


def fresh_argv(job_file: str, result_fd: int) -> list[str]:
    """A fresh interpreter for one job (`fresh_interpreter` jobs)."""
    return boot_argv("from herocelery.runners.python import child_main; child_main()") + \
        [job_file, str(result_fd)]


def write_job_file(job: JobContext, workdir: str) -> str:
    """What a fresh interpreter needs to run the job, in a file only the owner can read."""
    path = os.path.join(workdir, ".job.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(job_fields(job), out)
    return path


def child_main() -> None:
    """Entry of a fresh interpreter (`fresh_interpreter` jobs): read the job file, delete it,
    run the script like the forked child does. Its memory and environment hold nothing of
    the worker's: only the job and the scoped connection's URL."""
    path, result_fd = sys.argv[1], int(sys.argv[2])
    with open(path) as f:
        data = json.load(f)
    os.unlink(path)
    run_in_child(data, result_fd)


def job_fields(job: JobContext) -> dict[str, Any]:
    """What a child needs to run the job (no callables, no worker state)."""
    return {"script": job.script, "inputs": job.inputs, "args": job.args,
            "db_url": job.db_url, "job_id": job.job_id, "flow_id": job.flow_id,
            "name": job.name, "context_id": job.context_id, "caller_id": job.caller_id,
            "signatories": list(job.signatories), "attempt": job.attempt}


def run_in_child(fields: dict[str, Any], result_fd: int) -> None:
    """Run a job from its fields in this (forked or fresh) process; never returns. The
    runner compiled the script before handing it over, so it compiles here too."""
    from types import SimpleNamespace
    job = SimpleNamespace(**fields)
    _child(job, compile_script(job.script), result_fd)  # type: ignore[arg-type]


def spawn_python(zygote: Zygote, job: JobContext, limits: Limits, workdir: str) -> Finished:
    """The job in a child of the runner's zygote (see zygote.py)."""
    r_res, w_res = os.pipe()
    r_out, w_out = os.pipe()
    request = {"job": job_fields(job), "workdir": workdir,
               "limits": {**dataclasses.asdict(limits), "env": dict(limits.env)}}
    try:
        pid = zygote.spawn(request, w_res, w_out)
    except BaseException:
        for fd in (r_res, r_out):
            os.close(fd)
        raise
    finally:
        os.close(w_res)
        os.close(w_out)
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
        _child(job, code, w_res)
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
