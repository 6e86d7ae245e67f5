"""The `herocelery` command line: the front door for users.

Every HeroCeleryError becomes one red line and a non-zero exit code; anything else is a bug.
Sub-command groups of other rooms (herodb, heroscript, rhai, ...) are attached by name from
`SUBGROUPS`, imported only when that group is used.
"""
from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from .errors import HeroCeleryError

# command name -> "module:attribute" of a click command or group
SUBGROUPS: dict[str, str] = {
    "herodb": "herocelery.herodb.cli:group",
    "heroscript": "herocelery.heroscript.cli:group",
    "rhai": "herocelery.runners.rhai.cli:group",
    "run": "herocelery.commands:run_cmd",
    "flow": "herocelery.flow.cli:flow_group",
    "supervisor": "herocelery.commands:supervisor_group",
    "runner": "herocelery.commands:runner_group",
    "api": "herocelery.api.cli:group",
    "up": "herocelery.up:up_cmd",
    "reconciler": "herocelery.reconciler.cli:group",
    "status": "herocelery.up:status_cmd",
    "flower": "herocelery.up:flower_cmd",
    "health": "herocelery.health:health_group",
    "context": "herocelery.contexts.cli:context_group",
    "key": "herocelery.contexts.cli:key_group",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported when used, so `--help` stays fast."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(SUBGROUPS))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        cmd = super().get_command(ctx, name)
        if cmd is not None or name not in SUBGROUPS:
            return cmd
        module_name, attr = SUBGROUPS[name].split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("herocelery"):
                return None
            raise
        command: click.Command = getattr(module, attr)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="Settings file (YAML).")
@click.option("--broker", "broker_url", default=None, metavar="URL",
              help="Redis or HeroDB URL; default: the embedded HeroDB.")
@click.option("--api-key", "api_key", default=None, metavar="KEY",
              help="Your API key (default: HEROCELERY_API_KEY).")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, broker_url: str | None,
        api_key: str | None) -> None:
    """herocelery: flows of jobs through coordinator, supervisors and runners on Celery."""
    ctx.ensure_object(dict)
    ctx.obj["settings_args"] = {"file": config_file, "broker_url": broker_url,
                                "api_key": api_key}


def settings_from(ctx: click.Context, **overrides: Any) -> Settings:
    """Build the one Settings object from the root options, the environment and flags."""
    from .settings import Settings
    root = ctx.find_root()
    args = dict(root.obj.get("settings_args", {})) if root.obj else {}
    file = args.pop("file", None)
    args.update({k: v for k, v in overrides.items() if v is not None})
    return Settings.load(file=file, **args)


def _connection_errors() -> tuple[type[BaseException], ...]:
    """What an unreachable or failing server raises (redis imported only when one came)."""
    try:
        import redis
    except ImportError:  # pragma: no cover
        return (OSError,)
    return (OSError, redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _connection_problem(exc: BaseException) -> str:
    return f"cannot reach the broker or store: {exc}"


def main(argv: list[str] | None = None) -> None:
    """Console entry point: user errors are one line, never a traceback."""
    from .hardening import not_dumpable
    not_dumpable()        # its memory and environ hold the tiers' secrets (hardening.py)
    try:
        cli.main(args=argv, prog_name="herocelery", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HeroCeleryError as exc:
        click.secho(f"error: {exc}", fg="red", err=True)
        sys.exit(exc.exit_code)
    except _connection_errors() as exc:  # an unreachable or failing server
        click.secho(f"error: {_connection_problem(exc)}", fg="red", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    main()


from .settings import Settings  # noqa: E402  (type name for settings_from)
