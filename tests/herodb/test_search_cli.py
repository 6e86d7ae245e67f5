"""`herocelery herodb` operator commands for databases, keys, indexes, vector sets and named
keys, run as a user would (a subprocess of the real entry point) against a HeroDB subprocess."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from procs import HeroDB, start_herodb

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def hd() -> Iterator[HeroDB]:
    d = Path(os.environ.get("TMPDIR", "/tmp")) / f"hc-cli-{os.getpid()}"  # short socket path
    d.mkdir(exist_ok=True)
    server = start_herodb(d / "data", logs=d)
    yield server
    server.stop()
    shutil.rmtree(d, ignore_errors=True)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "herocelery", "herodb", *args],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)


def test_databases_and_keys_through_the_admin_socket(hd):
    d = str(hd.dir)
    assert cli("db", "create", "3", "--public", "--dir", d).stdout.strip() == "3"
    listed = json.loads(cli("db", "list", "--dir", d).stdout)
    assert {"db": 3, "public": True, "access_keys": 0} in listed
    added = json.loads(cli("key", "add", "3", "read", "--dir", d).stdout)
    assert json.loads(cli("key", "list", "3", "--dir", d).stdout) == [
        {"id": added["id"], "permission": "read"}]
    pub = "cd" * 32
    assert cli("pubkey", "add", "3", pub, "readwrite", "--dir", d).returncode == 0
    assert json.loads(cli("pubkey", "list", "3", "--dir", d).stdout)[0]["public_key"] == pub
    assert cli("key", "delete", "3", added["id"], "--dir", d).stdout.strip() == "true"
    info = json.loads(cli("db", "info", "3", "--dir", d).stdout)
    assert info["access_keys"] == 0 and info["public_keys"] == 1
    assert cli("db", "delete", "3", "--dir", d).returncode == 0
    assert json.loads(cli("rpc", "hero_listDatabases", "--dir", d).stdout) == []


def test_indexes_vector_sets_and_named_keys_through_resp(hd):
    url = f"redis://127.0.0.1:{hd.port}/2"
    assert cli("index", "create", "docs", "title", "TEXT", "SORTABLE", "n", "NUMERIC",
               "--url", url).stdout.strip() == "OK"
    assert cli("index", "list", "--url", url).stdout.split() == ["docs"]
    assert json.loads(cli("index", "info", "docs", "--url", url).stdout)["num_docs"] == 0
    assert cli("vec", "create", "emb", "--dim", "8", "--metric", "l2", "--url", url
               ).returncode == 0
    assert cli("vec", "list", "--url", url).stdout.split() == ["emb"]
    assert json.loads(cli("vec", "info", "emb", "--url", url).stdout)["dim"] == 8
    created = json.loads(cli("agekey", "create", "signer", "--url", url).stdout)
    assert created["recipient"].startswith("age1")
    assert json.loads(cli("agekey", "list", "--url", url).stdout) == [
        {"name": "signer", "recipient": created["recipient"],
         "verify_key": created["verify_key"]}]
    assert cli("index", "drop", "docs", "--url", url).returncode == 0
    assert cli("vec", "drop", "emb", "--url", url).returncode == 0
    r = redis.Redis(port=hd.port, db=2)
    assert r.execute_command("FT._LIST") == [] and r.execute_command("VEC.LIST") == []


@pytest.mark.parametrize("args, message", [
    (("db", "delete", "9"), "database 9 is not registered"),
    (("key", "add", "9", "read"), "database 9 is not registered"),
    (("rpc", "hero_nope"), "unknown method 'hero_nope'"),
    (("rpc", "hero_listDatabases", "{bad"), "PARAMS is not JSON"),
    (("index", "create", "x", "a", "FOO"), "unknown type 'FOO'"),
    (("index", "drop", "missing"), "Unknown index name 'missing'"),
    (("vec", "info", "missing"), "Unknown vector set 'missing'"),
])
def test_errors_are_one_line_and_exit_1(hd, args, message):
    extra = ("--dir", str(hd.dir)) if args[0] in ("db", "key", "rpc") else (
        "--url", f"redis://127.0.0.1:{hd.port}/2")
    proc = cli(*args, *extra)
    assert proc.returncode == 1
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_missing_socket_is_named(tmp_path):
    proc = cli("db", "list", "--dir", str(tmp_path))
    assert proc.returncode == 1 and "cannot reach the admin socket" in proc.stderr


def test_redis_cli_speaks_the_new_families(hd):
    def rc(*args: str) -> str:
        proc = subprocess.run(["redis-cli", "-p", str(hd.port), "-n", "4", *args],
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip()
    assert rc("FT.CREATE", "cli", "SCHEMA", "body", "TEXT") == "OK"
    assert rc("FT.ADD", "cli", "a", "1", "body", "hello from redis-cli") == "OK"
    assert rc("FT.SEARCH", "cli", "hello", "NOCONTENT").splitlines() == ["1", "a"]
    assert rc("VEC.CREATE", "v", "DIM", "2") == "OK"
    assert rc("VEC.ADD", "v", "p", "[1, 0]") == "1"
    assert rc("VEC.SEARCH", "v", "1", "[1, 0.1]").splitlines()[0] == "p"
    recipient = rc("AGE", "KEYGEN", "k").splitlines()[0]
    assert recipient.startswith("age1")
    armored = rc("AGE", "ENCRYPTNAME", "k", "via cli")
    assert rc("AGE", "DECRYPTNAME", "k", armored) == "via cli"
    assert len(rc("CHALLENGE")) == 64
    assert rc("FT.DROP", "cli") == "OK"
