"""Connection, server, transaction and scripting commands: HeroDB answers as redis-server does.

Tables run on one wire-exact connection, over RESP2 and RESP3, against both servers.
"""
from __future__ import annotations

import redis
from compat import ANY, Check, E, P, U


def arity(cmd: str) -> E:
    return E(f"ERR wrong number of arguments for '{cmd}' command")


def is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


CONNECTION = [
    ("PING", "PONG"),
    ("PING hello", b"hello"),
    ("PING a b", arity("ping")),
    ("ECHO hi", b"hi"),
    ("ECHO", arity("echo")),
    ("SELECT 1", "OK"),
    ("SET in1 v", "OK"),
    ("SELECT 0", "OK"),
    ("GET in1", None),
    ("SELECT 99999", E("ERR DB index is out of range")),
    ("SELECT -1", E("ERR DB index is out of range")),
    ("SELECT x", E("ERR value is not an integer or out of range")),
    ("CLIENT SETNAME tester", "OK"),
    ("CLIENT GETNAME", b"tester"),
    ("CLIENT SETNAME 'a b'", E("ERR Client names cannot contain spaces")),
    ("CLIENT ID", Check(is_int, "an id")),
    ("CLIENT LIST", Check(lambda v: b"name=tester" in v, "me")),
    ("CLIENT INFO", Check(lambda v: b"name=tester" in v, "my line")),
    ("CLIENT BOGUS", E("ERR unknown subcommand 'BOGUS'")),
    ("CLIENT KILL ID 999999", 0),
    ("HELLO 4", E("NOPROTO unsupported protocol version")),
    ("HELLO x", E("ERR Protocol version is not an integer or out of range")),
    ("HELLO", Check(lambda v: isinstance(v, (list, dict)) and len(v) == 14 // (
        2 if isinstance(v, dict) else 1), "the HELLO reply")),
    ("AUTH onlypass", E("ERR AUTH <password> called without any password configured")),
    ("BOGUS a b", E("ERR unknown command 'BOGUS', with args beginning with: 'a' 'b' ")),
]

SERVER = [
    ("MSET a 1 b 2", "OK"),
    ("DBSIZE", 2),
    ("SWAPDB 0 1", "OK"),
    ("DBSIZE", 0),
    ("SELECT 1", "OK"),
    ("DBSIZE", 2),
    ("SWAPDB 0 x", E("ERR invalid second DB index")),
    ("SWAPDB x 0", E("ERR invalid first DB index")),
    ("FLUSHDB", "OK"),
    ("DBSIZE", 0),
    ("SELECT 0", "OK"),
    ("SET k v", "OK"),
    ("FLUSHALL", "OK"),
    ("DBSIZE", 0),
    ("FLUSHALL ASYNC", "OK"),
    ("FLUSHDB SYNC", "OK"),
    ("FLUSHDB BOGUS", E("ERR syntax error")),
    ("TIME", Check(lambda v: len(v) == 2 and int(v[0]) > 1_600_000_000 and 0 <= int(v[1]) < 10**6,
                   "seconds and microseconds")),
    ("LASTSAVE", Check(is_int, "a unix time")),
    ("COMMAND COUNT", Check(lambda v: is_int(v) and v > 100, "a count")),
    ("COMMAND INFO get", Check(lambda v: v[0][0] == b"get" and v[0][1] == 2, "get's arity")),
    ("COMMAND INFO set lpush", Check(lambda v: v[0][1] == -3 and v[1][1] == -3, "arities")),
    ("COMMAND INFO nosuchcommand", [None]),
    ("COMMAND DOCS get", Check(lambda v: isinstance(v, (list, dict)) and len(v) > 0, "docs")),
    ("COMMAND BOGUS", E("ERR unknown subcommand 'BOGUS'")),
    ("CONFIG GET maxclients", P([b"maxclients", ANY], {b"maxclients": ANY})),
    ("CONFIG GET nosuchoption", P([], {})),
    ("CONFIG SET nosuchoption 1", E("ERR Unknown option or number of arguments for CONFIG SET")),
    ("CONFIG BOGUS", E("ERR unknown subcommand 'BOGUS'")),
    ("INFO", Check(lambda v: b"redis_version:" in v and b"# Server" in v, "INFO text")),
    ("INFO keyspace", Check(lambda v: b"# Keyspace" in v and b"# Server" not in v, "section")),
    ("OBJECT FREQ nokey", Check(lambda v: v is None or hasattr(v, "text"), "nil or an error")),
    ("RESET", "RESET"),
    ("CLIENT GETNAME", None),
]

