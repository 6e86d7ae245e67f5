"""compose.yaml: every service and every healthcheck runs a valid `herocelery` command (click
parses it, and its `--help` resolves), the services' addresses, secrets and keys agree with
each other, each waits for what it needs to be healthy, and the image leaves local files out.
Docker is not available here, so the file is checked, not run; the commands its
healthchecks and its key service run are run here against real servers (HeroDB with an
admin secret, redis-server, the API, the workers, Flower with basic auth)."""
from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import pytest
import yaml
from support import free_port, start_redis_server, wait_for

from herocelery.cli import cli

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("herodb1", "herodb2", "keys", "api", "node1", "node2", "flower")
LONG_RUNNING = tuple(s for s in SERVICES if s != "keys")
ENV = {"HERODB_ADMIN_SECRET": "0123abcd" * 8, "FLOWER_BASIC_AUTH": "admin:pw"}
VAR = re.compile(r"\$\{(\w+)(?::?([?-])([^}]*))?\}")


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's variable substitution: ${VAR}, ${VAR:-default}, ${VAR:?error}."""
    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == "?":
            raise KeyError(f"required variable {name} is missing: {arg}")
        return arg or ""
    return VAR.sub(one, text)


@pytest.fixture(scope="module")
def text() -> str:
    return (ROOT / "compose.yaml").read_text()


@pytest.fixture(scope="module")
def compose(text) -> dict:
    return yaml.safe_load(interpolate(text, ENV))


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


def command_of(service: dict) -> list[str]:
    return [str(a) for a in service["command"]]


def health_of(service: dict) -> list[str]:
    test = [str(a) for a in service["healthcheck"]["test"]]
    assert test[0] == "CMD", f"a healthcheck runs its command directly: {test}"
    return test[1:]


def arg(cmd: list[str], flag: str) -> str:
    return cmd[cmd.index(flag) + 1]


def test_the_topology_has_every_service(compose):
    assert set(SERVICES) <= set(compose["services"])


def test_required_secrets_must_be_set(text):
    for missing in ENV:
        with pytest.raises(KeyError, match=missing):
            interpolate(text, {k: v for k, v in ENV.items() if k != missing})


def commands(compose) -> list[tuple[str, list[str]]]:
    out = [(name, command_of(s)) for name, s in compose["services"].items()]
    out += [(f"{name} healthcheck", health_of(s)) for name, s in compose["services"].items()
            if "healthcheck" in s]
    return out


