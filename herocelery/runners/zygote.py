"""A small pre-started process that forks python jobs: cheaper than forking the worker.

It never reads a job: the runner writes the job (script, inputs, connection, environment)
into a pipe whose read end only the forked child reads, so what a job inherits of the
zygote's memory holds nothing of the worker nor of other jobs (issue 19.3); with
`job_user` the child switches user before reading it.

Forking the Celery pool process costs ~4 ms of the parent's CPU and ~6 ms in the child (page
tables and copy-on-write faults of a large heap), measured in `bench/`. The zygote is a fresh
interpreter started once per runner process with only the modules a job needs; it receives a
job (length-prefixed JSON) with the job's two pipe ends (SCM_RIGHTS), forks, tells the runner
the child's pid, reaps it, and sends its wait status. The runner keeps watching the pipes,
the deadline and the cancel flag exactly as for a direct fork, and kills the job's process group
itself. The zygote dies with its runner process (parent-death signal), and the jobs with it.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import struct
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

HEADER = struct.Struct("!I")
MAX_MESSAGE = 64 * 1024 * 1024


def _send(sock: socket.socket, obj: Any, fds: list[int] | None = None) -> None:
    data = json.dumps(obj).encode()
    head = HEADER.pack(len(data))
    if fds:
        socket.send_fds(sock, [head], fds)
    else:
        sock.sendall(head)
    sock.sendall(data)


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    chunks = []
    while n:
        chunk = sock.recv(min(n, 1 << 20))
        if not chunk:
            raise EOFError("zygote connection closed")
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def _recv(sock: socket.socket, nfds: int = 0) -> tuple[Any, list[int]]:
    if nfds:
        head, fds, _, _ = socket.recv_fds(sock, HEADER.size, nfds)
        if len(head) < HEADER.size:
            head += _recv_exact(sock, HEADER.size - len(head))
    else:
        head, fds = _recv_exact(sock, HEADER.size), []
    if not head:
        raise EOFError("zygote connection closed")
    (size,) = HEADER.unpack(head)
    if size > MAX_MESSAGE:
        raise ValueError("zygote message too large")
    return json.loads(_recv_exact(sock, size)), list(fds)


class Zygote:
    """The runner's side: start on first use, spawn jobs, collect their wait status."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.sock: socket.socket | None = None
        self.owner = 0

    def alive(self) -> bool:
        return (self.proc is not None and self.proc.poll() is None
                and self.owner == os.getpid())

    def start(self) -> None:
        import subprocess

        from .python import boot_argv
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {k: os.environ[k] for k in ("PATH", "LANG", "LC_ALL", "TZ") if k in os.environ}
        argv = boot_argv("from herocelery.runners.zygote import serve; "
                         f"serve({theirs.fileno()})")
        self.proc = subprocess.Popen(argv, pass_fds=[theirs.fileno()], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     close_fds=True)
        theirs.close()
        self.sock = ours
        self.owner = os.getpid()

    def spawn(self, request: dict[str, Any], result_w: int, output_w: int, job_r: int) -> int:
        """Start one job; returns its pid (the leader of its own process group). The job's
        content comes on `job_r`, read by the forked child only."""
        if not self.alive():
            self.start()
        assert self.sock is not None
        _send(self.sock, request, [result_w, output_w, job_r])
        reply, _ = _recv(self.sock)
        if "pid" not in reply:
            raise OSError(f"zygote could not start the job: {reply.get('error')}")
        return int(reply["pid"])

    def wait(self, pid: int) -> int:
        """The job's wait status, once the zygote reaped it."""
        assert self.sock is not None
        reply, _ = _recv(self.sock)
        if reply.get("pid") != pid or "status" not in reply:
            raise OSError(f"unexpected zygote reply {reply!r}")
        return int(reply["status"])

    def stop(self) -> None:
        if self.sock is not None:
            self.sock.close()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = self.sock = None


def serve(fd: int) -> None:
    """The zygote's loop: one job at a time, for the one runner process that started it.
    It imports nothing but child.py (see there why)."""
    from ..hardening import not_dumpable
    from . import child
    child.set_parent_death_signal()
    not_dumpable()      # the jobs it forks must not read its memory (other jobs' requests)
    sock = socket.socket(fileno=fd)
    while True:
        try:
            request, fds = _recv(sock, 3)
        except (EOFError, OSError, ValueError):
            os._exit(0)
        if len(fds) != 3:
            for stray in fds:
                os.close(stray)
            _send(sock, {"error": "expected three pipe ends"})
            continue
        result_w, output_w, job_r = fds
        try:
            pid = os.fork()
        except OSError as exc:
            _send(sock, {"error": str(exc)})
            continue
        if pid == 0:
            try:
                sock.close()
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(output_w, 1)
                os.dup2(output_w, 2)
                limits = request["limits"]
                child.setup(int(limits["cpu_s"]), int(limits["memory_bytes"]),
                            request["workdir"], int(limits.get("uid", -1)),
                            int(limits.get("gid", -1)))
                # the job itself: read here, in the child (as the job's user), never by the
                # zygote
                with os.fdopen(job_r, "rb") as f:
                    data = json.loads(f.read())
                os.environ.clear()
                os.environ.update(data["env"])
            except BaseException:
                os._exit(70)
            child.run_fields(data["job"], result_w)
        os.close(result_w)
        os.close(output_w)
        os.close(job_r)
        _send(sock, {"pid": pid})
        _, status = os.waitpid(pid, 0)
        _send(sock, {"pid": pid, "status": status})


if __name__ == "__main__":  # pragma: no cover
    serve(int(sys.argv[1]))
    signal.pause()
