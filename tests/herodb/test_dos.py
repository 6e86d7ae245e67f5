"""No single client takes HeroDB down (issue 14): while a bad client is served, the server's
RSS stays under 200 MB and another client's PING is answered.

Each case runs against a real HeroDB subprocess. The latency is asserted as a bound with
generous slack (the machine is shared; the target of 100 ms is measured in bench/, not here):
the point is that the server keeps answering, not how fast.
"""
from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from procs import HeroDB, start_herodb

RSS_LIMIT = 200 * 2 ** 20
PING_BOUND = 5.0  # seconds: 50x the 100 ms target (the shared machine runs at load 8 at times)


def rss(server: HeroDB) -> int:
    with open(f"/proc/{server.proc.pid}/statm") as f:
        return int(f.read().split()[1]) * 4096


def frame(*args: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        b = a if isinstance(a, bytes) else a.encode()
        out.append(b"$%d\r\n%b\r\n" % (len(b), b))
    return b"".join(out)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HeroDB]:
    d = tmp_path_factory.mktemp("dos")
    hd = start_herodb(d / "data", "--appendfsync", "no", logs=d)
    yield hd
    hd.stop()


@pytest.fixture
def other(server: HeroDB) -> Iterator[redis.Redis]:
    client = redis.Redis(port=server.port, socket_timeout=10)
    client.flushall()
    yield client
    client.close()


def watch(server: HeroDB, other: redis.Redis, seconds: float, step=None) -> tuple[int, float]:
    """PING from `other` for `seconds` (calling `step()` in between); (peak RSS, worst PING)."""
    peak, worst = 0, 0.0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if step is not None:
            step()
        t = time.perf_counter()
        assert other.ping()
        worst = max(worst, time.perf_counter() - t)
        peak = max(peak, rss(server))
        time.sleep(0.01)
    return peak, worst


@pytest.mark.parametrize("command", [
    ("SRANDMEMBER", "s", "-9223372036854775807"),
    ("HRANDFIELD", "h", "-4611686018427387903", "WITHVALUES"),
    ("ZRANDMEMBER", "z", "-9223372036854775807"),
])
def test_a_reply_of_quintillions_of_picks_streams_in_bounded_memory(
        server: HeroDB, other: redis.Redis, command: tuple[str, ...]) -> None:
    other.sadd("s", "a", "b", "c")
    other.hset("h", "f", "v")
    other.zadd("z", {"m": 1})
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bad:
        bad.sendall(frame(*command))
        received = [0]

        def read_some() -> None:
            received[0] += len(bad.recv(1 << 20))

        peak, worst = watch(server, other, 3.0, read_some)
        assert received[0] > 1 << 20  # the bad client is served, not refused
    assert peak < RSS_LIMIT, f"RSS peaked at {peak / 2**20:.0f} MiB"
    assert worst < PING_BOUND, f"a PING took {worst * 1000:.0f} ms"
    assert other.ping() and other.scard("s") == 3


def test_a_client_that_never_reads_its_long_reply_costs_nothing(
        server: HeroDB, other: redis.Redis) -> None:
    other.sadd("s", "a")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bad:
        bad.sendall(frame("SRANDMEMBER", "s", "-9223372036854775807"))
        peak, worst = watch(server, other, 2.0)
    assert peak < RSS_LIMIT and worst < PING_BOUND
    assert other.ping()


def test_the_reply_of_a_long_stream_then_the_next_requests_come_in_order(
        server: HeroDB, other: redis.Redis) -> None:
    other.sadd("s", "x")
    r = redis.Redis(port=server.port, socket_timeout=10)
    p = r.pipeline(transaction=False)
    p.srandmember("s", -50_000)
    p.set("after", "1")
    p.get("after")
    picks, ok, value = p.execute()
    assert picks == [b"x"] * 50_000 and ok is True and value == b"1"
    r.close()


def test_a_pipeline_of_huge_replies_it_never_reads_costs_bounded_memory(
        server: HeroDB, other: redis.Redis) -> None:
    """5,000 GETs of a 1 MB value in one write (5 GB of replies) from a client that reads
    nothing: redis-server 7.0 buffers them all (4.8 GB here); HeroDB runs a read's requests
    only while their replies stay under 4 MB, and the rest once the client took those."""
    other.set("big", b"x" * 1_000_000)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bad:
        bad.setblocking(False)
        try:
            bad.send(frame("GET", "big") * 5000)
        except BlockingIOError:
            pass
        peak, worst = watch(server, other, 2.0)
    assert peak < RSS_LIMIT, f"RSS peaked at {peak / 2**20:.0f} MiB"
    assert worst < PING_BOUND


def test_maxmemory_holds_against_a_client_filling_the_server(
        server: HeroDB, other: redis.Redis) -> None:
    other.config_set("maxmemory", "64mb")
    try:
        filler = redis.Redis(port=server.port, socket_timeout=10)
        value = b"v" * 100_000
        refused = None
        for i in range(3000):  # 300 MB if nothing stopped it
            try:
                filler.set(f"fill:{i}", value)
            except redis.exceptions.ResponseError as exc:
                refused = str(exc)
                break
        assert refused is not None and "command not allowed when used memory" in refused
        assert rss(server) < RSS_LIMIT
        # writes near the limit are measured as they come (it overshot to 115 MB on 100 ms
        # measurements alone)
        assert other.info("memory")["used_memory"] < 72 * 2 ** 20
        assert other.ping() and other.get("fill:0") == value  # reads keep working
        filler.flushall()                                     # and freeing lets writes in
        from support import wait_for
        wait_for(lambda: _set_works(filler), 10, what="writes to be accepted after FLUSHALL")
        filler.close()
    finally:
        other.config_set("maxmemory", "0")


def _set_works(client: redis.Redis) -> bool:
    try:
        return bool(client.set("after", "1"))
    except redis.exceptions.ResponseError:
        return False


@pytest.mark.parametrize("long_command", [
    ("DEBUG", "SLEEP", "4"),
    ("EVAL", "local i = 0 while true do i = i + 1 end", "0"),
])
def test_sigterm_is_honoured_within_a_second_while_a_long_command_runs(
        tmp_path: Path, long_command: tuple[str, ...]) -> None:
    hd = start_herodb(tmp_path / "data", "--appendfsync", "everysec", logs=tmp_path)
    try:
        r = redis.Redis(port=hd.port, socket_timeout=10)
        r.config_set("lua-time-limit", "60000")
        r.set("acknowledged", "yes")
        with socket.create_connection(("127.0.0.1", hd.port), timeout=10) as busy:
            busy.sendall(frame(*long_command))
            time.sleep(0.5)  # the command runs
            t = time.monotonic()
            hd.proc.terminate()
            hd.proc.wait(10)
            took = time.monotonic() - t
        assert took < 1.0 + 2.0, f"exited {took:.2f} s after SIGTERM"  # 1 s, plus slack
        assert hd.proc.returncode == 0
    finally:
        hd.stop()
    again = start_herodb(tmp_path / "data", "--appendfsync", "everysec", logs=tmp_path)
    try:
        assert redis.Redis(port=again.port).get("acknowledged") == b"yes"  # the log is whole
    finally:
        again.stop()
