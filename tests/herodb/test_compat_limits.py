"""Counts, ranges, offsets and times at the edges of int64: HeroDB answers as redis-server does
(errors included) and never tries to build what an absurd count asks for.

Issue 14.1: `SRANDMEMBER s -9223372036854775808` made HeroDB build a 9.2e18-element list. Every
command that takes a count, a range, an offset, a database index or a time is probed at
0, ±1, ±2**31, ±2**62 and ±2**63 here, against both servers, over RESP2 and RESP3.
"""
from __future__ import annotations

from compat import Check, E, P, U

MIN, MAX = "-9223372036854775808", "9223372036854775807"
OUT_OF_RANGE = E("ERR value is out of range, value must between -9223372036854775807 and "
                 "9223372036854775807")
NOT_INT = E("ERR value is not an integer or out of range")
INT32 = E("ERR value is out of range, value must between -2147483648 and 2147483647")


def invalid_expire(cmd: str) -> E:
    return E(f"ERR invalid expire time in '{cmd}' command")


RANDOM_COUNTS = [
    ("SADD s a b", 2),
    (f"SRANDMEMBER s {MIN}", OUT_OF_RANGE),
    (f"SRANDMEMBER s {MAX}", U([b"a", b"b"])),
    ("SRANDMEMBER s 0", []),
    ("SRANDMEMBER s -3", Check(lambda v: len(v) == 3 and set(v) <= {b"a", b"b"}, "3 picks")),
    (f"SRANDMEMBER nokey {MIN}", OUT_OF_RANGE),
    ("SRANDMEMBER nokey -5", []),
    ("SRANDMEMBER s x", NOT_INT),
    ("SRANDMEMBER s 1 2", E("ERR syntax error")),
    ("ZADD z 1 a", 1),
    (f"ZRANDMEMBER z {MIN}", OUT_OF_RANGE),
    (f"ZRANDMEMBER z {MAX}", [b"a"]),
    (f"ZRANDMEMBER z {MAX} WITHSCORES", E("ERR value is out of range")),
    ("ZRANDMEMBER z -4611686018427387904 WITHSCORES", E("ERR value is out of range")),
    ("ZRANDMEMBER z 4611686018427387903 WITHSCORES", P([b"a", b"1"], [[b"a", 1.0]])),
    ("ZRANDMEMBER z -2 WITHSCORES", P([b"a", b"1", b"a", b"1"], [[b"a", 1.0], [b"a", 1.0]])),
    ("ZRANDMEMBER z 1 WITHSCORE", E("ERR syntax error")),
    ("HSET h f v", 1),
    (f"HRANDFIELD h {MIN}", OUT_OF_RANGE),
    (f"HRANDFIELD h {MAX}", [b"f"]),
    (f"HRANDFIELD h {MAX} WITHVALUES", E("ERR value is out of range")),
    ("HRANDFIELD h -2 WITHVALUES", P([b"f", b"v", b"f", b"v"], [[b"f", b"v"], [b"f", b"v"]])),
    ("HRANDFIELD h 1 WITHVALUES x", E("ERR syntax error")),
    (f"HRANDFIELD nokey {MIN}", OUT_OF_RANGE),
    ("SPOP s -1", E("ERR value is out of range, must be positive")),
    (f"SPOP s {MAX}", P(U([b"a", b"b"]), U([b"a", b"b"]))),
    ("SADD s a b", 2),
    (f"ZPOPMIN z {MAX}", P([b"a", b"1"], [[b"a", 1.0]])),
]

