"""What keeps a job from reading the secrets of the processes that run it (Linux).

Every herocelery process (the CLI's entry point, so tiers, runners, the API, supervisors)
and the zygote turn PR_SET_DUMPABLE off: another process of the same Unix user can then
neither read their memory nor `/proc/<pid>/environ`, nor ptrace them. A job started by
exec gets a dumpable process of its own again (the kernel resets the flag on exec); it holds
only what the job was given. Jobs that run as `job_user` (another Unix user) cannot read the
runner's files either (the data directory's key and secret files are mode 0600).
"""
from __future__ import annotations

import ctypes
import os

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3


def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def not_dumpable() -> None:
    """This process: no core dumps, no ptrace, /proc/<pid>/{mem,environ} root-only."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_DUMPABLE, 0)


def dumpable() -> bool:
    return _LIBC is None or bool(_LIBC.prctl(PR_GET_DUMPABLE))


def job_ids(user: str | None) -> tuple[int, int] | None:
    """(uid, gid) of the Unix user jobs run as; None when no `job_user` is configured.
    ConfigError when the user does not exist or this process cannot switch to it (not root)."""
    if not user:
        return None
    import pwd

    from .errors import ConfigError
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise ConfigError(f"job_user {user!r}: no such Unix user") from None
    if os.geteuid() != 0 and entry.pw_uid != os.geteuid():
        raise ConfigError(f"job_user {user!r}: running jobs as another user needs the runner "
                          "to run as root")
    if entry.pw_uid == 0:
        raise ConfigError("job_user must not be root")
    return entry.pw_uid, entry.pw_gid
