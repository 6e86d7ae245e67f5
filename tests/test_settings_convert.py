"""Settings from the environment or a file are converted by pydantic to each field's type
(issue 17.8): a bool written `false` is False, never a truthy string."""
from __future__ import annotations

from pathlib import Path

import pytest

from herocelery.errors import ConfigError
from herocelery.settings import Settings


@pytest.mark.parametrize("text, value", [
    ("false", False), ("False", False), ("0", False), ("no", False), ("off", False),
    ("true", True), ("1", True), ("yes", True), ("on", True)])
def test_a_bool_from_the_environment_is_a_bool(text, value):
    s = Settings.load(env={"HEROCELERY_HERODB_ENCRYPT": text})
    assert s.herodb_encrypt is value


def test_every_kind_of_setting_from_text(tmp_path):
    s = Settings.load(env={"HEROCELERY_LEASE_S": "2.5", "HEROCELERY_CONCURRENCY": "3",
                           "HEROCELERY_NODES": "a, b,", "HEROCELERY_DATA_DIR": "~/hero-x",
                           "HEROCELERY_API_KEY": "k1", "HEROCELERY_NODE_DB_URL": ""})
    assert (s.lease_s, s.concurrency, s.nodes, s.api_key) == (2.5, 3, ("a", "b"), "k1")
    assert s.data_dir == Path("~/hero-x").expanduser() and s.node_db_url is None


def test_a_file_gives_typed_values(tmp_path):
    path = tmp_path / "settings.yaml"
    path.write_text("herodb_encrypt: false\nnodes: [n1, n2]\napi_key: 12345\nlease_s: 4\n")
    s = Settings.load(env={}, file=path)
    assert s.herodb_encrypt is False and s.nodes == ("n1", "n2")
    assert s.api_key == "12345" and s.lease_s == 4.0


@pytest.mark.parametrize("name, text", [
    ("HERODB_ENCRYPT", "maybe"), ("CONCURRENCY", "three"), ("LEASE_S", "soon")])
def test_a_value_of_the_wrong_kind_is_one_clear_error(name, text):
    with pytest.raises(ConfigError, match=f"setting {name.lower()}: '{text}' is not a valid"):
        Settings.load(env={f"HEROCELERY_{name}": text})


def test_what_to_env_writes_loads_back_the_same():
    s = Settings.load(env={}, herodb_encrypt=False, nodes=("x", "y"), lease_s=7.5)
    assert Settings.load(env=s.to_env()) == s
