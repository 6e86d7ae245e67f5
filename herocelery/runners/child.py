"""What runs inside a python job's own process, and in the zygote that forks it.

Lean on purpose: the zygote imports only this module (and the standard library modules it
names), because a fork and an exit cost in proportion to the forking process's memory.
Measured on the project's machine (bench/bench_accounting.py): a zygote holding the runner
modules (tempfile, subprocess, dataclasses, selectors: ~15 MB resident) paid about
0.8 ms of the child's CPU per fork + exit, a bare interpreter 0.23 ms. Nothing here imports
the rest of herocelery at module level; the runner's side lives in python.py and isolate.py.
"""
from __future__ import annotations

import ast
import ctypes
import json
import os
import resource
import signal
import sys
from typing import Any

FILENAME = "<job>"
LAST = "__herocelery_last__"
PR_SET_PDEATHSIG = 1


def _load_libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc Linux: the timeout still kills the group
        return None


_LIBC = _load_libc()


def set_parent_death_signal() -> None:
    """This process gets SIGKILL when its parent dies (Linux; a no-op elsewhere)."""
    if _LIBC is not None:  # loaded once: dlopen in every child costs milliseconds
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def setup(cpu_s: int, memory_bytes: int, workdir: str, uid: int = -1, gid: int = -1) -> None:
    """Runs in the child before the job: session, rlimits, cwd, the job's Unix user (`uid`
    and `gid` >= 0: `job_user`), then the parent-death signal (a change of user clears it)."""
    os.setsid()
    if cpu_s > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 1))
    if memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    os.chdir(workdir)
    if uid >= 0:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    set_parent_death_signal()


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
    import linecache
    import traceback
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


def run(job: Any, code: Any, result_fd: int) -> None:
    """Run the job's compiled script in this (forked or fresh) process, write the outcome
    as JSON to `result_fd`; never returns. `job` has the fields of `python.job_fields`."""
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
            payload = {"ok": False, "error": script_error(exc, job.script)}
        else:
            payload = {"ok": True, "result": result}
        text = json.dumps(payload)
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
        view = memoryview(text.encode())
        while view:
            n = os.write(result_fd, view)
            view = view[n:]
    finally:
        os._exit(0)


def run_fields(fields: dict[str, Any], result_fd: int) -> None:
    """Run a job from its fields in this process; never returns. The runner compiled the
    script before handing it over (a syntax error never reaches a child), so it compiles
    here again."""
    from types import SimpleNamespace
    job: Any = SimpleNamespace(**fields)
    run(job, compile_script(job.script), result_fd)


def main() -> None:
    """Entry of a fresh interpreter (`fresh_interpreter` jobs): read the job file, delete it,
    run the script like the forked child does. Its memory and environment hold nothing of
    the worker's: only the job and the scoped connection's URL."""
    path, result_fd = sys.argv[1], int(sys.argv[2])
    with open(path) as f:
        data = json.load(f)
    os.unlink(path)
    run_fields(data, result_fd)
