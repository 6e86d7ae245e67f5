"""``herocelery herodb serve``: run HeroDB in the foreground until SIGINT/SIGTERM."""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path

import click

from .embedded import new_event_loop
from .errors import HeroDBError
from .server import FSYNC_POLICIES, HeroDB, ServerConfig


@click.group(name="herodb", context_settings={"help_option_names": ["-h", "--help"]})
def group() -> None:
    """HeroDB, the Redis-compatible data layer."""


@group.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=6379, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port; 0 picks a free one (printed on stdout).")
@click.option("--unix-socket", default=None, metavar="PATH", help="Also listen on a Unix socket.")
@click.option("--dir", "data_dir", default=None, type=click.Path(file_okay=False, path_type=Path),
              help="Data directory for the append-only log (default: in memory only).")
@click.option("--admin-secret", default=None, envvar="HERODB_ADMIN_SECRET",
              help="Enable the access model; AUTH <secret> grants everything. On a command "
                   "line every user sees it (ps): prefer --admin-secret-file.")
@click.option("--admin-secret-file", default=None, type=click.Path(dir_okay=False),
              envvar="HERODB_ADMIN_SECRET_FILE", help="Read the admin secret from this file.")
@click.option("--encryption-key", default=None, envvar="HERODB_ENCRYPTION_KEY",
              help="Encrypt everything written to --dir with this key (prefer "
                   "--encryption-key-file).")
@click.option("--encryption-key-file", default=None, type=click.Path(dir_okay=False),
              envvar="HERODB_ENCRYPTION_KEY_FILE",
              help="Read the encryption key from this file.")
@click.option("--appendfsync", default="everysec", show_default=True,
              type=click.Choice(FSYNC_POLICIES), help="When the log is fsynced.")
@click.option("--databases", default=16, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--maxclients", default=10000, show_default=True, type=click.IntRange(1))
@click.option("--max-request-bytes", default=512 * 1024 * 1024, show_default=True,
              type=click.IntRange(1), help="Largest accepted argument.")
@click.option("--max-multibulk", default=1024 * 1024, show_default=True, type=click.IntRange(1),
              help="Most arguments in one request.")
@click.option("--client-output-buffer-bytes", default=32 * 1024 * 1024, show_default=True,
              type=click.IntRange(1), help="A pub/sub client with more unsent output is dropped.")
@click.option("--admin-rpc-port", default=None, type=click.IntRange(0, 65535),
              help="Also serve the admin JSON-RPC on TCP (needs --admin-secret); it is always "
                   "on <dir>/herodb-admin.sock.")
def serve(host: str, port: int, unix_socket: str | None, data_dir: Path | None,
          admin_secret: str | None, admin_secret_file: str | None, encryption_key: str | None,
          encryption_key_file: str | None, appendfsync: str, databases: int,
          maxclients: int, max_request_bytes: int, max_multibulk: int,
          client_output_buffer_bytes: int, admin_rpc_port: int | None) -> None:
    """Run HeroDB until interrupted; prints `herodb listening on HOST:PORT` when ready."""
    _not_dumpable()
    admin_secret = admin_secret or _read_secret("--admin-secret-file", admin_secret_file)
    encryption_key = encryption_key or _read_secret("--encryption-key-file",
                                                    encryption_key_file)
    config = ServerConfig(host=host, port=port, unix_socket=unix_socket, dir=data_dir,
                          admin_secret=admin_secret, encryption_key=encryption_key,
                          appendfsync=appendfsync, databases=databases, maxclients=maxclients,
                          max_request_bytes=max_request_bytes, max_multibulk=max_multibulk,
                          client_output_buffer_bytes=client_output_buffer_bytes,
                          admin_rpc_port=admin_rpc_port)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(message)s")
    try:
        serve_forever(config)
    except HeroDBError as exc:
        raise click.ClickException(str(exc)) from None


def _read_secret(option: str, path: str | None) -> str | None:
    if path is None:
        return None
    try:
        text = Path(path).read_text().strip()
    except OSError as exc:
        raise click.ClickException(f"{option} {path}: {exc.strerror}") from None
    if not text:
        raise click.ClickException(f"{option} {path} is empty")
    return text


def _not_dumpable() -> None:
    """PR_SET_DUMPABLE 0: another process of the same user cannot read this one's memory or
    /proc/<pid>/environ (nor ptrace it), so the secrets it holds stay in it (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(4, 0)  # PR_SET_DUMPABLE
    except (OSError, AttributeError):
        pass


# after SIGTERM/SIGINT the server has this long to stop by itself (finish the command that
# runs, flush the log, close); then it exits anyway: what it acknowledged is in the OS already
SHUTDOWN_GRACE = 0.8


def serve_forever(config: ServerConfig) -> None:
    loop = new_event_loop()
    asyncio.set_event_loop(loop)
    server = HeroDB(config)
    stop = asyncio.Event()
    stopped = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        # a plain handler, not loop.add_signal_handler: it runs between two bytecodes even
        # while a long command (a script, a big KEYS) keeps the loop from its next turn
        server.engine.shutdown_asap = True
        loop.call_soon_threadsafe(stop.set)
        threading.Thread(target=_exit_unless_stopped, args=(server, stopped),
                         name="herodb-shutdown", daemon=True).start()

    async def main() -> None:
        await server.start()
        server.engine.on_shutdown = stop.set
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, on_signal)
        print(f"herodb listening on {config.host}:{server.port}", flush=True)
        if server.admin_socket or server.admin_rpc_port is not None:
            tcp = f" and {config.host}:{server.admin_rpc_port}" \
                if server.admin_rpc_port is not None else ""
            print(f"herodb admin rpc on {server.admin_socket or ''}{tcp}", flush=True)
        await stop.wait()
        await server.stop()

    try:
        loop.run_until_complete(main())
    finally:
        stopped.set()
        loop.close()


def _exit_unless_stopped(server: HeroDB, stopped: threading.Event) -> None:
    """SIGTERM is honoured within a second: if the server has not stopped by itself after
    SHUTDOWN_GRACE (a command still runs), fsync what the log wrote and exit. Records of the
    unfinished command were not handed to the OS and their replies were never sent, so
    nothing acknowledged is lost and no half-done command reaches the log."""
    if stopped.wait(SHUTDOWN_GRACE):
        return
    fd = getattr(server.engine.log, "_fd", None)
    if fd is not None:
        try:
            os.fsync(fd)
        except OSError:
            pass
    print("herodb: a command was still running at shutdown; exited without finishing it",
          file=sys.stderr, flush=True)
    os._exit(0)


def main() -> None:
    group(prog_name="herodb")


from .cli_ops import register as _register_operator_commands  # noqa: E402  (cli_ops.py)

_register_operator_commands(group)