def test_each_command_and_healthcheck_is_a_valid_herocelery_command(compose):
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")},
           "PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    checked = set()
    for name, command in commands(compose):
        path = tuple(resolve(command))
        assert path, f"{name}: no sub-command"
        if path in checked:
            continue
        checked.add(path)
        out = subprocess.run([sys.executable, "-m", "herocelery", *path, "--help"], env=env,
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0 and "Usage:" in out.stdout, (name, out.stderr)
    assert len(commands(compose)) == len(SERVICES) + len(LONG_RUNNING)


def test_a_bad_command_would_be_caught():
    with pytest.raises(click.UsageError):
        resolve(["herocelery", "supervisor", "start", "--no-such-option"])
    with pytest.raises(click.UsageError):
        resolve(["herocelery", "health", "node", "node1"])          # --runners is required
    with pytest.raises(AssertionError):
        resolve(["herocelery", "no-such-command"])


def test_addresses_agree(compose):
    services = compose["services"]

    def herodb_port(name: str) -> int:
        cmd = command_of(services[name])
        assert cmd[1:3] == ["herodb", "serve"]
        assert arg(cmd, "--host") == "0.0.0.0"
        return int(arg(cmd, "--port"))

    brokers = {}
    for name in ("keys", "api", "node1", "node2", "flower"):
        env = env_of(services[name])
        broker = urlsplit(env["HEROCELERY_BROKER_URL"])
        assert broker.hostname in services, f"{name}: broker host {broker.hostname} unknown"
        assert broker.port == herodb_port(broker.hostname)
        assert broker.hostname in services[name].get("depends_on", {})
        brokers[name] = env["HEROCELERY_BROKER_URL"]
        assert env["HEROCELERY_NODES"].split(",") == ["node1", "node2"]
    assert len(set(brokers.values())) == 1, f"every service must share one broker: {brokers}"
    node_db = urlsplit(env_of(services["node2"])["HEROCELERY_NODE_DB_URL"])
    assert node_db.hostname == "herodb2" and node_db.port == herodb_port("herodb2")
    assert "HEROCELERY_NODE_DB_URL" not in env_of(services["node1"])
    for node in ("node1", "node2"):
        cmd = command_of(services[node])
        assert arg(cmd, "--node") == node == env_of(services[node])["HEROCELERY_NODE"]
        assert "--manage" in cmd
    assert command_of(services["node1"])[-1] == "python,shell"
    assert command_of(services["node2"])[-1] == "rhai,heroscript,osis"
    api_port = arg(command_of(services["api"]), "--port")
    assert services["api"]["ports"] == [f"{api_port}:{api_port}"]
    fl_port = arg(command_of(services["flower"]), "--port")
    assert services["flower"]["ports"] == [f"{fl_port}:{fl_port}"]
    assert "FLOWER_BASIC_AUTH" in env_of(services["flower"])


def test_herodb_requires_the_admin_secret_and_no_secret_is_on_a_command_line(compose, text):
    """issue 19.3: the secret was in every tier's environment (the broker URL), so a job
    could read it from its runner's /proc/<pid>/environ. Now it is a compose secret, a file
    every service reads; the nodes run jobs as `herojob`, and their copy is root's only."""
    services = compose["services"]
    secret = ENV["HERODB_ADMIN_SECRET"]
    assert compose["secrets"]["herodb_admin_secret"] == {"environment": "HERODB_ADMIN_SECRET"}
    path = "/run/secrets/herodb_admin_secret"

    def has_secret(service: dict) -> bool:
        return any((s if isinstance(s, str) else s["source"]) == "herodb_admin_secret"
                   for s in service.get("secrets", []))
    for name in ("herodb1", "herodb2"):
        assert arg(command_of(services[name]), "--admin-secret-file") == path
        assert has_secret(services[name])
    for name, service in services.items():
        for command in ([command_of(service)] + ([health_of(service)]
                                                 if "healthcheck" in service else [])):
            assert "--admin-secret" not in command and not any(secret in a for a in command)
            assert not any("${" in a for a in command), f"{name}: a variable in {command}"
        assert not any(secret in v for v in env_of(service).values()), name
    for name in ("keys", "api", "node1", "node2", "flower"):
        env = env_of(services[name])
        assert urlsplit(env["HEROCELERY_BROKER_URL"]).password is None
        assert env["HEROCELERY_BROKER_SECRET_FILE"] == path and has_secret(services[name])
    assert urlsplit(env_of(services["node2"])["HEROCELERY_NODE_DB_URL"]).password is None
    for node in ("node1", "node2"):
        assert services[node]["user"] == "root"
        assert env_of(services[node])["HEROCELERY_JOB_USER"] == "herojob"
        assert services[node]["secrets"] == [{"source": "herodb_admin_secret", "mode": 0o400}]
    assert "useradd --system --no-create-home herojob" in (ROOT / "Dockerfile").read_text()
    assert re.search(r"FLOWER_BASIC_AUTH: \$\{FLOWER_BASIC_AUTH:\?", text)


def test_keys_are_made_once_and_handed_over_as_files(compose, text):
    services = compose["services"]
    keys = services["keys"]
    assert resolve(command_of(keys)) == ["api", "init-keys"]
    key_dir = arg(command_of(keys), "--dir")
    assert keys["volumes"] == [f"keys:{key_dir}"] and keys["restart"] == "no"
    wanted = {"api": "admin.yaml", "node1": "registrar.yaml", "node2": "registrar.yaml"}
    for name, file in wanted.items():
        service = services[name]
        assert env_of(service)["HEROCELERY_CONFIG"] == f"{key_dir}/{file}"
        assert f"keys:{key_dir}:ro" in service["volumes"]
        assert service["depends_on"]["keys"] == {"condition": "service_completed_successfully"}
    assert "HEROCELERY_API_KEY" not in text          # no key in any environment


def test_each_service_waits_for_what_it_needs_to_be_healthy(compose):
    services = compose["services"]
    for name in LONG_RUNNING:
        assert "healthcheck" in services[name], f"{name} has no healthcheck"
    for name, service in services.items():
        for dep, cond in (service.get("depends_on") or {}).items():
            wanted = "service_completed_successfully" if dep == "keys" else "service_healthy"
            assert cond == {"condition": wanted}, (name, dep, cond)
            assert dep == "keys" or "healthcheck" in services[dep]
    for name in ("herodb1", "herodb2"):
        assert resolve(health_of(services[name])) == ["health", "herodb"]
        url = urlsplit(health_of(services[name])[-1])
        assert url.port == int(arg(command_of(services[name]), "--port"))
    for name, path in (("api", "/health"), ("flower", "/healthcheck")):
        url = urlsplit(health_of(services[name])[-1])
        assert url.port == int(arg(command_of(services[name]), "--port")) and url.path == path
    for node in ("node1", "node2"):
        check = health_of(services[node])
        assert check[:4] == ["herocelery", "health", "node", node]
        assert arg(check, "--runners") == command_of(services[node])[-1]


def test_the_image_leaves_local_files_out():
    ignored = (ROOT / ".dockerignore").read_text().split()
    for pattern in (".git", "**/__pycache__", "**/*.so", "*.egg-info", ".venv", "**/admin.key",
                    ".herocelery"):
        assert pattern in ignored, f".dockerignore misses {pattern}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir ." in dockerfile and " -e " not in dockerfile
    assert "chown hero /data /keys" in dockerfile         # the keys volume is writable by hero


# ---- the commands the healthchecks and the key service run, against real servers ----------
def herocelery(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("HEROCELERY_", "HERODB_"))}
    return subprocess.run([sys.executable, "-m", "herocelery", *args], cwd=ROOT,
                          env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=60)


