"""The admin JSON-RPC (hero_* methods) on the data directory's Unix socket and on TCP, against
real HeroDB subprocesses; the same registry as the HERODB commands (one implementation)."""
from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from procs import HeroDB, start_herodb

SECRET = "rpc-admin-secret"
ROOT = Path(__file__).resolve().parents[2]


class Rpc:
    """A line-delimited JSON-RPC client over a Unix or TCP socket."""

    def __init__(self, address: str | tuple[str, int]) -> None:
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(address)
        self.file = self.sock.makefile("rb")
        self.next_id = 0

    def raw(self, line: bytes) -> Any:
        self.sock.sendall(line + b"\n")
        return json.loads(self.file.readline())

    def call(self, method: str, params: Any = None) -> Any:
        self.next_id += 1
        reply = self.raw(json.dumps({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                                     "params": params or {}}).encode())
        assert reply["id"] == self.next_id
        return reply

    def result(self, method: str, params: Any = None) -> Any:
        reply = self.call(method, params)
        assert "result" in reply, reply
        return reply["result"]

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture(scope="module")
def hd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeroDB]:
    d = Path(os.environ.get("TMPDIR", "/tmp")) / f"hc-rpc-{os.getpid()}"  # short socket path
    d.mkdir(exist_ok=True)
    server = start_herodb(d / "data", "--admin-secret", SECRET, "--admin-rpc-port", "0",
                          logs=d)
    yield server
    server.stop()
    subprocess.run(["rm", "-rf", str(d)], check=False)


@pytest.fixture
def rpc(hd: HeroDB) -> Iterator[Rpc]:
    client = Rpc(str(hd.dir / "herodb-admin.sock"))
    for entry in client.result("hero_listDatabases"):
        client.result("hero_deleteDatabase", {"db": entry["db"]})
    yield client
    client.close()


def tcp_port(hd: HeroDB) -> int:
    line = [ln for ln in hd.out.read_text().splitlines() if "admin rpc on" in ln][0]
    return int(line.rsplit(":", 1)[1])


def test_the_socket_is_private_to_the_owner(hd):
    mode = (hd.dir / "herodb-admin.sock").stat().st_mode
    assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600


def test_every_method_through_the_socket(hd, rpc):
    assert rpc.result("hero_createDatabase", {"db": 4}) == 4
    assert rpc.result("hero_createDatabase", {"public": True}) == 1  # the lowest free
    assert rpc.result("hero_listDatabases") == [
        {"db": 1, "public": True, "access_keys": 0}, {"db": 4, "public": False, "access_keys": 0}]
    added = rpc.result("hero_addAccessKey", {"db": 4, "permission": "readwrite"})
    assert len(added["key"]) == 64 and len(added["id"]) == 16
    listed = rpc.result("hero_listAccessKeys", {"db": 4})
    assert listed == [{"id": added["id"], "permission": "readwrite"}]
    assert added["key"] not in json.dumps(listed)  # hashes only
    # the key works for a client, and the data shows in the info
    client = redis.Redis(port=hd.port, db=4, username="4", password=added["key"])
    client.set("k", "v")
    client.execute_command("FT.CREATE", "idx", "SCHEMA", "t", "TEXT")
    client.execute_command("VEC.CREATE", "vs", "DIM", 2)
    info = rpc.result("hero_getDatabaseInfo", {"db": 4})
    assert info["db"] == 4 and info["public"] is False and info["keys"] == 1
    assert info["access_keys"] == 1 and info["indexes"] == ["idx"] and info["vector_sets"] == ["vs"]
    assert rpc.result("hero_setDatabasePublic", [4, True]) is True  # positional params too
    assert rpc.result("hero_getDatabaseInfo", [4])["public"] is True
    pub = "ab" * 32
    assert rpc.result("hero_addPublicKey", {"db": 4, "public_key": pub, "permission": "read"})
    assert rpc.result("hero_listPublicKeys", {"db": 4}) == [{"public_key": pub,
                                                            "permission": "read"}]
    assert rpc.result("hero_deletePublicKey", {"db": 4, "public_key": pub}) is True
    assert rpc.result("hero_deleteAccessKey", {"db": 4, "key": added["id"]}) is True
    assert rpc.result("hero_deleteAccessKey", {"db": 4, "key": added["id"]}) is False
    with pytest.raises(redis.ResponseError, match="invalid access key for database 4"):
        redis.Redis(port=hd.port, db=4, username="4", password=added["key"]).ping()
    assert rpc.result("hero_deleteDatabase", {"db": 4}) is True
    assert [d["db"] for d in rpc.result("hero_listDatabases")] == [1]