TRANSACTIONS = [
    ("MULTI", "OK"),
    ("SET a 1", "QUEUED"),
    ("INCR a", "QUEUED"),
    ("LPUSH l x", "QUEUED"),
    ("EXEC", ["OK", 2, 1]),
    ("MULTI", "OK"),
    ("MULTI", E("ERR MULTI calls can not be nested")),
    ("DISCARD", "OK"),
    ("DISCARD", E("ERR DISCARD without MULTI")),
    ("EXEC", E("ERR EXEC without MULTI")),
    ("MULTI", "OK"),
    ("SET a", arity("set")),
    ("INCR a", "QUEUED"),
    ("EXEC", E("EXECABORT Transaction discarded because of previous errors.")),
    ("GET a", b"2"),
    ("MULTI", "OK"),
    ("NOSUCHCMD", E("ERR unknown command 'NOSUCHCMD'")),
    ("EXEC", E("EXECABORT")),
    ("MULTI", "OK"),
    ("SET s v", "QUEUED"),
    ("LPUSH s x", "QUEUED"),
    ("INCR a", "QUEUED"),
    ("EXEC", ["OK", E("WRONGTYPE"), 3]),
    ("MULTI", "OK"),
    ("WATCH a", E("ERR WATCH inside MULTI is not allowed")),
    ("BLPOP nothing 0", "QUEUED"),
    ("EXEC", [None]),
    ("MULTI", "OK"),
    ("EXEC", []),
    ("WATCH a b", "OK"),
    ("UNWATCH", "OK"),
    ("WATCH a", "OK"),
    ("MULTI", "OK"),
    ("GET a", "QUEUED"),
    ("EXEC", [b"3"]),
]

SCRIPTING = [
    ("EVAL 'return 1' 0", 1),
    ("EVAL 'return \"x\"' 0", b"x"),
    ("EVAL 'return {1, 2, {3, \"a\"}}' 0", [1, 2, [3, b"a"]]),
    ("EVAL 'return {1, 2, nil, 4}' 0", [1, 2]),
    ("EVAL 'return 3.99' 0", 3),
    ("EVAL 'return -2.5' 0", -2),
    ("EVAL 'return true' 0", 1),
    ("EVAL 'return false' 0", None),
    ("EVAL 'return nil' 0", None),
    ("EVAL 'return redis.status_reply(\"FINE\")' 0", "FINE"),
    ("EVAL 'return redis.error_reply(\"MYERR went wrong\")' 0", E("MYERR went wrong")),
    ("EVAL 'return {err = \"CUSTOM bad\"}' 0", E("CUSTOM bad")),
    ("EVAL 'return {ok = \"DONE\"}' 0", "DONE"),
    ("EVAL 'return {KEYS[1], ARGV[1], #KEYS, #ARGV}' 2 k1 k2 a1", [b"k1", b"a1", 2, 1]),
    ("EVAL 'return redis.call(\"SET\", KEYS[1], ARGV[1])' 1 key val", "OK"),
    ("EVAL 'return redis.call(\"GET\", KEYS[1])' 1 key", b"val"),
    ("EVAL 'return redis.call(\"GET\", \"nokey\")' 0", None),
    ("EVAL 'return type(redis.call(\"GET\", \"nokey\"))' 0", b"boolean"),
    ("EVAL 'return redis.call(\"INCRBY\", KEYS[1], 5)' 1 n", 5),
    ("EVAL 'redis.call(\"RPUSH\", KEYS[1], \"a\", \"b\"); "
     "return redis.call(\"LRANGE\", KEYS[1], 0, -1)' 1 l",
     [b"a", b"b"]),
    ("EVAL 'return redis.call(\"HGETALL\", KEYS[1])' 1 nohash", []),
    ("EVAL 'return redis.call(\"LPUSH\", KEYS[1], \"x\")' 1 key", E("WRONGTYPE")),
    ("EVAL 'local r = redis.pcall(\"LPUSH\", KEYS[1], \"x\"); return type(r)' 1 key", b"table"),
    ("EVAL 'return redis.pcall(\"LPUSH\", KEYS[1], \"x\")' 1 key", E("WRONGTYPE")),
    ("EVAL 'return redis.call(\"NOSUCH\")' 0", E("ERR")),
    ("EVAL 'return (' 0", E("ERR")),
    ("EVAL 'error(\"boom\")' 0", E("ERR")),
    ("EVAL 'return 1' 2 onlyone", E("ERR Number of keys can't be greater than number of args")),
    ("EVAL 'return 1' -1", E("ERR Number of keys can't be negative")),
    ("EVAL 'return 1' x", E("ERR value is not an integer or out of range")),
    ("EVAL 'return 1'", arity("eval")),
    ("EVALSHA ffffffffffffffffffffffffffffffffffffffff 0",
     E("NOSCRIPT No matching script. Please use EVAL.")),
    ("SCRIPT LOAD 'return ARGV[1] .. \"!\"'", b"0815e6b44e4b6542850b6cc0556ea601cce2ca20"),
    ("EVALSHA 0815e6b44e4b6542850b6cc0556ea601cce2ca20 0 hi", b"hi!"),
    ("EVALSHA 0815E6B44E4B6542850B6CC0556EA601CCE2CA20 0 ho", b"ho!"),
    ("SCRIPT EXISTS 0815e6b44e4b6542850b6cc0556ea601cce2ca20 ffff", [1, 0]),
    ("EVAL 'return 42' 0", 42),
    ("EVALSHA 1fa00e76656cc152ad327c13fe365858fd7be306 0", 42),
    ("SCRIPT FLUSH", "OK"),
    ("SCRIPT EXISTS 0815e6b44e4b6542850b6cc0556ea601cce2ca20", [0]),
    ("EVALSHA 0815e6b44e4b6542850b6cc0556ea601cce2ca20 0", E("NOSCRIPT")),
    ("SCRIPT BOGUS", E("ERR unknown subcommand")),
    # Redis 7.0 refuses blocking commands in scripts, 7.2 runs them without blocking
    ("EVAL 'return redis.call(\"BLPOP\", \"empty\", 0)' 0",
     Check(lambda v: v is None or v.text.startswith("ERR This Redis command is not allowed"),
           "nil or refused")),
    ("EVAL 'return redis.call(\"EVAL\", \"return 1\", 0)' 0", E("ERR")),
]