@pytest.fixture
def secured_herodb(tmp_path):
    """HeroDB as compose runs it: the admin secret from a file (the compose secret)."""
    port = free_port()
    secret = tmp_path / "herodb_admin_secret"
    secret.write_text(ENV["HERODB_ADMIN_SECRET"])
    env = {k: v for k, v in os.environ.items() if k != "HERODB_ADMIN_SECRET"}
    proc = subprocess.Popen([sys.executable, "-m", "herocelery", "herodb", "serve", "--port",
                             str(port), "--dir", str(tmp_path / "herodb"),
                             "--admin-secret-file", str(secret)],
                            env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=ROOT)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while b"listening on" not in proc.stdout.readline():
        assert time.monotonic() < deadline and proc.poll() is None, "HeroDB did not start"
        select.select([proc.stdout], [], [], 0.2)
    yield port, proc
    proc.terminate()
    proc.wait(10)


def test_the_herodb_healthcheck(secured_herodb):
    import redis
    port, proc = secured_herodb
    ok = herocelery("health", "herodb", f"redis://127.0.0.1:{port}")
    assert ok.returncode == 0 and "ready" in ok.stdout, ok.stderr
    with pytest.raises(redis.RedisError, match="Authentication required"):   # secret needed
        redis.Redis(port=port, protocol=2).get("x")
    for what in ("cmdline", "environ"):
        with open(f"/proc/{proc.pid}/{what}", "rb") as f:
            assert ENV["HERODB_ADMIN_SECRET"].encode() not in f.read()
    down = herocelery("health", "herodb", f"redis://:{ENV['HERODB_ADMIN_SECRET']}@127.0.0.1:"
                      f"{free_port()}")
    assert down.returncode == 1 and "Traceback" not in down.stderr
    assert ENV["HERODB_ADMIN_SECRET"] not in down.stderr + down.stdout   # no secret in logs


