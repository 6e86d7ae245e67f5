"""Lua scripting: EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (LOAD EXISTS FLUSH KILL), via lupa's
Lua 5.1.

Scripts see KEYS, ARGV and the ``redis`` table (call, pcall, error_reply, status_reply, sha1hex,
log, setresp, set_repl, replicate_commands) plus ``cjson``. Replies convert as Redis documents:
integer <-> number, bulk <-> string, nil bulk -> false, array <-> table, status -> {ok=...},
error -> {err=...}; a Lua number returned to the client is truncated to an integer, true -> 1,
false -> nil. Writes a script performs are logged one by one as their effects.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from ..errors import (
    NOSCRIPT,
    NUMKEYS_BIG,
    NUMKEYS_NEGATIVE,
    UNKNOWN_SUBCOMMAND,
    CommandError,
)
from ..protocol import NULL_ARRAY, OK, ReplyError, format_double
from .base import Command, registrar, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

PRELUDE = r"""
local py_call, py_pcall, py_error_value, py_sha1, py_json_encode, py_json_decode, py_bitop,
  py_tick = ...
local error, type, pairs, rawget, rawset, setmetatable, debug =
  error, type, pairs, rawget, rawset, setmetatable, debug
local select, raw_pcall, raw_xpcall = select, pcall, xpcall
redis = {}
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL =
  0, 1, 2, 2, 3
