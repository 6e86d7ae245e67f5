"""compose.yaml: every service runs a valid `herocelery` command (click parses it, and its
`--help` resolves), and the services' addresses agree with each other. Docker is not
available here, so the file is checked, not run."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest
import yaml

from herocelery.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("herodb1", "herodb2", "api", "node1", "node2", "flower")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def resolve(args: list[str]) -> list[str]:
    """Parse a command line with the real click tree without running it; returns the path of
    sub-command names. click raises UsageError on an unknown command or option."""
    assert args[0] == "herocelery", f"not a herocelery command: {args}"
    ctx = cli.make_context("herocelery", list(args[1:]), resilient_parsing=False)
    path: list[str] = []
    command: click.Command = cli
    while isinstance(command, click.Group):
        with warnings.catch_warnings():   # click 8.2 deprecates protected_args (9.0: args)
            warnings.simplefilter("ignore", DeprecationWarning)
            rest = [*getattr(ctx, "protected_args", []), *ctx.args]
        if not rest:
            break
        name, rest = rest[0], rest[1:]
        sub = command.get_command(ctx, name)
        assert sub is not None, f"unknown command {name!r} in {args}"
        path.append(name)
        ctx = sub.make_context(name, rest, parent=ctx, resilient_parsing=False)
        command = sub
    return path


def env_of(service: dict) -> dict[str, str]:
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def test_the_topology_has_every_service(compose):
    assert set(SERVICES) <= set(compose["services"])


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_runs_a_valid_herocelery_command(compose, name):
    command = [str(a) for a in compose["services"][name]["command"]]
    path = resolve(command)
    assert path, f"{name}: no sub-command"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")},
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    out = subprocess.run([sys.executable, "-m", "herocelery", *path, "--help"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "Usage:" in out.stdout, out.stderr


def test_a_bad_command_would_be_caught(compose):
    with pytest.raises(click.UsageError):
        resolve(["herocelery", "supervisor", "start", "--no-such-option"])
    with pytest.raises(AssertionError):
        resolve(["herocelery", "no-such-command"])


def test_addresses_agree(compose):
    services = compose["services"]

    def herodb_port(name: str) -> int:
        cmd = [str(a) for a in services[name]["command"]]
        assert cmd[1:3] == ["herodb", "serve"]
        assert cmd[cmd.index("--host") + 1] == "0.0.0.0"
        return int(cmd[cmd.index("--port") + 1])

    brokers = {}
    for name in ("api", "node1", "node2", "flower"):
        env = env_of(services[name])
        broker = urlsplit(env["HEROCELERY_BROKER_URL"])
        assert broker.hostname in services, f"{name}: broker host {broker.hostname} unknown"
        assert broker.port == herodb_port(broker.hostname)
        assert broker.hostname in services[name].get("depends_on", [])
        brokers[name] = env["HEROCELERY_BROKER_URL"]
        assert env["HEROCELERY_NODES"].split(",") == ["node1", "node2"]
    assert len(set(brokers.values())) == 1, f"every service must share one broker: {brokers}"
    node_db = urlsplit(env_of(services["node2"])["HEROCELERY_NODE_DB_URL"])
    assert node_db.hostname == "herodb2" and node_db.port == herodb_port("herodb2")
    assert "HEROCELERY_NODE_DB_URL" not in env_of(services["node1"])
    for node in ("node1", "node2"):
        cmd = [str(a) for a in services[node]["command"]]
        assert cmd[cmd.index("--node") + 1] == node == env_of(services[node])["HEROCELERY_NODE"]
        assert "--manage" in cmd
    runners = {n: [str(a) for a in services[n]["command"]] for n in ("node1", "node2")}
    assert runners["node1"][-1] == "python,shell"
    assert runners["node2"][-1] == "rhai,heroscript,osis"
    api_cmd = [str(a) for a in services["api"]["command"]]
    api_port = api_cmd[api_cmd.index("--port") + 1]
    assert services["api"]["ports"] == [f"{api_port}:{api_port}"]
    assert "HEROCELERY_API_KEY" in env_of(services["api"])      # bound beyond loopback
    fl = [str(a) for a in services["flower"]["command"]]
    assert services["flower"]["ports"] == [f"{fl[fl.index('--port') + 1]}:" \
                                           f"{fl[fl.index('--port') + 1]}"]
    assert "FLOWER_BASIC_AUTH" in env_of(services["flower"])


def test_secrets_come_from_the_environment(compose):
    text = (ROOT / "compose.yaml").read_text()
    assert re.search(r"HEROCELERY_API_KEY: \$\{HEROCELERY_API_KEY:\?", text)
    assert re.search(r"FLOWER_BASIC_AUTH: \$\{FLOWER_BASIC_AUTH:\?", text)
