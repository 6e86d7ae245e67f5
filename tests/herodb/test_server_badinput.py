"""Bad input never stops HeroDB: malformed, truncated, huge and random frames get
`-ERR Protocol error: ...` and lose only their own connection; limits (request size, multibulk
count, clients, pub/sub output buffer) hold while other clients keep being served."""
from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import wait_for

from herocelery.herodb import ServerConfig, ThreadHandle, run_in_thread
from herocelery.herodb.protocol import Parser, ProtocolError

LIMITS = dict(max_request_bytes=1024 * 1024, max_multibulk=1000, maxclients=50,
              client_output_buffer_bytes=256 * 1024)


@pytest.fixture(scope="module")
def herodb() -> Iterator[ThreadHandle]:
    handle = run_in_thread(ServerConfig(port=0, **LIMITS))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def bystander(herodb: ThreadHandle) -> Iterator[redis.Redis]:
    """A client connected all along; it must be unaffected by everything below."""
    client = redis.Redis(port=herodb.port, socket_timeout=10)
    client.set("canary", "alive")
    yield client
    client.close()


def exchange(port: int, payload: bytes, timeout: float = 5.0, quiet: float = 0.5
             ) -> tuple[bytes, bool]:
    """Send payload; read until the server closes or goes quiet. (reply bytes, closed?)"""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        data = b""
        s.settimeout(quiet)
        while True:
            try:
                chunk = s.recv(65536)
            except TimeoutError:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk


@pytest.mark.parametrize("payload, error", [
    (b"*1\r\n$x\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n:5\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    (b"*1\r\n*1\r\n*1\r\n$4\r\nPING\r\n", b"-ERR Protocol error: expected '$', got '*'\r\n"),
    (b"*1\r\n$2000000\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*99999999999\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*2\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b'SET a "unterminated\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"x" * 70_000, b"-ERR Protocol error: too big inline request\r\n"),
])
def test_a_malformed_frame_gets_a_protocol_error_and_closes_only_that_connection(
        herodb: ThreadHandle, bystander: redis.Redis, payload: bytes, error: bytes) -> None:
    reply, closed = exchange(herodb.port, payload)
    assert reply == error and closed
    assert bystander.get("canary") == b"alive"


def test_complete_requests_before_a_bad_frame_are_answered(herodb: ThreadHandle) -> None:
    reply, closed = exchange(herodb.port, b"PING\r\n*1\r\n$4\r\nPING\r\n*1\r\n$z\r\n")
    assert reply == b"+PONG\r\n+PONG\r\n-ERR Protocol error: invalid bulk length\r\n" and closed


def test_a_truncated_frame_waits_and_a_vanished_client_is_forgotten(
        herodb: ThreadHandle, bystander: redis.Redis) -> None:
    before = len(bystander.client_list())
    reply, closed = exchange(herodb.port, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc")
    assert reply == b"" and not closed
    wait_for(lambda: len(bystander.client_list()) == before, 5, what="the client to be dropped")
    assert bystander.exists("k") == 0


def test_a_large_value_arriving_in_pieces_is_stored_whole(herodb: ThreadHandle) -> None:
    value = bytes(range(256)) * 3000  # 768 KB, under the 1 MB limit
    with socket.create_connection(("127.0.0.1", herodb.port), timeout=10) as s:
        frame = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$%d\r\n%b\r\n" % (len(value), value)
        for i in range(0, len(frame), 4096):
            s.sendall(frame[i:i + 4096])
        assert s.recv(100) == b"+OK\r\n"
    assert redis.Redis(port=herodb.port).strlen("big") == len(value)


def test_too_many_clients_are_refused_with_an_error(herodb: ThreadHandle,
                                                    bystander: redis.Redis) -> None:
    extra = []
    try:
        while len(bystander.client_list()) < LIMITS["maxclients"]:
            s = socket.create_connection(("127.0.0.1", herodb.port), timeout=5)
            s.sendall(b"PING\r\n")
            assert s.recv(100) == b"+PONG\r\n"
            extra.append(s)
        reply, closed = exchange(herodb.port, b"PING\r\n")
        assert reply == b"-ERR max number of clients reached\r\n" and closed
    finally:
        for s in extra:
            s.close()
    wait_for(lambda: len(bystander.client_list()) < 5, 5, what="the extra clients to go")
    assert bystander.ping()


def test_a_slow_subscriber_is_disconnected_not_allowed_to_eat_memory(
        herodb: ThreadHandle, bystander: redis.Redis) -> None:
    slow = socket.create_connection(("127.0.0.1", herodb.port), timeout=5)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.sendall(b"SUBSCRIBE firehose\r\n")
    wait_for(lambda: bystander.pubsub_numsub("firehose")[0][1] == 1, 5, what="the subscriber")
    payload = b"x" * 64 * 1024

    def dropped() -> bool:
        for _ in range(8):
            bystander.publish("firehose", payload)
        return bystander.pubsub_numsub("firehose")[0][1] == 0
    wait_for(dropped, 20, interval=0.01, what="the slow subscriber to be disconnected")
    slow.close()
    assert bystander.get("canary") == b"alive"


frames = st.one_of(
    st.binary(max_size=200),
    st.lists(st.sampled_from([b"*", b"$", b"\r\n", b"-1", b"0", b"3", b"99999999999", b"PING",
                              b"SET", b"\"", b"'", b" ", b":", b"\n", b"*2", b"$4"]),
             max_size=30).map(b"".join),
)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=frames)
def test_random_frames_never_stop_the_server(herodb: ThreadHandle, bystander: redis.Redis,
                                             payload: bytes) -> None:
    reply, _ = exchange(herodb.port, payload, timeout=5, quiet=0.15)
    assert reply == b"" or reply[:1] in b"+-:$*%_>#,~"
    assert bystander.get("canary") == b"alive"


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(st.binary(max_size=40), max_size=10))
def test_the_parser_either_parses_or_raises_a_protocol_error(chunks: list[bytes]) -> None:
    parser = Parser(max_bulk=1000, max_multibulk=100)
    out: list[list[bytes]] = []
    try:
        for chunk in chunks:
            parser.feed(chunk, out)
    except ProtocolError as exc:
        assert str(exc).startswith("Protocol error: ")
    assert all(isinstance(arg, bytes) for argv in out for arg in argv)
    assert all(len(argv) <= 100 for argv in out)


@given(argv=st.lists(st.binary(min_size=0, max_size=50), min_size=1, max_size=8),
       split=st.integers(min_value=0, max_value=400))
def test_a_request_split_anywhere_parses_to_the_same_argv(argv: list[bytes], split: int) -> None:
    frame = b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%b\r\n" % (len(a), a) for a in argv)
    parser = Parser()
    out: list[list[bytes]] = []
    parser.feed(frame[:split], out)
    parser.feed(frame[split:], out)
    assert out == [argv]
