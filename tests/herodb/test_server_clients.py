"""HeroDB with real clients: redis-py (sync and asyncio, RESP2 and RESP3), redis-cli, telnet-style
inline commands, redis-benchmark, a Unix socket. A quick smoke per command family; the deep
comparison against redis-server lives in test_compat_*.py."""
from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio as aredis
from support import wait_for

from herocelery.herodb import ServerConfig, ThreadHandle, run_in_thread


@pytest.fixture(scope="module")
def herodb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadHandle]:
    sock = tmp_path_factory.mktemp("sock") / "herodb.sock"
    handle = run_in_thread(ServerConfig(port=0, unix_socket=str(sock)))
    yield handle
    handle.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(herodb: ThreadHandle, request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    client = redis.Redis(port=herodb.port, protocol=request.param, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


def test_strings_and_keys(r: redis.Redis) -> None:
    assert r.set("a", "1") and r.incrby("a", 41) == 42 and r.get("a") == b"42"
    assert r.set("t", "v", px=50_000) and 49 <= r.ttl("t") <= 50
    assert r.set("t", "w", nx=True) is None and r.getdel("t") == b"v"
    assert r.mset({"x": 1, "y": 2}) and r.mget("x", "y", "nope") == [b"1", b"2", None]
    assert r.append("x", "23") == 3 and r.getrange("x", 1, -1) == b"23"
    assert r.incrbyfloat("f", 1.5) == 1.5 and r.type("f") == b"string"
    assert sorted(r.keys("*")) == [b"a", b"f", b"x", b"y"]
    assert r.rename("x", "z") and r.exists("x", "z") == 1
    assert r.expire("z", 100) and r.persist("z") and r.ttl("z") == -1
    assert sorted(r.scan_iter(count=2)) == [b"a", b"f", b"y", b"z"]
    with pytest.raises(redis.ResponseError, match="WRONGTYPE"):
        r.lpush("a", "x")


def test_hashes(r: redis.Redis) -> None:
    assert r.hset("h", mapping={"f1": "a", "f2": "b"}) == 2
    assert r.hgetall("h") == {b"f1": b"a", b"f2": b"b"}
    assert r.hincrby("h", "n", 5) == 5 and r.hdel("h", "f1", "zz") == 1
    assert sorted(r.hkeys("h")) == [b"f2", b"n"] and r.hlen("h") == 2
    assert dict(r.hscan("h")[1]) == {b"f2": b"b", b"n": b"5"}


def test_lists(r: redis.Redis) -> None:
    assert r.rpush("l", "a", "b", "c") == 3 and r.lpush("l", "z") == 4
    assert r.lrange("l", 0, -1) == [b"z", b"a", b"b", b"c"]
    assert r.lpop("l") == b"z" and r.rpop("l", 2) == [b"c", b"b"]
    assert r.lmove("l", "m", "LEFT", "RIGHT") == b"a" and r.exists("l") == 0
    assert r.blpop(["none", "m"], 1) in ((b"m", b"a"), [b"m", b"a"])


def test_sets_and_sorted_sets(r: redis.Redis) -> None:
    assert r.sadd("s", "a", "b", "c") == 3 and r.smembers("s") == {b"a", b"b", b"c"}
    assert r.sinter("s", "nope") == set() and r.scard("s") == 3
    assert r.zadd("z", {"a": 1, "b": 2, "c": 3}) == 3
    assert r.zrange("z", 0, -1, withscores=True) in (
        [(b"a", 1.0), (b"b", 2.0), (b"c", 3.0)], [[b"a", 1.0], [b"b", 2.0], [b"c", 3.0]])
    assert r.zrangebyscore("z", "(1", "+inf") == [b"b", b"c"] and r.zscore("z", "b") == 2.0
    assert r.zincrby("z", 2.5, "a") == 3.5 and r.zrank("z", "a") == 2


def test_transactions_and_scripts(r: redis.Redis) -> None:
    with r.pipeline() as p:
        p.set("k", 1).incr("k").get("k")
        assert p.execute() == [True, 2, b"2"]
    script = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert script(keys=["k"], args=[5]) == 7
    assert r.script_exists(script.sha) == [True]
    with pytest.raises(redis.exceptions.NoScriptError):
        r.evalsha("0" * 40, 0)


def test_pubsub_messages_arrive(r: redis.Redis) -> None:
    p = r.pubsub()
    p.subscribe("news")
    p.psubscribe("n*")
    wait_for(lambda: r.pubsub_numsub("news")[0][1] == 1, 5, what="the subscription")
    assert r.publish("news", "hi") == 2
    got = [p.get_message(timeout=2) for _ in range(4)]
    assert {m["type"] for m in got if m} >= {"message", "pmessage"}
    p.close()


def test_client_commands_and_info(r: redis.Redis) -> None:
    assert r.client_setname("me") and r.client_getname() in ("me", b"me")
    assert any(c.get("name") == "me" for c in r.client_list())
    assert r.info()["redis_version"].startswith("7.")
    assert r.dbsize() == 0 and r.time()[0] > 1_600_000_000


def test_asyncio_client(herodb: ThreadHandle) -> None:
    async def main() -> list[object]:
        r = aredis.Redis(port=herodb.port)
        try:
            await r.rpush("aq", "x")
            return [await r.lpop("aq"), await r.blpop(["aq"], timeout=0.1)]
        finally:
            await r.aclose()
    assert asyncio.run(main()) == [b"x", None]


def test_unix_socket(herodb: ThreadHandle) -> None:
    path = herodb.server.config.unix_socket
    r = redis.Redis(unix_socket_path=path)
    assert r.ping() and r.set("u", "1") and r.get("u") == b"1"
    r.close()


def _raw(port: int, payload: bytes, expect: int) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(payload)
        data = b""
        while data.count(b"\r\n") < expect:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def test_inline_commands_as_telnet_sends_them(herodb: ThreadHandle) -> None:
    reply = _raw(herodb.port, b'PING\r\nSET greeting "hello world"\r\nGET greeting\n', 4)
    assert reply == b"+PONG\r\n+OK\r\n$11\r\nhello world\r\n"


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli is not installed")
def test_redis_cli_commands_and_stdin(herodb: ThreadHandle) -> None:
    cli = ["redis-cli", "-p", str(herodb.port)]
    done = subprocess.run([*cli, "SET", "c", "v"], capture_output=True, timeout=10)
    assert done.stdout == b"OK\n"
    out = subprocess.run(cli, input=b"INCR n\nINCR n\nGET c\n", capture_output=True, timeout=10)
    assert out.stdout.split() == [b"1", b"2", b"v"]
    out = subprocess.run([*cli, "-3", "HELLO", "3"], capture_output=True, timeout=10)
    assert b"proto" in out.stdout


@pytest.mark.skipif(shutil.which("redis-benchmark") is None, reason="redis-benchmark missing")
def test_redis_benchmark_runs_without_errors(herodb: ThreadHandle) -> None:
    out = subprocess.run(["redis-benchmark", "-p", str(herodb.port), "-n", "2000", "-c", "10",
                          "-t", "set,get,incr,lpush,rpop,lpop,sadd,hset,zadd,mset", "-q"],
                         capture_output=True, timeout=120)
    text = out.stdout.decode() + out.stderr.decode()
    assert out.returncode == 0 and "requests per second" in text and "ERR" not in text, text


def test_blocked_clients_are_served_first_come_first_served(herodb: ThreadHandle) -> None:
    results: dict[str, object] = {}
    admin = redis.Redis(port=herodb.port)

    def waiter(name: str) -> None:
        results[name] = redis.Redis(port=herodb.port).blpop(["fifo"], 10)

    threads = []
    for i, name in enumerate(["first", "second", "third"]):
        t = threading.Thread(target=waiter, args=(name,))
        t.start()
        threads.append(t)
        wait_for(lambda n=i + 1: sum("flags=b" in line for line in
                                     admin.execute_command("CLIENT", "LIST").decode().splitlines())
                 == n,
                 5, what=f"{i + 1} blocked clients")
    admin.rpush("fifo", "1", "2", "3")
    for t in threads:
        t.join(10)
    assert results == {"first": (b"fifo", b"1"), "second": (b"fifo", b"2"),
                       "third": (b"fifo", b"3")}
    admin.close()


def test_pushes_inside_multi_and_scripts_wake_blocked_clients(herodb: ThreadHandle) -> None:
    admin = redis.Redis(port=herodb.port)
    for how in ("multi", "script"):
        out: list[object] = []
        t = threading.Thread(target=lambda out=out: out.append(
            redis.Redis(port=herodb.port).brpop(["wake"], 10)))
        t.start()
        wait_for(lambda: b"flags=b" in admin.execute_command("CLIENT", "LIST"), 5,
                 what="a blocked client")
        if how == "multi":
            with admin.pipeline() as p:
                p.lpush("wake", how).execute()
        else:
            admin.eval("return redis.call('LPUSH', KEYS[1], ARGV[1])", 1, "wake", how)
        t.join(10)
        assert out == [(b"wake", how.encode())]
    # inside MULTI a blocking pop answers at once
    with admin.pipeline() as p:
        assert p.blpop(["empty"], 5).execute() == [None]
    admin.close()


def test_time_to_live_expires_keys_actively(herodb: ThreadHandle) -> None:
    r = redis.Redis(port=herodb.port, db=3)
    r.set("short", "v", px=30)
    wait_for(lambda: r.dbsize() == 0, 5, what="active expiry to remove the key")
    r.close()


def test_databases_are_bounded_and_stop_closes_the_listener() -> None:
    handle = run_in_thread(ServerConfig(port=0, databases=2))
    try:
        r = redis.Redis(port=handle.port)
        assert r.execute_command("SELECT", "1") in (b"OK", "OK", True)
        with pytest.raises(redis.ResponseError, match="DB index is out of range"):
            r.execute_command("SELECT", "2")
        r.close()
    finally:
        handle.stop()

    def refused() -> bool:
        try:
            socket.create_connection(("127.0.0.1", handle.port), timeout=0.2).close()
            return False
        except OSError:
            return True
    wait_for(refused, 5, what="the listener to close after stop()")


def test_a_runaway_script_can_be_killed_and_the_server_keeps_serving(herodb: ThreadHandle) -> None:
    """(issue 14: was killed by HeroDB itself after lua-time-limit; now Redis' contract, see
    test_compat_scripts_busy.py) SCRIPT KILL from another client stops it."""
    r = redis.Redis(port=herodb.port, socket_timeout=30)
    killer = redis.Redis(port=herodb.port, socket_timeout=30)
    r.config_set("lua-time-limit", "200")
    try:
        killer.ping()
        done: list[BaseException] = []

        def run() -> None:
            try:
                r.eval("local i = 0 while true do i = i + 1 end", 0)
            except BaseException as exc:
                done.append(exc)

        t = threading.Thread(target=run)
        t.start()
        wait_for(lambda: _killed(killer), 20, what="SCRIPT KILL to be accepted")
        t.join(20)
        assert done and "Script killed by user with SCRIPT KILL" in str(done[0])
        assert r.eval("return bit.band(12, 10) + bit.bor(1, 2)", 0) == 11
        assert r.ping()
    finally:
        r.config_set("lua-time-limit", "5000")
        r.close()
        killer.close()


def _killed(client: redis.Redis) -> bool:
    try:
        return bool(client.script_kill())
    except redis.ResponseError:  # NOTBUSY: not started yet (BUSY can't be: KILL is allowed)
        return False


def test_a_client_that_never_reads_is_throttled_not_buffered_forever(herodb: ThreadHandle) -> None:
    r = redis.Redis(port=herodb.port)
    r.set("fat", "x" * 100_000)
    frame = b"*2\r\n$3\r\nGET\r\n$3\r\nfat\r\n"
    with socket.create_connection(("127.0.0.1", herodb.port), timeout=5) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.setblocking(False)
        sent = 0
        try:
            for _ in range(20_000):  # 2 GB of replies if all were answered
                sent += s.send(frame * 10)
        except BlockingIOError:
            pass  # the server stopped reading us: TCP pushes back
        assert sent < 20_000 * len(frame) * 10
        assert r.ping()  # everyone else is still served
    r.close()