RANGES = [
    ("RPUSH l a b c", 3),
    (f"LPOS l a COUNT {MAX}", [0]),
    ("LPOS l a RANK 9223372036854775807", None),
    (f"LPOS l a MAXLEN {MAX}", 0),
    (f"LRANGE l {MIN} {MAX}", [b"a", b"b", b"c"]),
    (f"LRANGE l {MAX} {MIN}", []),
    (f"LINDEX l {MIN}", None),
    (f"LSET l {MIN} x", E("ERR index out of range")),
    (f"LREM l {MIN} a", 1),
    (f"LTRIM l {MIN} {MAX}", "OK"),
    ("LRANGE l 0 -1", [b"b", b"c"]),
    (f"LPOP l {MAX}", [b"b", b"c"]),
    ("RPUSH l a b c", 3),
    (f"RPOP l {MIN}", E("ERR value is out of range, must be positive")),
    (f"LMPOP 1 l LEFT COUNT {MAX}", [b"l", [b"a", b"b", b"c"]]),
    ("RPUSH l a", 1),
    (f"LMPOP {MAX} l LEFT", E("ERR syntax error")),
    ("SADD s a b", 2),
    (f"SINTERCARD {MAX} s", E("ERR Number of keys can't be greater than number of args")),
    (f"SINTERCARD 1 s LIMIT {MAX}", 2),
    ("SET str hello", "OK"),
    (f"GETRANGE str {MIN} {MAX}", b"hello"),
    (f"GETRANGE str {MAX} {MIN}", b""),
    (f"SETRANGE str {MAX} x", E("ERR string exceeds maximum allowed size (proto-max-bulk-len)")),
    ("SETRANGE str 536870912 x", E("ERR string exceeds maximum allowed size")),
    ("SETRANGE str -1 x", E("ERR offset is out of range")),
    ("GET str", b"hello"),
    ("ZADD z 1 a 2 b 3 c", 3),
    (f"ZRANGE z {MIN} {MAX}", [b"a", b"b", b"c"]),
    (f"ZRANGE z {MIN} {MAX} REV", [b"c", b"b", b"a"]),
    (f"ZRANGE z 0 -1 BYSCORE LIMIT 0 {MAX}", []),
    (f"ZRANGE z -inf +inf BYSCORE LIMIT {MIN} -1", []),
    (f"ZRANGEBYSCORE z -inf +inf LIMIT {MAX} {MAX}", []),
    (f"ZREMRANGEBYRANK z {MIN} {MIN}", 0),
    (f"ZUNIONSTORE d {MAX} z", E("ERR syntax error")),
    ("ZINTERSTORE d -1 z", E("ERR at least 1 input key is needed")),
    (f"SSCAN s 0 COUNT {MAX}", [b"0", U([b"a", b"b"])]),
    (f"SCAN 0 COUNT {MAX} MATCH str", [b"0", [b"str"]]),
    ("SCAN 18446744073709551616", E("ERR invalid cursor")),
    (f"INCRBY n {MAX}", 9223372036854775807),
    ("INCRBY n 1", E("ERR increment or decrement would overflow")),
    (f"DECRBY m {MIN}", E("ERR decrement would overflow")),
    (f"HINCRBY h n {MAX}", 9223372036854775807),
    ("HINCRBY h n 1", E("ERR increment or decrement would overflow")),
    (f"EVAL \"return 1\" {MAX}", E("ERR Number of keys can't be greater than number of args")),
    (f"EVAL \"return 1\" {MIN}", E("ERR Number of keys can't be negative")),
]