def test_connection_commands(run):
    run(CONNECTION)


def test_server_commands(run):
    run(SERVER)


def test_transactions(run):
    run(TRANSACTIONS)


def test_scripting(run):
    run(SCRIPTING)


def test_scripts_see_and_return_floats_as_redis_does(run):
    run([
        ("ZADD z 1.5 m", 1),
        ("EVAL 'return redis.call(\"ZSCORE\", KEYS[1], \"m\")' 1 z", b"1.5"),
        ("EVAL 'return tonumber(redis.call(\"ZSCORE\", KEYS[1], \"m\")) * 2' 1 z", 3),
        ("EVAL 'return redis.call(\"HSET\", KEYS[1], \"f\", 1.25)' 1 h", 1),
        ("HGET h f", b"1.25"),
    ])


def test_script_errors_name_their_line_and_pcall_sees_the_error_text(run):
    incr = "ERR value is not an integer or out of range"
    run([
        ("SET str v", "OK"),
        # a tail call `return redis.call(...)` still knows its line
        ("EVAL 'return redis.call(\"INCR\", KEYS[1])' 1 str",
         E(f"{incr} script: f793247de6e1e3c553cd42d39c812df499e679e4, on @user_script:1.")),
        ("EVAL 'local x = 1\n\nlocal y = redis.call(\"INCR\", KEYS[1])\nreturn y' 1 str",
         E(f"{incr} script: 5468e41b458145f7348f71c79864bc53ae1c7137, on @user_script:3.")),
        ("EVAL 'local ok, e = pcall(redis.call, \"INCR\", KEYS[1])\n"
         "return {tostring(ok), type(e), tostring(e)}' 1 str",
         [b"false", b"string", incr.encode()]),
        ("EVAL 'local ok, e = pcall(redis.call, \"INCR\", KEYS[1])\nerror(e)' 1 str",
         E(f"ERR user_script:2: {incr} script: bbb6536db7e1ce4fd84cfcb573007004be06790d, "
           "on @user_script:2.")),
        ("EVAL 'local ok, e = xpcall(function() return redis.call(\"INCR\", KEYS[1]) end, "
         "function(e) return type(e) .. \":\" .. e.err end)\nreturn e' 1 str",
         f"table:{incr}".encode()),
        ("EVAL 'return redis.pcall(\"INCR\", KEYS[1])' 1 str", E(incr)),
        ("EVAL 'return redis.pcall(\"INCR\", KEYS[1]).err' 1 str", incr.encode()),
        ("EVAL '\n\nerror(\"boom\")' 0",
         E("ERR user_script:3: boom script: 7f4663f28bec5d84812fd898884efe02757474ce, "
           "on @user_script:3.")),
    ])


