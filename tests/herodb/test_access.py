"""The Hero DB access model, every edge allowed and refused, on a real HeroDB subprocess."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from compat import Err, Wire
from procs import HeroDB, start_herodb

SECRET = "s3cret-admin"
NOAUTH = "NOAUTH Authentication required."


@pytest.fixture(scope="module")
def hd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeroDB]:
    d = tmp_path_factory.mktemp("access")
    server = start_herodb(d / "data", "--admin-secret", SECRET, logs=d)
    yield server
    server.stop()


@pytest.fixture
def admin(hd: HeroDB) -> Iterator[Wire]:
    w = Wire(hd.port)
    assert w.call("AUTH", SECRET) == "OK"
    for n, *_ in w.call("HERODB", "DBLIST"):
        w.call("HERODB", "DBDELETE", n)
    yield w
    w.close()


@pytest.fixture
def anon(hd: HeroDB) -> Iterator[Wire]:
    w = Wire(hd.port)
    yield w
    w.close()


def err(reply: object, prefix: str) -> bool:
    return isinstance(reply, Err) and reply.text.startswith(prefix)


@pytest.mark.parametrize("cmd", [
    ["GET", "k"], ["SET", "k", "v"], ["KEYS", "*"], ["DBSIZE"], ["EVAL", "return 1", "0"],
    ["MULTI"], ["SUBSCRIBE", "ch"], ["PUBLISH", "ch", "m"], ["FLUSHALL"], ["HERODB", "DBLIST"],
    ["CLIENT", "LIST"], ["INFO"], ["CONFIG", "GET", "*"], ["ECHO", "x"], ["HELLO", "3"],
])
def test_before_authentication_only_the_door_commands_work(anon, cmd):
    reply = anon.call(*cmd)
    assert err(reply, "NOAUTH"), reply


def test_ping_quit_and_a_wrong_secret(anon, hd):
    assert anon.call("PING") == "PONG"
    assert err(anon.call("AUTH", "guess"), "WRONGPASS")
    assert err(anon.call("AUTH", "default", "guess"), "WRONGPASS")
    assert err(anon.call("GET", "k"), "NOAUTH")
    assert anon.call("QUIT") == "OK"


@pytest.mark.parametrize("how", ["auth1", "auth2", "hello", "redis-py2", "redis-py3"])
def test_the_admin_secret_grants_everything(hd, admin, how):
    if how.startswith("redis-py"):
        r = redis.Redis(port=hd.port, password=SECRET, protocol=int(how[-1]))
        assert r.set("k0", "v") and r.get("k0") == b"v"
        assert r.execute_command("HERODB", "DBCREATE", "7") == 7
        r.close()
        return
    w = Wire(hd.port)
    if how == "auth1":
        assert w.call("AUTH", SECRET) == "OK"
    elif how == "auth2":
        assert w.call("AUTH", "default", SECRET) == "OK"
    else:
        assert isinstance(w.call("HELLO", "3", "AUTH", "default", SECRET), dict)
    assert w.call("SET", "k0", "v") == "OK"               # database 0: the admin database
    assert w.call("SELECT", "9") == "OK"                  # any database, registered or not
    assert w.call("SET", "k9", "v") == "OK"
    assert w.call("CONFIG", "GET", "appendfsync") is not None
    assert w.call("HERODB", "DBCREATE", "3", "PUBLIC") == 3
    w.close()


def test_database_zero_is_closed_to_non_admins(anon, admin):
    assert err(anon.call("SELECT", "0"), "NOPERM database 0 is the admin database")
    key = admin.call("HERODB", "KEYCREATE", admin.call("HERODB", "DBCREATE", "2"), "readwrite")
    assert anon.call("SELECT", "2", "KEY", key) == "OK"
    assert err(anon.call("SELECT", "0"), "NOPERM database 0")
    assert err(anon.call("SELECT", "0", "KEY", key), "NOPERM database 0")
    assert anon.call("HGETALL", "herodb:db:2") == []


def test_private_database_needs_a_key_of_that_database(anon, admin):
    assert admin.call("HERODB", "DBCREATE", "4", "PRIVATE") == 4
    assert admin.call("HERODB", "DBCREATE", "5", "PRIVATE") == 5
    other = admin.call("HERODB", "KEYCREATE", "5", "readwrite")
    assert err(anon.call("SELECT", "4"), "NOPERM database 4 is private")
    assert err(anon.call("SELECT", "4", "KEY", "not-a-key"), "NOPERM invalid access key")
    assert err(anon.call("SELECT", "4", "KEY", other), "NOPERM invalid access key")
    assert err(anon.call("SELECT", "6"), "NOPERM database 6 does not exist")
    assert err(anon.call("SELECT", "4", "PASS", other), "ERR syntax error")
    assert err(anon.call("GET", "k"), "NOAUTH")


def test_read_key_reads_and_is_refused_every_write(anon, admin):
    admin.call("HERODB", "DBCREATE", "4")
    admin.call("SELECT", "4")
    admin.call("SET", "k", "v")
    admin.call("RPUSH", "q", "a")
    key = admin.call("HERODB", "KEYCREATE", "4", "read")
    assert anon.call("SELECT", "4", "KEY", key) == "OK"
    assert anon.call("GET", "k") == b"v"
    assert anon.call("LRANGE", "q", 0, -1) == [b"a"]
    assert anon.call("EVAL", "return redis.call('GET', KEYS[1])", 1, "k") == b"v"
    for cmd in (["SET", "k", "x"], ["DEL", "k"], ["LPOP", "q"], ["RPUSH", "q", "b"],
                ["EXPIRE", "k", "5"], ["FLUSHDB"], ["HSET", "h", "f", "v"], ["INCR", "n"],
                ["PUBLISH", "ch", "m"]):
        reply = anon.call(*cmd)
        assert err(reply, "NOPERM this connection has read-only access to database 4"), (cmd, reply)
    reply = anon.call("EVAL", "return redis.call('SET', KEYS[1], 'x')", 1, "k")
    assert err(reply, "NOPERM") or (isinstance(reply, Err) and "NOPERM" in reply.text), reply
    assert anon.call("MULTI") == "OK"
    assert anon.call("GET", "k") == "QUEUED"
    assert err(anon.call("SET", "k", "x"), "NOPERM")
    assert err(anon.call("EXEC"), "EXECABORT")
    assert admin.call("GET", "k") == b"v" and admin.call("LLEN", "q") == 1


def test_readwrite_key_writes_only_its_database(anon, admin):
    admin.call("HERODB", "DBCREATE", "4")
    admin.call("HERODB", "DBCREATE", "5")
    key = admin.call("HERODB", "KEYCREATE", "4", "readwrite")
    assert anon.call("SELECT", "4", "KEY", key) == "OK"
    assert anon.call("SET", "k", "mine") == "OK"
    assert anon.call("EVAL", "return redis.call('INCR', KEYS[1])", 1, "n") == 1
    assert anon.call("MULTI") == "OK" and anon.call("RPUSH", "q", "a") == "QUEUED"
    assert anon.call("EXEC") == [1]
    for cmd in (["MOVE", "k", "5"], ["COPY", "k", "k2", "DB", "5"], ["SWAPDB", "4", "5"],
                ["FLUSHALL"], ["CONFIG", "SET", "appendfsync", "no"], ["BGREWRITEAOF"],
                ["HERODB", "KEYCREATE", "4", "readwrite"]):
        reply = anon.call(*cmd)
        assert err(reply, "NOPERM"), (cmd, reply)
    assert err(anon.call("SELECT", "5"), "NOPERM database 5 is private")
    assert anon.call("GET", "k") == b"mine"          # still in 4 after a refused SELECT
    admin.call("SELECT", "4")
    assert admin.call("MGET", "k", "n") == [b"mine", b"1"]


def test_public_database_is_open_without_a_key(anon, admin):
    admin.call("HERODB", "DBCREATE", "3", "PUBLIC")
    assert anon.call("SELECT", "3") == "OK"
    assert anon.call("SET", "k", "v") == "OK" and anon.call("GET", "k") == b"v"
    assert err(anon.call("FLUSHALL"), "NOPERM")
    assert admin.call("HERODB", "DBPRIVATE", "3") == "OK"    # takes effect at once
    assert err(anon.call("GET", "k"), "NOPERM no access to database 3")
    assert err(anon.call("SELECT", "3"), "NOPERM database 3 is private")
    assert admin.call("HERODB", "DBPUBLIC", "3") == "OK"
    assert anon.call("SELECT", "3") == "OK" and anon.call("GET", "k") == b"v"


def test_revoking_a_key_or_deleting_the_database_cuts_connected_clients(hd, anon, admin):
    admin.call("HERODB", "DBCREATE", "4")
    key = admin.call("HERODB", "KEYCREATE", "4", "readwrite")
    assert anon.call("SELECT", "4", "KEY", key) == "OK" and anon.call("SET", "k", "v") == "OK"
    [[key_id, perm]] = admin.call("HERODB", "KEYLIST", "4")
    assert perm == b"readwrite" and key_id != key[:len(key_id)]   # only hashes are stored
    assert admin.call("HERODB", "KEYDELETE", "4", key_id) == 1
    assert admin.call("HERODB", "KEYDELETE", "4", key_id) == 0
    assert err(anon.call("GET", "k"), "NOPERM no access to database 4")
    key2 = admin.call("HERODB", "KEYCREATE", "4", "read")
    assert anon.call("SELECT", "4", "KEY", key2) == "OK" and anon.call("GET", "k") == b"v"
    assert admin.call("HERODB", "DBDELETE", "4") == "OK"
    assert err(anon.call("GET", "k"), "NOPERM")
    admin.call("SELECT", "4")
    assert admin.call("DBSIZE") == 0                              # its data went too
    assert err(admin.call("HERODB", "KEYLIST", "4"), "ERR database 4 is not registered")


def test_select_inside_multi_cannot_change_permissions(anon, admin):
    admin.call("HERODB", "DBCREATE", "4")
    admin.call("HERODB", "DBCREATE", "5")
    rw = admin.call("HERODB", "KEYCREATE", "4", "readwrite")
    ro = admin.call("HERODB", "KEYCREATE", "5", "read")
    assert anon.call("SELECT", "4", "KEY", rw) == "OK"
    assert anon.call("MULTI") == "OK"
    assert anon.call("SELECT", "5", "KEY", ro) == "QUEUED"
    assert anon.call("SET", "k", "x") == "QUEUED"
    reply = anon.call("EXEC")
    assert err(reply[0], "NOPERM") and reply[1] == "OK"
    admin.call("SELECT", "5")
    assert admin.call("EXISTS", "k") == 0                     # the write stayed in 4


@pytest.mark.parametrize("protocol", [2, 3])
def test_redis_py_gets_in_with_database_number_and_key_as_credentials(hd, admin, protocol):
    admin.call("HERODB", "DBCREATE", "6")
    key = admin.call("HERODB", "KEYCREATE", "6", "readwrite").decode()
    r = redis.Redis(port=hd.port, db=6, username="6", password=key, protocol=protocol)
    assert r.set("ctx", "v") and r.get("ctx") == b"v"
    r.close()
    url = redis.Redis.from_url(f"redis://6:{key}@127.0.0.1:{hd.port}/6", protocol=protocol)
    assert url.get("ctx") == b"v"
    url.close()
    bad = redis.Redis(port=hd.port, db=6, username="6", password="0" * 64, protocol=protocol)
    with pytest.raises(redis.exceptions.RedisError):
        bad.get("ctx")


def test_read_key_may_subscribe(hd, admin):
    admin.call("HERODB", "DBCREATE", "4")
    key = admin.call("HERODB", "KEYCREATE", "4", "read")
    sub = Wire(hd.port)
    assert sub.call("SELECT", "4", "KEY", key) == "OK"
    assert sub.call("SUBSCRIBE", "news") == [b"subscribe", b"news", 1]
    # channels are scoped by database (scoped.py): a publish in database 0 does not reach it
    assert admin.call("PUBLISH", "news", "elsewhere") == 0
    assert admin.call("SELECT", "4") == "OK"
    assert admin.call("PUBLISH", "news", "hi") == 1
    assert sub.read() == [b"message", b"news", b"hi"]
    sub.close()


@pytest.mark.parametrize("cmd, prefix", [
    (["HERODB", "DBCREATE", "0"], "ERR database must be 1.."),
    (["HERODB", "DBCREATE", "99999"], "ERR database must be 1.."),
    (["HERODB", "DBCREATE", "x"], "ERR database must be 1.."),
    (["HERODB", "KEYCREATE", "8", "read"], "ERR database 8 is not registered"),
    (["HERODB", "DBDELETE", "8"], "ERR database 8 is not registered"),
    (["HERODB", "DBPUBLIC", "8"], "ERR database 8 is not registered"),
    (["HERODB", "NOPE"], "ERR unknown subcommand 'NOPE'"),
    (["HERODB"], "ERR wrong number of arguments for 'herodb' command"),
])
def test_admin_command_errors_name_the_problem(admin, cmd, prefix):
    assert err(admin.call(*cmd), prefix), admin.call(*cmd)


def test_admin_commands_create_list_and_refuse_duplicates(admin):
    assert admin.call("HERODB", "DBCREATE") == 1
    assert admin.call("HERODB", "DBCREATE", "PUBLIC") == 2
    assert err(admin.call("HERODB", "DBCREATE", "2"), "ERR database 2 is already registered")
    assert err(admin.call("HERODB", "KEYCREATE", "1", "admin"), "ERR permission must be")
    admin.call("HERODB", "KEYCREATE", "1", "read")
    admin.call("HERODB", "KEYCREATE", "1", "readwrite")
    assert admin.call("HERODB", "DBLIST") == [[1, b"private", 2], [2, b"public", 0]]
    assert sorted(p for _, p in admin.call("HERODB", "KEYLIST", "1")) == [b"read", b"readwrite"]
    assert len(admin.call("HERODB", "HELP")) > 5


def test_the_registry_survives_a_restart_and_stores_no_key(tmp_path):
    data = tmp_path / "data"
    server = start_herodb(data, "--admin-secret", SECRET, "--appendfsync", "always",
                          logs=tmp_path)
    try:
        w = Wire(server.port)
        w.call("AUTH", SECRET)
        w.call("HERODB", "DBCREATE", "3")
        key = w.call("HERODB", "KEYCREATE", "3", "read")
        w.call("SELECT", "3")
        w.call("SET", "k", "v")
        w.close()
    finally:
        server.kill()
    blob = b"".join(p.read_bytes() for p in Path(data).rglob("*") if p.is_file())
    assert key not in blob
    server = start_herodb(data, "--admin-secret", SECRET, logs=tmp_path)
    try:
        w = Wire(server.port)
        assert w.call("SELECT", "3", "KEY", key) == "OK" and w.call("GET", "k") == b"v"
        assert err(w.call("SET", "k", "x"), "NOPERM")
        w.close()
    finally:
        server.stop()


def test_without_an_admin_secret_it_is_plain_redis(tmp_path):
    server = start_herodb(tmp_path / "data", logs=tmp_path)
    try:
        w = Wire(server.port)
        assert w.call("SET", "k", "v") == "OK" and w.call("SELECT", "0") == "OK"
        assert err(w.call("AUTH", "x"), "ERR AUTH <password> called without any password")
        assert err(w.call("SELECT", "1", "KEY", "k"),
                   "ERR wrong number of arguments for 'select' command")
        assert isinstance(w.call("HELLO", "3"), dict)
        w.close()
    finally:
        server.stop()


def test_redis_cli_gets_in_as_the_readme_shows(hd, admin):
    import subprocess

    def cli(*args: str) -> str:
        done = subprocess.run(["redis-cli", "-p", str(hd.port), "--no-auth-warning", *args],
                              capture_output=True, text=True, timeout=20)
        return done.stdout.strip()

    assert cli("-a", SECRET, "HERODB", "DBCREATE", "5", "PRIVATE") == "5"
    key = cli("-a", SECRET, "HERODB", "KEYCREATE", "5", "readwrite")
    assert len(key) == 64
    assert cli("--user", "5", "--pass", key, "-n", "5", "SET", "k", "v") == "OK"
    assert cli("--user", "5", "--pass", key, "-n", "5", "GET", "k") == "v"
    assert "NOPERM" in cli("--user", "5", "--pass", key, "-n", "5", "FLUSHALL")
    assert "NOAUTH" in cli("GET", "k")


def test_non_admins_cannot_list_or_kill_other_clients(anon, admin):
    admin.call("HERODB", "DBCREATE", "3", "PUBLIC")
    assert anon.call("SELECT", "3") == "OK"
    assert anon.call("CLIENT", "SETNAME", "runner") == "OK"
    assert anon.call("CLIENT", "GETNAME") == b"runner"
    assert isinstance(anon.call("CLIENT", "ID"), int)
    assert b"name=runner" in anon.call("CLIENT", "INFO")
    for sub in (["LIST"], ["KILL", "ID", "1"], ["UNBLOCK", "1"]):
        assert err(anon.call("CLIENT", *sub), "NOPERM 'client"), sub
    assert b"name=runner" in admin.call("CLIENT", "LIST")


def test_reset_forgets_authentication(hd):
    w = Wire(hd.port)
    assert w.call("AUTH", SECRET) == "OK" and w.call("DBSIZE") is not None
    assert w.call("RESET") == "RESET"
    assert err(w.call("DBSIZE"), "NOAUTH")
    w.close()


def test_hello_auth_with_a_wrong_secret_or_a_database_key(hd, admin):
    w = Wire(hd.port)
    assert err(w.call("HELLO", "3", "AUTH", "default", "nope"), "WRONGPASS")
    assert err(w.call("GET", "k"), "NOAUTH")
    admin.call("HERODB", "DBCREATE", "4")
    key = admin.call("HERODB", "KEYCREATE", "4", "read")
    assert isinstance(w.call("HELLO", "2", "AUTH", "4", key), list)
    assert err(w.call("GET", "k"), "NOPERM database 0 is the admin database")   # still in 0
    assert w.call("SELECT", "4") == "OK" and w.call("GET", "k") is None
    assert err(w.call("SET", "k", "v"), "NOPERM this connection has read-only access")
    w.close()