TIMES = [
    ("SET str hello", "OK"),
    (f"PEXPIREAT str {MAX}", 1),
    ("TTL str", Check(lambda t: t > 9 * 10 ** 15, "a TTL near the end of int64")),
    (f"EXPIREAT str {MAX}", invalid_expire("expireat")),
    (f"EXPIRE str {MAX}", invalid_expire("expire")),
    (f"EXPIRE str {MIN}", invalid_expire("expire")),
    ("EXPIRE str 9223372036854775", invalid_expire("expire")),
    ("PEXPIRE str 9223372036854775000", invalid_expire("pexpire")),
    ("EXPIRE str 9223372036854", 1),
    (f"PEXPIREAT str {MIN}", 1),
    ("EXISTS str", 0),
    ("SET str v", "OK"),
    ("EXPIREAT str -9223372036854775", 1),
    ("EXISTS str", 0),
    (f"SET k v PX {MAX}", invalid_expire("set")),
    ("SET k v EX 9223372036854775", invalid_expire("set")),
    ("SET k v EX 9223372036854776", invalid_expire("set")),
    ("SET k v EXAT 9223372036854775", "OK"),
    (f"SET k v PXAT {MAX}", "OK"),
    (f"GETEX k PXAT {MAX}", b"v"),
    (f"GETEX k EX {MAX}", invalid_expire("getex")),
    (f"PSETEX k {MAX} v", invalid_expire("psetex")),
    ("SETEX k 9223372036854775 v", invalid_expire("setex")),
    ("RPUSH l a b", 2),
    (f"BLPOP l {MAX}", E("ERR timeout is negative")),
    ("BLPOP l 1e400", E("ERR timeout is negative")),
    ("BLPOP l inf", E("ERR timeout is negative")),
    ("BLPOP l 1e16", E("ERR timeout is negative")),
    ("BLPOP l 9223372036854775", [b"l", b"a"]),
    (f"BZPOPMIN z {MAX}", E("ERR timeout is negative")),
    ("BLMOVE l l2 LEFT LEFT 1e400", E("ERR timeout is negative")),
]

DATABASES = [
    (f"SELECT {MAX}", INT32),
    ("SELECT 2147483647", E("ERR DB index is out of range")),
    (f"MOVE l {MAX}", INT32),
    (f"COPY l l2 DB {MAX}", INT32),
    (f"SWAPDB 0 {MAX}", E("ERR invalid second DB index")),
    (f"SWAPDB {MIN} 0", E("ERR invalid first DB index")),
    (f"CLIENT KILL ID {MAX}", 0),
    (f"CLIENT UNBLOCK {MAX}", 0),
]


def test_random_counts(run):
    run(RANDOM_COUNTS)


def test_ranges_and_offsets(run):
    run(RANGES)


def test_expiry_and_timeouts(run):
    run(TIMES)


def test_database_indexes(run):
    run(DATABASES)


MPOP_ARGUMENTS = [  # issue 14.4: LMPOP/SINTERCARD argument errors, and ZMPOP/BZMPOP
    ('RPUSH l a', 1),
    ('LMPOP 9223372036854775807 l LEFT', E('ERR syntax error')),
    ('LMPOP 0 l LEFT', E('ERR numkeys should be greater than 0')),
    ('LMPOP -1 l left', E('ERR numkeys should be greater than 0')),
    ('LMPOP 2 l LEFT', E('ERR syntax error')),
    ('LMPOP 1 l LEFT COUNT 0', E('ERR count should be greater than 0')),
    ('LMPOP 1 l LEFT COUNT -1', E('ERR count should be greater than 0')),
    ('LMPOP 1 l LEFT COUNT x', E('ERR count should be greater than 0')),
    ('LMPOP 1 l middle', E('ERR syntax error')),
    ('LMPOP 1 l LEFT COUNT 1 COUNT 2', E('ERR syntax error')),
    ('LMPOP 1 l LEFT junk', E('ERR syntax error')),
    ('LMPOP x l LEFT', E('ERR numkeys should be greater than 0')),
    ('BLMPOP 0 -1 l LEFT', E('ERR numkeys should be greater than 0')),
    ('BLMPOP 0 1 l LEFT COUNT 1 COUNT 2', E('ERR syntax error')),
    ('BLMPOP x 1 l LEFT', E('ERR timeout is not a float or out of range')),
    ('LMPOP 1 l RIGHT COUNT 5', [b'l', [b'a']]),
    ('SADD s a b', 2),
    ('SINTERCARD 9223372036854775807 s',
     E("ERR Number of keys can't be greater than number of args")),
    ('SINTERCARD 0 s', E('ERR numkeys should be greater than 0')),
    ('SINTERCARD -1 s', E('ERR numkeys should be greater than 0')),
    ('SINTERCARD x s', E('ERR numkeys should be greater than 0')),
    ('SINTERCARD 2 s', E("ERR Number of keys can't be greater than number of args")),
    ('SINTERCARD 1 s LIMIT -1', E("ERR LIMIT can't be negative")),
    ('SINTERCARD 1 s LIMIT x', E("ERR LIMIT can't be negative")),
    ('SINTERCARD 1 s foo 1', E('ERR syntax error')),
    ('SINTERCARD 1 s LIMIT 1 LIMIT 2', 2),
    ('SINTERCARD 1 s LIMIT', E('ERR syntax error')),
    ('ZADD z 1 a 2 b', 2),
    ('ZMPOP 0 z MIN', E('ERR numkeys should be greater than 0')),
    ('ZMPOP 1 z foo', E('ERR syntax error')),
    ('ZMPOP 1 z MIN COUNT 0', E('ERR count should be greater than 0')),
    ('ZMPOP 1 z MAX', P([b'z', [[b'b', b'2']]], [b'z', [[b'b', 2.0]]])),
    ('ZMPOP 2 nokey z MAX COUNT 5', P([b'z', [[b'a', b'1']]], [b'z', [[b'a', 1.0]]])),
    ('ZMPOP 1 z MIN', None),
    ('BZMPOP 0.01 1 z MIN', None),
    ('ZADD z 3 c', 1),
    ('BZMPOP 0 1 z MIN COUNT 2', P([b'z', [[b'c', b'3']]], [b'z', [[b'c', 3.0]]])),
]