def test_rpc_and_herodb_commands_share_one_registry(hd, rpc):
    admin = redis.Redis(port=hd.port, password=SECRET)
    admin.execute_command("HERODB", "DBCREATE", 7, "PUBLIC")
    assert rpc.result("hero_listDatabases") == [{"db": 7, "public": True, "access_keys": 0}]
    rpc.result("hero_setDatabasePublic", {"db": 7, "public": False})
    assert admin.execute_command("HERODB", "DBLIST") == [[7, b"private", 0]]
    key = admin.execute_command("HERODB", "KEYCREATE", 7, "read").decode()
    assert rpc.result("hero_listAccessKeys", {"db": 7})[0]["permission"] == "read"
    assert rpc.result("hero_deleteAccessKey", {"db": 7, "key": key}) is True
    assert admin.execute_command("HERODB", "KEYLIST", 7) == []


@pytest.mark.parametrize("line, code, text", [
    (b"{not json", -32700, "not JSON"),
    (b'{"jsonrpc": "2.0", "id": 1}', -32600, "expected"),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "hero_nope"}', -32601, "unknown method"),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "hero_deleteDatabase", "params": {"db": "x"}}',
     -32602, "param 'db' must be an integer"),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "hero_deleteDatabase", "params": {"db": 9}}',
     -32000, "database 9 is not registered"),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "hero_addAccessKey", "params": {"db": 9, '
     b'"permission": "all"}}', -32000, "not registered"),
    (b'{"jsonrpc": "2.0", "id": 1, "method": "hero_createDatabase", "params": [1, 2, 3]}',
     -32602, "at most 2 params"),
    (b'[]', -32600, "an empty batch"),
])
def test_bad_requests_get_one_clear_error_and_change_nothing(rpc, line, code, text):
    reply = rpc.raw(line)
    assert reply["error"]["code"] == code and text in reply["error"]["message"]
    assert rpc.result("hero_listDatabases") == []


def test_batches_and_notifications(rpc):
    batch = [{"jsonrpc": "2.0", "id": 1, "method": "hero_createDatabase", "params": {"db": 2}},
             {"jsonrpc": "2.0", "method": "hero_createDatabase", "params": {"db": 3}},
             {"jsonrpc": "2.0", "id": 2, "method": "hero_listDatabases"}]
    reply = rpc.raw(json.dumps(batch).encode())
    assert [r["id"] for r in reply] == [1, 2]  # the notification got no response
    assert [d["db"] for d in reply[1]["result"]] == [2, 3]


def test_rpc_discover_documents_exactly_the_methods(rpc):
    from herocelery.herodb import adminrpc
    doc = rpc.result("rpc.discover")
    assert doc["openrpc"].startswith("1.")
    names = {m["name"] for m in doc["methods"]}
    assert names == set(adminrpc.METHODS) | {"hero_auth"}
    for m in doc["methods"]:
        order = tuple(p["name"] for p in m["params"])
        assert adminrpc.PARAM_ORDER.get(m["name"], ()) == order, m["name"]


def test_tcp_needs_the_admin_secret_first(hd):
    client = Rpc(("127.0.0.1", tcp_port(hd)))
    try:
        assert client.call("hero_listDatabases")["error"]["code"] == -32001
        assert "WRONGPASS" in client.call("hero_auth", {"secret": "wrong"})["error"]["message"]
        assert client.result("hero_auth", {"secret": SECRET}) is True
        assert isinstance(client.result("hero_listDatabases"), list)
    finally:
        client.close()


def test_a_change_acknowledged_by_rpc_survives_kill_9(tmp_path_factory):
    d = Path(os.environ.get("TMPDIR", "/tmp")) / f"hc-rpck-{os.getpid()}"
    d.mkdir(exist_ok=True)
    try:
        server = start_herodb(d / "data", "--appendfsync", "always", logs=d)
        try:
            client = Rpc(str(d / "data" / "herodb-admin.sock"))
            assert client.result("hero_createDatabase", {"db": 3, "public": True}) == 3
            key = client.result("hero_addAccessKey", {"db": 3, "permission": "read"})
            client.close()
        finally:
            server.kill()
        server = start_herodb(d / "data", logs=d)
        try:
            client = Rpc(str(d / "data" / "herodb-admin.sock"))  # a stale socket is replaced
            assert client.result("hero_listDatabases") == [{"db": 3, "public": True,
                                                            "access_keys": 1}]
            assert client.result("hero_listAccessKeys", {"db": 3})[0]["id"] == key["id"]
            client.close()
        finally:
            server.stop()
    finally:
        subprocess.run(["rm", "-rf", str(d)], check=False)


def test_tcp_rpc_without_an_admin_secret_is_a_startup_error(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "herocelery.herodb", "serve", "--port", "0",
                           "--admin-rpc-port", "0"], capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
    assert proc.returncode != 0
    assert "admin RPC on TCP needs an admin secret" in proc.stderr
    assert "Traceback" not in proc.stderr