def test_client_setinfo_as_redis_7_2_answers(run, server, r):
    version = r.info("server")["redis_version"]
    if server.kind == "redis-server" and tuple(map(int, version.split(".")[:2])) < (7, 2):
        import pytest
        pytest.skip(f"redis-server {version} predates CLIENT SETINFO (7.2)")
    run([
        ("CLIENT SETINFO LIB-NAME herotest", "OK"),
        ("CLIENT SETINFO LIB-VER 1.0", "OK"),
        ("CLIENT SETINFO BOGUS 1", E("ERR Unrecognized option 'BOGUS'")),
        ("CLIENT LIST", Check(lambda v: b"lib-name=herotest" in v and b"lib-ver=1.0" in v, "me")),
    ])


def test_watch_aborts_exec_when_another_client_writes(r, connect):
    other = connect()
    r.set("balance", 10)
    with r.pipeline() as pipe:
        pipe.watch("balance")
        other.incr("balance")
        pipe.multi()
        pipe.set("balance", 0)
        try:
            pipe.execute()
            raised = False
        except Exception as exc:  # redis.WatchError
            raised = type(exc).__name__ == "WatchError"
    assert raised and r.get("balance") == b"11"
    with r.pipeline() as pipe:
        pipe.watch("balance")
        pipe.multi()
        pipe.set("balance", 0)
        assert pipe.execute() == [True]
    assert r.get("balance") == b"0"


def test_watch_sees_expiry_flush_and_delete_by_others(r, connect):
    other = connect()
    for change in (lambda: other.delete("w"), lambda: other.flushdb(),
                   lambda: other.expire("w", 100)):
        r.set("w", 1)
        with r.pipeline() as pipe:
            pipe.watch("w")
            change()
            pipe.multi()
            pipe.set("w", 2)
            try:
                pipe.execute()
                aborted = False
            except Exception as exc:
                aborted = type(exc).__name__ == "WatchError"
        assert aborted


def test_redis_py_scripts_and_pipelines(r):
    incr_by = r.register_script("return redis.call('INCRBY', KEYS[1], ARGV[1])")
    assert incr_by(keys=["c"], args=[3]) == 3
    r.script_flush()
    assert incr_by(keys=["c"], args=[4]) == 7       # NOSCRIPT, then EVAL, transparently
    pipe = r.pipeline(transaction=False)
    for i in range(100):
        pipe.rpush("p", i)
    assert pipe.execute() == list(range(1, 101))
    assert U.__name__ and r.llen("p") == 100


CLIENT_FILTERS = [  # issue 14.4: CLIENT NO-EVICT / KILL filters, as Redis 7.0 answers them
    ("CLIENT NO-EVICT on", "OK"),
    ("CLIENT NO-EVICT off", "OK"),
    ("CLIENT NO-EVICT maybe", E("ERR syntax error")),
    ("CLIENT REPLY foo", E("ERR syntax error")),
    ("CLIENT KILL TYPE normal SKIPME yes ID 999999", 0),
    ("CLIENT KILL TYPE master", 0),
    ("CLIENT KILL TYPE replica", 0),
    ("CLIENT KILL TYPE slave", 0),
    ("CLIENT KILL TYPE pubsub", 0),
    ("CLIENT KILL TYPE bogus", E("ERR Unknown client type 'bogus'")),
    ("CLIENT KILL USER nosuch", E("ERR No such user 'nosuch'")),
    ("CLIENT KILL USER default ID 999999", 0),
    ("CLIENT KILL MAXAGE 10", E("ERR syntax error")),
    ("CLIENT KILL ID x", E("ERR client-id should be greater than 0")),
    ("CLIENT KILL ID 0", E("ERR client-id should be greater than 0")),
    ("CLIENT KILL LADDR 1.2.3.4:5", 0),
    ("CLIENT KILL ADDR 1.2.3.4:5", 0),
    ("CLIENT KILL 1.2.3.4:5", E("ERR No such client")),
    ("CLIENT KILL ID", E("ERR No such client")),
    ("CLIENT KILL SKIPME maybe", E("ERR syntax error")),
]


def test_client_filters(run):
    run(CLIENT_FILTERS)


def test_client_reply_off_skip_on(wire, protocol):
    """CLIENT REPLY OFF: nothing comes back until CLIENT REPLY ON (whose +OK does); SKIP
    silences itself and the next request only. Writes still happen."""
    wire.send("CLIENT", "REPLY", "OFF")
    wire.send("SET", "a", "1")
    wire.send("GET", "a")
    wire.send("CLIENT", "REPLY", "ON")
    assert wire.read() == "OK"
    assert wire.call("GET", "a") == b"1"
    wire.send("CLIENT", "REPLY", "SKIP")
    wire.send("INCR", "a")
    assert wire.call("GET", "a") == b"2"
    wire.send("CLIENT", "REPLY", "SKIP")
    wire.send("CLIENT", "REPLY", "OFF")  # skipped, and it turns replies off
    wire.send("PING")
    assert wire.call("CLIENT", "REPLY", "ON") == "OK"


