"""HeroDB's own errors and the Redis 7 error texts it replies with (one place for all texts)."""
from __future__ import annotations


class HeroDBError(Exception):
    """Base of every error HeroDB raises on purpose (startup, configuration, bad files)."""


class ConfigError(HeroDBError):
    """An invalid server option (bad port, unknown fsync policy, unusable directory)."""


class CommandError(Exception):
    """A command failed; ``text`` is the complete error reply (``ERR ...``, ``WRONGTYPE ...``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SYNTAX = "ERR syntax error"
NOT_INTEGER = "ERR value is not an integer or out of range"
NOT_FLOAT = "ERR value is not a valid float"
OVERFLOW = "ERR increment or decrement would overflow"
NO_SUCH_KEY = "ERR no such key"
INDEX_RANGE = "ERR index out of range"
DB_INDEX = "ERR DB index is out of range"
EXPIRE_INVALID = "ERR invalid expire time in '{}' command"
HASH_NOT_INTEGER = "ERR hash value is not an integer"
HASH_NOT_FLOAT = "ERR hash value is not a float"
NAN_OR_INF = "ERR increment would produce NaN or Infinity"
TIMEOUT_NOT_FLOAT = "ERR timeout is not a float or out of range"
TIMEOUT_NEGATIVE = "ERR timeout is negative"
MIN_MAX_FLOAT = "ERR min or max is not a float"
MIN_MAX_LEX = "ERR min or max not valid string range item"
NAN_SCORE = "ERR resulting score is not a number (NaN)"
ZADD_NX_XX = "ERR XX and NX options at the same time are not compatible"
ZADD_GT_LT_NX = "ERR GT, LT, and/or NX options at the same time are not compatible"
ZADD_INCR_PAIR = "ERR INCR option supports a single increment-element pair"
MUST_BE_POSITIVE = "ERR value is out of range, must be positive"
UNKNOWN_COMMAND = "ERR unknown command '{}', with args beginning with: {}"
WRONG_ARITY = "ERR wrong number of arguments for '{}' command"
UNKNOWN_SUBCOMMAND = "ERR unknown subcommand '{}'. Try {} HELP."
NESTED_MULTI = "ERR MULTI calls can not be nested"
EXEC_WITHOUT_MULTI = "ERR EXEC without MULTI"
DISCARD_WITHOUT_MULTI = "ERR DISCARD without MULTI"
WATCH_IN_MULTI = "ERR WATCH inside MULTI is not allowed"
EXECABORT = "EXECABORT Transaction discarded because of previous errors."
NOSCRIPT = "NOSCRIPT No matching script. Please use EVAL."
NUMKEYS_BIG = "ERR Number of keys can't be greater than number of args"
NUMKEYS_NEGATIVE = "ERR Number of keys can't be negative"
PUBSUB_CONTEXT = ("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT "
                  "/ RESET are allowed in this context")
MAX_CLIENTS = "ERR max number of clients reached"
NOPROTO = "NOPROTO unsupported protocol version"
NOT_ALLOWED_IN_SCRIPT = "ERR This Redis command is not allowed from script"
SAME_OBJECT = "ERR source and destination objects are the same"
OFFSET_RANGE = "ERR offset is out of range"
STRING_TOO_LONG = "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
