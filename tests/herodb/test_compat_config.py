"""CONFIG GET/SET of Redis' tuning parameters (issue 14.3): accepted, validated and reported
back exactly as redis-server 7.0 does, error texts included, over RESP2 and RESP3.
Clients and tools tune a server on connect; an unknown-parameter error at their first line
was the failure."""
from __future__ import annotations

from typing import Any

import redis
from compat import Check, E, P

WRONG = "ERR CONFIG SET failed (possibly related to argument '{}') - {}"


def conf(**pairs: str) -> Any:
    """CONFIG GET's reply for these parameters (a map in RESP3, a flat array in any order in
    RESP2); names with '_' stand for '-'."""
    want = {k.replace("_", "-").encode(): v.encode() for k, v in pairs.items()}

    def flat(v: Any) -> bool:
        return isinstance(v, list) and dict(zip(v[::2], v[1::2], strict=False)) == want \
            and len(v) == 2 * len(want)
    return P(Check(flat, f"flat {want}"), want)


def failed(name: str, why: str) -> E:
    return E(WRONG.format(name, why))


ERRORS = [
    ("CONFIG GET", E("ERR wrong number of arguments for 'config|get' command")),
    ("CONFIG SET hz", E("ERR wrong number of arguments for 'config|set' command")),
    ("CONFIG SET hz 10 lfu-log-factor", E("ERR syntax error")),
    ("CONFIG SET hz x", failed("hz", "argument couldn't be parsed into an integer")),
    ("CONFIG SET hz -1", failed("hz", "argument must be between 0 and 2147483647 inclusive")),
    ("CONFIG SET maxmemory -1", failed("maxmemory", "argument must be a memory value")),
    ("CONFIG SET maxmemory 1zb", failed("maxmemory", "argument must be a memory value")),
    ("CONFIG SET appendonly maybe", failed("appendonly", "argument must be 'yes' or 'no'")),
    ("CONFIG SET daemonize yes", failed("daemonize", "can't set immutable config")),
    ("CONFIG SET unixsocketperm 777", failed("unixsocketperm", "can't set immutable config")),
    ("CONFIG SET dir /tmp", failed("dir", "can't set protected config")),
    ("CONFIG SET hz 5 hz 6", failed("hz", "duplicate parameter")),
    ("CONFIG SET hash-max-ziplist-entries x",
     failed("hash-max-ziplist-entries", "argument couldn't be parsed into an integer")),
    ("CONFIG SET loglevel foo", failed("loglevel", "argument(s) must be one of the following: "
                                       "debug, verbose, notice, warning")),
    ("CONFIG SET client-output-buffer-limit 'normal 1mb'", failed(
        "client-output-buffer-limit", "Wrong number of arguments in buffer limit configuration.")),
    ("CONFIG SET client-output-buffer-limit 'foo 1 1 1'", failed(
        "client-output-buffer-limit",
        "Invalid client class specified in buffer limit configuration.")),
    ("CONFIG SET client-output-buffer-limit 'normal x 1 1'", failed(
        "client-output-buffer-limit",
        "Error in hard, soft or soft_seconds setting in buffer limit configuration.")),
    ("CONFIG SET save 1", failed("save", "Invalid save parameters")),
    ("CONFIG SET notify-keyspace-events Q", failed(
        "notify-keyspace-events", "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")),
    ("CONFIG SET oom-score-adj-values '1 2'",
     failed("oom-score-adj-values", "wrong number of arguments")),
    ("CONFIG SET maxmemory-clients 200%", failed(
        "maxmemory-clients", "percentage argument must be less or equal to 100")),
    ("CONFIG SET shutdown-on-sigint 'nosave save'", failed(
        "shutdown-on-sigint", "shutdown options SAVE and NOSAVE can't be used simultaneously")),
    ("CONFIG SET proto-max-bulk-len 1000", failed(
        "proto-max-bulk-len",
        "argument must be between 1048576 and 9223372036854775807 inclusive")),
    ("CONFIG SET nonexistent 1",
     E("ERR Unknown option or number of arguments for CONFIG SET - 'nonexistent'")),
    ("CONFIG SET hz 20 nonexistent 1", E("ERR Unknown option")),
    ("CONFIG GET hz", conf(hz="10")),  # nothing of a failed CONFIG SET was applied
    ("CONFIG REWRITE", E("ERR The server is running without a config file")),
    ("CONFIG BOGUS", E("ERR unknown subcommand 'BOGUS'")),
    ("CONFIG GET nonexistent", P([], {})),
]