@pytest.fixture
def api(cluster, hero_settings, tmp_path):
    sys.path.insert(0, str(ROOT / "tests" / "api"))
    from apiproc import start_api
    proc = start_api(hero_settings, tmp_path / "api.log")
    yield proc
    proc.stop()


def test_the_api_and_node_healthchecks(api, hero_settings):
    ok = herocelery("health", "http", api.url + "/health")
    assert ok.returncode == 0, ok.stderr
    missing = herocelery("health", "http", api.url + "/no-such-page")
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr
    env = hero_settings.to_env()
    ok = herocelery("health", "node", "node1", "--runners", "python,shell", env=env)
    assert ok.returncode == 0 and "node1: ready" in ok.stdout, ok.stderr
    bad = herocelery("health", "node", "node1", "--runners", "python,rhai", env=env)
    assert bad.returncode == 1 and "not alive yet: rhai" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_flower_healthcheck_passes_behind_basic_auth(redis_server, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEROCELERY_")}
    log = open(tmp_path / "flower.log", "wb")
    proc = subprocess.Popen([sys.executable, "-m", "herocelery", "--broker",
                             redis_server.url + "/1", "flower", "--port", str(port)],
                            env={**env, "FLOWER_BASIC_AUTH": ENV["FLOWER_BASIC_AUTH"]},
                            stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: herocelery("health", "http", url + "/healthcheck").returncode == 0,
                 60, interval=0.5, what="Flower's /healthcheck")
        assert herocelery("health", "http", url + "/").returncode == 1   # the UI needs auth
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


def test_init_keys_makes_the_key_files_once(tmp_path):
    from herocelery.commands import authorize_registration
    from herocelery.contexts import Registry
    from herocelery.settings import Settings
    from herocelery.store import Store
    server = start_redis_server()
    try:
        broker = server.url + "/1"
        keys = tmp_path / "keys"
        first = herocelery("--broker", broker, "api", "init-keys", "--dir", str(keys))
        assert first.returncode == 0, first.stderr
        assert first.stdout.count(": created") == 2
        files = {f: (keys / f).read_text() for f in ("admin.yaml", "registrar.yaml")}
        for f in files:
            assert (keys / f).stat().st_mode & 0o777 == 0o600
        again = herocelery("--broker", broker, "api", "init-keys", "--dir", str(keys))
        assert again.stdout.count(": kept") == 2
        assert {f: (keys / f).read_text() for f in files} == files
        registrar = Settings.load(env={}, file=keys / "registrar.yaml", broker_url=broker)
        admin = Settings.load(env={}, file=keys / "admin.yaml", broker_url=broker)
        authorize_registration(registrar)                 # what `supervisor start` checks
        store = Store.from_url(admin.store_url())
        registry: Any = Registry(store.r, admin)
        assert registry.authenticate(admin.api_key).scope.value == "admin"
        assert registry.authenticate(registrar.api_key).scope.value == "registrar"
        old = registrar.api_key
        (keys / "registrar.yaml").unlink()                # a lost file: a new key, the old
        redo = herocelery("--broker", broker, "api", "init-keys", "--dir", str(keys))
        assert "registrar.yaml: created" in redo.stdout and "admin.yaml: kept" in redo.stdout
        from herocelery.errors import PermissionDenied
        with pytest.raises(PermissionDenied):             # one revoked
            registry.authenticate(old)
        store.close()
    finally:
        server.stop()
