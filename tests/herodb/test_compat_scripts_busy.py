"""The script timeout contract (issue 14.4), the same steps on HeroDB and redis-server: a
script running past lua-time-limit makes other clients get -BUSY; SCRIPT KILL stops one that
wrote nothing (its caller gets the kill error) and is refused (-UNKILLABLE) for one that wrote;
SHUTDOWN NOSAVE ends the server; connections opened meanwhile are answered too."""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from compat import Err, Wire
from procs import start_herodb
from support import start_redis_server, wait_for

BUSY = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE."
UNKILLABLE = ("UNKILLABLE Sorry the script already executed write commands against the dataset. "
              "You can either wait the script termination or kill the server in a hard way "
              "using the SHUTDOWN NOSAVE command.")


@pytest.fixture(params=["herodb", "redis-server"])
def port(request: pytest.FixtureRequest, tmp_path) -> Any:
    if request.param == "redis-server":
        rs = start_redis_server()
        yield rs.port
        rs.stop()
    else:
        hd = start_herodb(tmp_path / "data", "--appendfsync", "no", logs=tmp_path)
        yield hd.port
        hd.stop()


def run_script(port: int, script: str, protocol: int) -> tuple[threading.Thread, list[Any]]:
    w = Wire(port, protocol, timeout=30)
    got: list[Any] = []

    def call() -> None:
        try:
            got.append(w.call("EVAL", script, "0"))
        except (ConnectionError, OSError):
            got.append("closed")  # SHUTDOWN NOSAVE ended the server
        finally:
            w.close()
    t = threading.Thread(target=call, daemon=True)
    t.start()
    return t, got


def busy(w: Wire) -> bool:
    return w.call("PING") == Err(BUSY)


@pytest.mark.parametrize("protocol", [2, 3])
def test_busy_then_script_kill(port: int, protocol: int) -> None:
    other = Wire(port, protocol)
    assert other.call("CONFIG", "SET", "lua-time-limit", "100") == "OK"
    t, got = run_script(port, "local i = 0 while true do i = i + 1 end", protocol)
    wait_for(lambda: busy(other), 20, what="-BUSY")
    assert other.call("GET", "x") == Err(BUSY)
    late = Wire(port, 2)                                  # connected while the script runs
    assert late.call("SET", "x", "1") == Err(BUSY)
    late3 = Wire(port, 3)                                 # HELLO 3 is answered while busy
    assert late3.call("PING") == Err(BUSY)
    assert late.call("SCRIPT", "KILL") == "OK"
    t.join(20)
    assert len(got) == 1 and isinstance(got[0], Err)
    assert got[0].text.startswith("ERR Script killed by user with SCRIPT KILL... script: ")
    wait_for(lambda: other.call("PING") == "PONG", 10, what="the server to serve again")
    assert other.call("SCRIPT", "KILL") == Err("NOTBUSY No scripts in execution right now.")
    assert late.call("GET", "x") is None and late.call("PING") == "PONG"
    assert late3.call("HGETALL", "nokey") == {}           # still RESP3 after joining the loop
    late3.close()
    other.call("CONFIG", "SET", "lua-time-limit", "5000")
    other.close()
    late.close()


def test_a_script_that_wrote_is_unkillable_and_shutdown_nosave_ends_the_server(port: int) -> None:
    other = Wire(port, 2)
    assert other.call("CONFIG", "SET", "lua-time-limit", "100") == "OK"
    t, got = run_script(port, "redis.call('SET', 'x', '1') while true do end", 2)
    wait_for(lambda: busy(other), 20, what="-BUSY")
    assert other.call("SCRIPT", "KILL") == Err(UNKILLABLE)
    other.send("SHUTDOWN", "NOSAVE")
    with pytest.raises((ConnectionError, OSError)):
        other.read()
    t.join(20)
    assert not t.is_alive()
    time.sleep(0.2)