def test_mpop_and_sintercard_arguments(run):
    run(MPOP_ARGUMENTS)


OOM = E("OOM command not allowed when used memory > 'maxmemory'.")
MAXMEMORY = [  # issue 14.2: maxmemory with noeviction
    ("SET keep v", "OK"),
    ("RPUSH l a b", 2),
    ("CONFIG SET maxmemory 1", "OK"),
    ("SET a b", OOM),
    ("LPUSH l x", OOM),
    ("INCR n", OOM),
    ("MULTI", "OK"),
    ("SET a b", OOM),
    ("EXEC", E("EXECABORT")),
    ("EVAL \"return redis.call('set','a','b')\" 0",
     E("OOM command not allowed when used memory > 'maxmemory'. script: ")),
    ("GET keep", b"v"),                       # reads go on
    ("EVAL \"return redis.call('get','keep')\" 0", b"v"),
    ("RPOP l", b"b"),                         # and so do writes that free memory
    ("EXPIRE keep 100", 1),
    ("DEL keep", 1),
    ("CONFIG SET maxmemory 0", "OK"),
    ("SET a b", "OK"),
]


def test_maxmemory_noeviction(run):
    run(MAXMEMORY)


def test_a_client_past_its_output_buffer_limit_is_disconnected(server, r, connect):
    """client-output-buffer-limit normal: a client whose unsent replies pass the hard limit
    is closed (it leaves CLIENT LIST; what the kernel had already taken may still arrive);
    the others are not."""
    import socket

    from support import wait_for
    r.set("big", b"x" * (16 << 20))
    r.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as bad:
            bad.sendall(b"*3\r\n$6\r\nCLIENT\r\n$7\r\nSETNAME\r\n$3\r\nbad\r\n"
                        b"*1\r\n$4\r\nPING\r\n" * 100000  # a pause (and no reading)
                        + b"*2\r\n$3\r\nGET\r\n$3\r\nbig\r\n")
            wait_for(lambda: len(r.client_list()) == 1, 10,
                     what="the client past its limit to be closed")
            got = 0
            while True:  # what the kernel had taken before the close, then EOF
                chunk = bad.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
            assert got < 16 << 20
        assert connect().ping() and r.strlen("big") == 16 << 20
    finally:
        r.config_set("client-output-buffer-limit", "normal 0 0 0")