def test_client_kill_by_type_and_addr(server, connect):
    a, b = connect(), connect()
    a.client_setname("a")
    b.client_setname("b")
    p = connect().pubsub()
    p.subscribe("ch")
    p.get_message(timeout=5)
    admin = connect()
    assert admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
    addr = next(x["addr"] for x in admin.client_list() if x["name"] == "a")
    assert admin.execute_command("CLIENT", "KILL", "ADDR", addr, "SKIPME", "no") == 1
    names = {x["name"] for x in admin.client_list()}
    assert "a" not in names and "b" in names
    p.close()


def _sleep(ms: int) -> None:
    import time
    time.sleep(ms / 1000)


def test_watch_and_expired_keys(wire, connect):
    """Redis 7.0: a key already expired when WATCHed changes nothing when it is deleted or
    flushed; a key that expires after WATCH fails EXEC; FLUSHALL/FLUSHDB/SWAPDB dirty only
    WATCHers of keys that exist."""
    w = wire
    w.call("SET", "x", "foo", "PX", "20")
    _sleep(60)
    assert w.call("WATCH", "x") == "OK"             # already expired
    assert w.call("MULTI") == "OK" and w.call("PING") == "QUEUED"
    assert w.call("EXEC") == ["PONG"]
    w.call("SET", "x", "foo", "PX", "20")
    _sleep(60)
    w.call("WATCH", "x")
    assert w.call("DEL", "x") == 0                  # deleting the stale key: no change
    w.call("MULTI"), w.call("PING")
    assert w.call("EXEC") == ["PONG"]
    w.call("SET", "x", "foo", "PX", "20")
    _sleep(60)
    w.call("WATCH", "x")
    w.call("FLUSHDB")
    w.call("MULTI"), w.call("PING")
    assert w.call("EXEC") == ["PONG"]
    w.call("SET", "x", "foo", "PX", "100")          # live when WATCHed, expires before EXEC
    w.call("WATCH", "x")
    _sleep(200)
    w.call("MULTI"), w.call("PING")
    assert w.call("EXEC") is None
    other = connect()
    w.call("WATCH", "nokey")                        # FLUSHALL of nothing it watches
    other.flushall()
    w.call("MULTI"), w.call("PING")
    assert w.call("EXEC") == ["PONG"]
    w.call("SET", "k", "v")
    w.call("WATCH", "k")
    other.flushall()                                # ... of a key it watches
    w.call("MULTI"), w.call("PING")
    assert w.call("EXEC") is None
    w.call("WATCH", "s")                            # SWAPDB bringing the key in
    other.execute_command("SELECT", "1")
    c1 = connect(db=1)
    c1.set("s", "from-1")
    other.swapdb(0, 1)
    w.call("MULTI"), w.call("PING")
    assert w.call("EXEC") is None
    w.call("WATCH", "nothing")                      # SWAPDB of keys it does not watch
    other.swapdb(0, 1)
    w.call("MULTI"), w.call("PING")
    assert w.call("EXEC") == ["PONG"]
    other.flushall()


def test_info_fields_tools_read(server, r):
    """redis_version, used_memory, used_cpu_user, maxmemory, the keyspace section, and the
    error counters (total_error_replies, errorstats) after the same steps on both servers."""
    r.config_resetstat()
    r.set("a", "1", ex=100)
    r.set("b", "2")
    for bad in (("BOGUS",), ("LPUSH", "a", "x"), ("INCR", "b", "c")):
        try:
            r.execute_command(*bad)
        except redis.ResponseError:
            pass
    info = r.info("everything")
    assert info["redis_version"].startswith("7.")
    assert isinstance(info["used_memory"], int) and info["used_memory"] > 0
    assert float(info["used_cpu_user"]) >= 0 and info["maxmemory"] == 0  # (a fresh server: 0.0)
    assert info["db0"]["keys"] == 2 and info["db0"]["expires"] == 1
    assert 0 <= info["db0"]["avg_ttl"] <= 100_000  # (redis-server estimates it over time)
    assert info["total_error_replies"] == 3
    assert info["errorstat_ERR"] == {"count": 2} and info["errorstat_WRONGTYPE"] == {"count": 1}