TUNING = [
    ("CONFIG SET hash-max-ziplist-entries 1000", "OK"),
    ("CONFIG GET hash-max-*", conf(hash_max_listpack_entries="1000", hash_max_listpack_value="64",
                                   hash_max_ziplist_entries="1000", hash_max_ziplist_value="64")),
    ("CONFIG SET hash-max-listpack-entries 512", "OK"),
    ("CONFIG SET set-max-intset-entries 1024 zset-max-ziplist-value 32 "
     "lazyfree-lazy-eviction yes", "OK"),
    ("CONFIG GET set-max-intset-entries", conf(set_max_intset_entries="1024")),
    ("CONFIG GET zset-max-*", conf(zset_max_listpack_entries="128", zset_max_listpack_value="32",
                                   zset_max_ziplist_entries="128", zset_max_ziplist_value="32")),
    ("CONFIG GET lazyfree-lazy-eviction", conf(lazyfree_lazy_eviction="yes")),
    ("CONFIG SET set-max-intset-entries 512 zset-max-ziplist-value 64 "
     "lazyfree-lazy-eviction NO", "OK"),
    ("CONFIG GET lazyfree-lazy-eviction", conf(lazyfree_lazy_eviction="no")),
    ("CONFIG SET list-compress-depth 2", "OK"),
    ("CONFIG GET list-*", conf(list_compress_depth="2", list_max_listpack_size="-2",
                               list_max_ziplist_size="-2")),
    ("CONFIG SET list-compress-depth 0", "OK"),
    ("CONFIG SET hz 0", "OK"),
    ("CONFIG GET hz", conf(hz="1")),
    ("CONFIG SET hz 10", "OK"),
    ("CONFIG SET maxmemory 100mb", "OK"),
    ("CONFIG GET maxmemory", conf(maxmemory="104857600")),
    ("CONFIG SET maxmemory 1GB", "OK"),
    ("CONFIG GET maxmemory", conf(maxmemory="1073741824")),
    ("CONFIG SET maxmemory 0", "OK"),
    ("CONFIG SET maxmemory-policy allkeys-LRU", "OK"),
    ("CONFIG GET maxmemory-policy", conf(maxmemory_policy="allkeys-lru")),
    ("CONFIG SET maxmemory-policy noeviction", "OK"),
    ("CONFIG SET maxmemory-clients 10%", "OK"),
    ("CONFIG GET maxmemory-clients", conf(maxmemory_clients="10%")),
    ("CONFIG SET maxmemory-clients 0", "OK"),
    ("CONFIG SET notify-keyspace-events KEA", "OK"),
    ("CONFIG GET notify-keyspace-events", conf(notify_keyspace_events="AKE")),
    ("CONFIG SET notify-keyspace-events Elg", "OK"),
    ("CONFIG GET notify-keyspace-events", conf(notify_keyspace_events="glE")),
    ("CONFIG SET notify-keyspace-events AKEmn", "OK"),
    ("CONFIG GET notify-keyspace-events", conf(notify_keyspace_events="AKEm")),
    ("CONFIG SET notify-keyspace-events gzxn$", "OK"),
    ("CONFIG GET notify-keyspace-events", conf(notify_keyspace_events="g$zxn")),
    ("CONFIG SET notify-keyspace-events ''", "OK"),
    ("CONFIG SET client-output-buffer-limit 'normal 1mb 512kb 10 replica 1gb 1gb 0'", "OK"),
    ("CONFIG GET client-output-buffer-limit", conf(client_output_buffer_limit=(
        "normal 1048576 524288 10 slave 1073741824 1073741824 0 pubsub 33554432 8388608 60"))),
    ("CONFIG SET client-output-buffer-limit 'normal 0 0 0 slave 268435456 67108864 60'", "OK"),
    ("CONFIG SET shutdown-on-sigint 'nosave now'", "OK"),
    ("CONFIG GET shutdown-on-sigint", conf(shutdown_on_sigint="nosave now")),
    ("CONFIG SET shutdown-on-sigint default", "OK"),
    ("CONFIG SET proto-max-bulk-len 2mb", "OK"),
    ("CONFIG GET proto-max-bulk-len", conf(proto_max_bulk_len="2097152")),
    ("CONFIG SET proto-max-bulk-len 512mb", "OK"),
    ("CONFIG SET lua-time-limit 100", "OK"),
    ("CONFIG GET lua-time-limit", conf(lua_time_limit="100")),
    ("CONFIG GET busy-reply-threshold", conf(busy_reply_threshold="100")),
    ("CONFIG SET lua-time-limit 5000", "OK"),
    ("CONFIG SET slave-read-only no", "OK"),
    ("CONFIG GET replica-read-only", conf(replica_read_only="no")),
    ("CONFIG SET replica-read-only yes", "OK"),
    ("CONFIG SET slowlog-log-slower-than -1 activedefrag no tracking-table-max-keys 0", "OK"),
    ("CONFIG SET slowlog-log-slower-than 10000", "OK"),
    ("CONFIG RESETSTAT", "OK"),
]


def test_config_set_errors(run):
    run(ERRORS)


def test_tuning_parameters_are_accepted_and_reported(run):
    run(TUNING)


def test_config_get_star_knows_every_parameter_redis_knows(server, r: redis.Redis) -> None:
    names = set(r.config_get("*"))
    assert len(names) > 180
    for name in ("hash-max-listpack-entries", "zset-max-ziplist-value", "list-compress-depth",
                 "set-max-intset-entries", "hz", "lazyfree-lazy-user-del", "appendfsync",
                 "maxmemory-policy", "notify-keyspace-events", "client-output-buffer-limit",
                 "proto-max-bulk-len", "client-query-buffer-limit", "busy-reply-threshold"):
        assert name in names, name