-- redis.call is the Python callable itself: no Lua frame in between (cheaper, and a tail call
-- `return redis.call(...)` keeps the script's frame, so an error knows its line). Its errors
-- are Python exceptions; as in Redis 7.0, pcall hands scripts their text and an xpcall
-- handler gets {err = text}.
redis.call = py_call
redis.pcall = py_pcall
local function caught(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if type(e) == 'userdata' then e = py_error_value(e, false) end
  return ok, e
end
function pcall(f, ...) return caught(raw_pcall(f, ...)) end
function xpcall(f, handler)
  return raw_xpcall(f, function(e)
    if type(e) == 'userdata' then e = py_error_value(e, true) end
    return handler(e)
  end)
end
function redis.error_reply(msg)
  if type(msg) ~= 'string' then error('wrong number or type of arguments') end
  return {err = msg}
end
function redis.status_reply(msg)
  if type(msg) ~= 'string' then error('wrong number or type of arguments') end
  return {ok = msg}
end
function redis.sha1hex(s) return py_sha1(s) end
function redis.log(level, ...) end
function redis.setresp(v) end
function redis.set_repl(v) end
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
local function tobit(x)
  x = x % 4294967296 if x >= 2147483648 then x = x - 4294967296 end return x
end
bit = {tobit = tobit,
  band = function(a, ...)
    for _, b in ipairs({...}) do a = py_bitop(0, a, b) end return tobit(a) end,
  bor = function(a, ...) for _, b in ipairs({...}) do a = py_bitop(1, a, b) end return tobit(a) end,
  bxor = function(a, ...)
    for _, b in ipairs({...}) do a = py_bitop(2, a, b) end return tobit(a) end,
  bnot = function(a) return tobit(-1 - a) end,
  lshift = function(a, n) return tobit(py_bitop(3, a, n)) end,
  rshift = function(a, n) return tobit(py_bitop(4, a, n)) end,
  arshift = function(a, n) return tobit(py_bitop(5, a, n)) end,
  tohex = function(a, n) return py_bitop(6, a, n or 8) end}
cjson = {encode = function(v) return py_json_encode(v) end,
         decode = function(s) return py_json_decode(s) end}
unpack = unpack or table.unpack
local loadstring = loadstring
function __herodb_compile(src)
  local f, err = loadstring(src, '@user_script')
  if f then return f, nil end
  return nil, err
end
_G.loadstring = nil
dofile = nil
loadfile = nil
local function where()
  for level = 2, 40 do
    local info = debug.getinfo(level, 'Sl')
    if not info then break end
    if info.source == '@user_script' then return info.currentline end
  end
  return 0
end
local clock = os.clock
os = {clock = clock}
io, package, require, module = nil, nil, nil, nil
local deadline, line, huge = 0, 0, math.huge
-- a count hook (every loop iteration executes instructions, so loops reach it; far cheaper
-- than a line hook) calls Python: signals are handled there, and past the time limit the
-- server answers other clients (BUSY, SCRIPT KILL, SHUTDOWN NOSAVE); its verdict stops us
local function on_count()
  local verdict = py_tick(clock() > deadline)
  if verdict then error({err = verdict}, 0) end
end
local function on_error(e)
  line = where()
  return e
end
function __herodb_run(f, limit, nkeys, ...)
  local all, keys, argv = {...}, {}, {}
  for i = 1, nkeys do keys[i] = all[i] end
  for i = nkeys + 1, select('#', ...) do argv[i - nkeys] = all[i] end
  rawset(_G, 'KEYS', keys)
  rawset(_G, 'ARGV', argv)
  line = 0
  deadline = clock() + limit
  debug.sethook(on_count, '', 10000)
  local ok, res = raw_xpcall(f, on_error)
  debug.sethook()
  deadline = huge
  return ok, res, line
end
local protected = {}
setmetatable(_G, {
  __index = function(t, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
  __newindex = function(t, k, v)
    if k == 'KEYS' or k == 'ARGV' then rawset(t, k, v) return end
    error("Script attempted to create global variable '" .. tostring(k) .. "'", 2)
  end,
})
"""


class CallError(Exception):
    """redis.call's failure inside a script, raised into it as a Lua error."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Lua:
    """One Lua interpreter for the server; compiled scripts are kept by sha1."""

    def __init__(self, engine: Any) -> None:
        from lupa import lua51
        self.engine = engine
        self.rt = lua51.LuaRuntime(unpack_returned_tuples=True, encoding=None,
                                   register_eval=False, register_builtins=False)
        self.functions: dict[str, Any] = {}
        self.by_sha: dict[bytes, tuple[str, Any]] = {}  # EVALSHA's argument as sent -> script
        self.client: Any = None
        self.read_only = False
        self._limit: tuple[str, float] = ("", 5.0)
        self.wrote = False           # the running script performed a write (not killable)
        self.kill_requested = False  # SCRIPT KILL came while it ran
        self._table = self.rt.table_from
        loader = self.rt.eval("function(src) return loadstring(src) end")
        setup = loader(PRELUDE.encode())
        # plain functions, not bound methods: lupa calls those several microseconds faster
        command, to_lua, err = self._command, self.to_lua, self._err

        def call(*args: Any) -> Any:
            """redis.call: the reply, or a CallError raised into the script."""
            reply = command(args)
            if type(reply) is ReplyError:
                raise CallError(reply.text)
            return reply if type(reply) is bytes or type(reply) is int else to_lua(reply)

        def pcall(*args: Any) -> Any:
            """redis.pcall: the reply, or Redis' ``{err = text}`` table."""
            reply = command(args)
            if type(reply) is ReplyError:
                return err(reply.text)
            return reply if type(reply) is bytes or type(reply) is int else to_lua(reply)

        def json_encode(value: Any) -> bytes:
            if type(value) is bytes:  # cjson.encode(id) and the like
                return json.dumps(value.decode(errors="replace")).encode()
            return json.dumps(_lua_to_python(value), separators=(",", ":")).encode()

        error_value, json_decode = self._error_value, self._json_decode
        tick = self._tick
        setup(call, pcall, lambda e, as_table: error_value(e, as_table), _sha1, json_encode,
              lambda text: json_decode(text), _bitop, lambda past: tick(past))
        self.run_fn = self.rt.globals()[b"__herodb_run"]
        self.compile_fn = self.rt.globals()[b"__herodb_compile"]

    # ---- script lifecycle --------------------------------------------------------------------
    def compile(self, sha: str, body: bytes) -> Any:
        fn = self.functions.get(sha)
        if fn is None:
            compiled, err = self.compile_fn(body)
            if compiled is None:
                text = (err or b"").decode(errors="replace")
                raise CommandError(f"ERR Error compiling script (new function): {text}")
            fn = self.functions[sha] = compiled
            self.by_sha[sha.encode()] = (sha, fn)
        return fn

    def run(self, c: Any, sha: str, fn: Any, argv: list[bytes], nkeys: int,
            read_only: bool = False) -> Any:
        """Run a compiled script; ``argv[3:]`` are its keys (``nkeys`` of them), then ARGV."""
        previous = self.client, self.read_only, self.wrote
        self.client, self.read_only, self.wrote, self.kill_requested = c, read_only, False, False
        db, store = c.db, c.store
        c.in_script = True
        try:
            ok, result, line = self.run_fn(fn, self.time_limit_s(), nkeys, *argv[3:])
        finally:
            c.in_script = False
            c.db, c.store = db, store
            self.client, self.read_only, self.wrote = previous
            self.kill_requested = False
            if self.engine.after_busy is not None:
                self.engine.after_busy()
        if ok:
            return to_reply(result)
        return ReplyError(_error_text(result) + f" script: {sha}, on @user_script:{line}.")

    def _tick(self, past: bool) -> bytes | None:
        """From the count hook: an error text that stops the script, or None to go on. Past
        lua-time-limit the server serves the other clients meanwhile (engine.busy_hook)."""
        engine = self.engine
        if past and engine.busy_hook is not None and not self.kill_requested:
            engine.busy_hook(self)
        if engine.shutdown_asap:
            return b"ERR Script killed: the server is shutting down"
        if self.kill_requested:
            return b"ERR Script killed by user with SCRIPT KILL..."
        return None

    def time_limit_s(self) -> float:
        """CONFIG lua-time-limit (busy-reply-threshold; ms, default 5000): a script running
        longer is *busy*: other clients get -BUSY and may SCRIPT KILL it (Redis 7)."""
        raw = self.engine.config.get("lua-time-limit")
        if raw != self._limit[0]:
            try:
                value = max(0.001, int(raw) / 1000)
            except ValueError:
                value = 5.0
            self._limit = (raw, value)
        return self._limit[1]

    # ---- called from Lua ---------------------------------------------------------------------
    def _command(self, args: tuple[Any, ...]) -> Any:
        """Run one command for the script; a ReplyError when refused or failed."""
        try:
            b"".join(args)  # every argument a string: the usual case, nothing to convert
            argv = list(args)
        except TypeError:
            argv = []
            for a in args:
                if isinstance(a, bytes):
                    argv.append(a)
                elif isinstance(a, bool) or not isinstance(a, (int, float)):
                    return ReplyError("ERR Lua redis lib command arguments must be strings or "
                                      "integers")
                else:
                    argv.append(format_double(float(a)).encode() if isinstance(a, float)
                                else str(a).encode())
        return self.engine.call_from_script(self.client, argv, self.read_only)

    def _error_value(self, error: Any, as_table: bool) -> Any:
        """A redis.call error caught by the script: its text for pcall, ``{err = text}`` for
        an xpcall handler (what Redis 7.0 hands over)."""
        if isinstance(error, CallError):
            return self._err(error.text) if as_table else error.text.encode()
        return error

    def _err(self, text: str) -> Any:
        return self._table({b"err": text.encode()})

    def _json_decode(self, text: bytes) -> Any:
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            raise RuntimeError("cjson.decode: invalid JSON") from None
        return self._py_to_lua(data)

    def _py_to_lua(self, data: Any) -> Any:
        if isinstance(data, dict):
            return self._table({k.encode(): self._py_to_lua(v) for k, v in data.items()})
        if isinstance(data, list):
            return self._table([self._py_to_lua(v) for v in data])
        if isinstance(data, str):
            return data.encode()
        return data

    def to_lua(self, reply: Any) -> Any:
        """A Redis reply as Lua sees it (RESP2 conversion rules)."""
        t = type(reply)
        if t is bytes or t is int:
            return reply
        if t is str:
            return self._table({b"ok": reply.encode()})
        if reply is None or reply is NULL_ARRAY:
            return False
        if t is bool:
            return int(reply)
        if t is float:
            return format_double(reply).encode()
        if t is list or t is tuple:
            if all(type(x) is bytes for x in reply):
                return self._table(reply)
            return self._table([self.to_lua(x) for x in reply])
        if t is dict:
            return self._table([self.to_lua(x) for kv in reply.items() for x in kv])
        if t is set or t is frozenset:
            return self._table([self.to_lua(x) for x in reply])
        if t is ReplyError:
            return self._err(reply.text)
        return bytes(reply) if isinstance(reply, (bytes, bytearray)) else reply


def _sha1(data: Any) -> bytes:
    raw = data if isinstance(data, bytes) else str(data).encode()
    return hashlib.sha1(raw).hexdigest().encode()


def _bitop(op: int, a: float, b: float) -> Any:
    """LuaBitOp's 32-bit operations (Redis scripts may use ``bit.band`` & co.)."""
    x, y = int(a) & 0xFFFFFFFF, int(b)
    if op == 0:
        return x & (y & 0xFFFFFFFF)
    if op == 1:
        return x | (y & 0xFFFFFFFF)
    if op == 2:
        return x ^ (y & 0xFFFFFFFF)
    if op == 3:
        return (x << (y & 31)) & 0xFFFFFFFF
    if op == 4:
        return x >> (y & 31)
    if op == 5:
        signed = x - (1 << 32) if x & 0x80000000 else x
        return (signed >> (y & 31)) & 0xFFFFFFFF
    digits = abs(y) or 8
    text = f"{x:08x}"[-digits:] if digits <= 8 else f"{x:08x}"
    return (text.upper() if y < 0 else text).encode()


def _error_text(err: Any) -> str:
    if isinstance(err, CallError):
        return err.text
    if isinstance(err, bytes):
        return "ERR " + err.decode(errors="replace")
    if hasattr(err, "values"):  # a Lua table: {err=...}
        text = err[b"err"]
        if isinstance(text, bytes):
            return text.decode(errors="replace")
    return "ERR " + str(err)


def _lua_to_python(value: Any) -> Any:
    if hasattr(value, "items"):
        items = dict(value.items())
        if items and all(isinstance(k, int) for k in items):
            return [_lua_to_python(items[i]) for i in range(1, len(items) + 1) if i in items]
        return {(k.decode() if isinstance(k, bytes) else str(k)): _lua_to_python(v)
                for k, v in items.items()}
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value


def to_reply(value: Any) -> Any:
    """A Lua value returned by a script as a Redis reply."""
    if value is None or value is False:
        return None
    if value is True:
        return 1
    if isinstance(value, bytes):
        return value
    if isinstance(value, float):
        return int(value)
    if isinstance(value, int):
        return value
    if hasattr(value, "items"):
        err = value[b"err"]
        if err is not None:
            return ReplyError(err.decode(errors="replace") if isinstance(err, bytes) else str(err))
        ok = value[b"ok"]
        if ok is not None:
            return ok.decode(errors="replace") if isinstance(ok, bytes) else str(ok)
        out = []
        i = 1
        while True:
            item = value[i]
            if item is None:
                break
            out.append(to_reply(item))
            i += 1
        return out
    return None


def _lua(c: Any) -> Lua:
    engine = c.engine
    if engine.lua is None:
        engine.lua = Lua(engine)
    return engine.lua


def _numkeys(argv: list[bytes]) -> int:
    numkeys = to_int(argv[2])
    if numkeys < 0:
        raise CommandError(NUMKEYS_NEGATIVE)
    if numkeys > len(argv) - 3:
        raise CommandError(NUMKEYS_BIG)
    return numkeys


def _eval(c: Any, argv: list[bytes], by_sha: bool, read_only: bool) -> Any:
    nkeys = _numkeys(argv)
    lua = _lua(c)
    if by_sha:
        found = lua.by_sha.get(argv[1])
        if found is None:
            sha = argv[1].decode(errors="replace").lower()
            fn = lua.functions.get(sha)
            if fn is None:
                raise CommandError(NOSCRIPT)
        else:
            sha, fn = found
    else:
        sha = hashlib.sha1(argv[1]).hexdigest()
        fn = lua.compile(sha, argv[1])
        c.engine.scripts[sha] = argv[1]
    return lua.run(c, sha, fn, argv, nkeys, read_only)


def _script_keys(argv: list[bytes]) -> list[bytes]:
    n = int(argv[2])
    return argv[3:3 + n]


@command("EVAL", -3, "noscript scripting", key_fn=_script_keys)
def eval_(c: Any, argv: list[bytes]) -> Any:
    return _eval(c, argv, False, False)


@command("EVALSHA", -3, "noscript scripting", key_fn=_script_keys)
def evalsha(c: Any, argv: list[bytes]) -> Any:
    return _eval(c, argv, True, False)


@command("EVAL_RO", -3, "noscript scripting read", key_fn=_script_keys)
def eval_ro(c: Any, argv: list[bytes]) -> Any:
    return _eval(c, argv, False, True)


@command("EVALSHA_RO", -3, "noscript scripting read", key_fn=_script_keys)
def evalsha_ro(c: Any, argv: list[bytes]) -> Any:
    return _eval(c, argv, True, True)


@command("SCRIPT", -2, "noscript scripting")
def script(c: Any, argv: list[bytes]) -> Any:
    sub = argv[1].upper()
    engine = c.engine
    if sub == b"LOAD" and len(argv) == 3:
        sha = hashlib.sha1(argv[2]).hexdigest()
        _lua(c).compile(sha, argv[2])
        engine.scripts[sha] = argv[2]
        return sha.encode()
    if sub == b"EXISTS" and len(argv) >= 3:
        lua = engine.lua
        return [int(lua is not None and a.decode(errors="replace").lower() in lua.functions)
                for a in argv[2:]]
    if sub == b"FLUSH" and len(argv) <= 3:
        if len(argv) == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC"):
            raise CommandError("ERR SCRIPT FLUSH only support SYNC|ASYNC option")
        engine.scripts.clear()
        engine.lua = None
        return OK
    if sub == b"KILL" and len(argv) == 2:
        raise CommandError("NOTBUSY No scripts in execution right now.")
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "SCRIPT"))


@command("FUNCTION", -2, "noscript scripting")
def function(c: Any, argv: list[bytes]) -> Any:
    """Redis 7 functions are not implemented: no library can be loaded, so FLUSH, LIST, DUMP,
    STATS and KILL answer as a server without any (Redis' own test suite and tools call
    FUNCTION FLUSH first); LOAD and RESTORE are refused."""
    sub = argv[1].upper()
    n = len(argv)
    if sub == b"FLUSH" and n <= 3:
        if n == 3 and argv[2].upper() not in (b"ASYNC", b"SYNC"):
            raise CommandError("ERR FUNCTION FLUSH only supports SYNC|ASYNC option")
        return OK
    if sub == b"LIST":
        return []
    if sub == b"STATS" and n == 2:
        engines = {b"LUA": {b"libraries_count": 0, b"functions_count": 0}}
        return {b"running_script": None, b"engines": engines} if c.proto == 3 else [
            b"running_script", None, b"engines",
            [b"LUA", [b"libraries_count", 0, b"functions_count", 0]]]
    if sub == b"KILL" and n == 2:
        raise CommandError("NOTBUSY No scripts in execution right now.")
    if sub in (b"LOAD", b"RESTORE", b"DELETE", b"DUMP"):
        raise CommandError(f"ERR FUNCTION {sub.decode()} is not supported by HeroDB "
                           "(functions are not implemented; use EVAL/EVALSHA)")
    raise CommandError(UNKNOWN_SUBCOMMAND.format(argv[1].decode(errors="replace"), "FUNCTION"))
