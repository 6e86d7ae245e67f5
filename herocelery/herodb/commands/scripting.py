"""Lua scripting: EVAL EVALSHA EVAL_RO EVALSHA_RO SCRIPT (LOAD EXISTS FLUSH KILL), via lupa's Lua 5.1.

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

from ..errors import (CommandError, NOSCRIPT, NOT_ALLOWED_IN_SCRIPT, NUMKEYS_BIG,
                      NUMKEYS_NEGATIVE, UNKNOWN_SUBCOMMAND)
from ..protocol import NULL_ARRAY, OK, ReplyError, format_double
from .base import Command, registrar, to_int

COMMANDS: list[Command] = []
command = registrar(COMMANDS)

PRELUDE = r"""
local py_call, py_sha1, py_json_encode, py_json_decode, py_bitop = ...
local error, type, pairs, rawget, rawset, setmetatable, debug = error, type, pairs, rawget, rawset, setmetatable, debug
redis = {}
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
function redis.call(...)
  local ok, r = py_call(...)
  if not ok then error(r, 0) end
  return r
end
function redis.pcall(...)
  local ok, r = py_call(...)
  return r
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
local function tobit(x) x = x % 4294967296 if x >= 2147483648 then x = x - 4294967296 end return x end
bit = {tobit = tobit,
  band = function(a, ...) for _, b in ipairs({...}) do a = py_bitop(0, a, b) end return tobit(a) end,
  bor = function(a, ...) for _, b in ipairs({...}) do a = py_bitop(1, a, b) end return tobit(a) end,
  bxor = function(a, ...) for _, b in ipairs({...}) do a = py_bitop(2, a, b) end return tobit(a) end,
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
local last_line, deadline, ticks = 0, 0, 0
-- one line hook does both jobs: remember the script's current line (a tail call such as
-- `return redis.call(...)` hides it from the traceback) and stop a script past its time
-- (every loop iteration jumps back, so loops reach it)
local function on_line(event, line)
  ticks = ticks + 1
  if ticks % 1000 == 0 and clock() > deadline then
    error({err = 'ERR Script killed: it ran longer than the script time limit'}, 0)
  end
  if debug.getinfo(2, 'S').source == '@user_script' then last_line = line end
end
function __herodb_run(f, limit)
  local line = 0
  last_line = 0
  deadline = clock() + limit
  debug.sethook(on_line, 'l')
  local ok, res = xpcall(f, function(e)
    line = where()
    if line == 0 then line = last_line end
    return e
  end)
  debug.sethook()
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


class Lua:
    """One Lua interpreter for the server; compiled scripts are kept by sha1."""

    def __init__(self, engine: Any) -> None:
        from lupa import lua51
        self.engine = engine
        self.rt = lua51.LuaRuntime(unpack_returned_tuples=True, encoding=None,
                                   register_eval=False, register_builtins=False)
        self.functions: dict[str, Any] = {}
        self.client: Any = None
        loader = self.rt.eval("function(src) return loadstring(src) end")
        setup = loader(PRELUDE.encode())
        setup(self._call, self._sha1, self._json_encode, self._json_decode, _bitop)
        self.run_fn = self.rt.globals()[b"__herodb_run"]
        self.compile_fn = self.rt.globals()[b"__herodb_compile"]
        self.set_args = self.rt.eval("function(k, a) rawset(_G, 'KEYS', k) rawset(_G, 'ARGV', a) end")

    # ---- script lifecycle --------------------------------------------------------------------
    def compile(self, sha: str, body: bytes) -> Any:
        fn = self.functions.get(sha)
        if fn is None:
            compiled, err = self.compile_fn(body)
            if compiled is None:
                text = (err or b"").decode(errors="replace")
                raise CommandError(f"ERR Error compiling script (new function): {text}")
            fn = self.functions[sha] = compiled
        return fn

    def run(self, c: Any, sha: str, fn: Any, keys: list[bytes], args: list[bytes]) -> Any:
        table = self.rt.table_from
        self.set_args(table(keys), table(args))
        previous, self.client = self.client, c
        db, store = c.db, c.store
        c.in_script = True
        try:
            ok, result, line = self.run_fn(fn, self.time_limit_s())
        finally:
            c.in_script = False
            c.db, c.store = db, store
            self.client = previous
        if ok:
            return to_reply(result)
        return ReplyError(_error_text(result) + f" script: {sha}, on @user_script:{line}.")

    def time_limit_s(self) -> float:
        """CONFIG lua-time-limit (ms; default 5000): a script running longer is stopped, so a
        runaway loop cannot stop the server."""
        try:
            return max(0.001, int(self.engine.settings.get("lua-time-limit", "5000")) / 1000)
        except ValueError:
            return 5.0

    # ---- called from Lua ---------------------------------------------------------------------
    def _call(self, *args: Any) -> tuple[bool, Any]:
        argv: list[bytes] = []
        for a in args:
            if isinstance(a, bytes):
                argv.append(a)
            elif isinstance(a, bool) or not isinstance(a, (int, float)):
                return False, self._err("ERR Lua redis lib command arguments must be strings or integers")
            else:
                argv.append(format_double(float(a)).encode() if isinstance(a, float)
                            else str(a).encode())
        c = self.client
        if argv:
            cmd = self.engine.lookup(argv[0])
            if cmd is not None and ("blocking" in cmd.flags or "noscript" in cmd.flags):
                return False, self._err(NOT_ALLOWED_IN_SCRIPT)
            if cmd is not None and getattr(c, "read_only_script", False) and cmd.is_write:
                return False, self._err("ERR Write commands are not allowed from read-only scripts.")
        reply = self.engine.call_from_script(c, argv)
        if type(reply) is ReplyError:
            return False, self._err(reply.text)
        return True, self.to_lua(reply)

    def _err(self, text: str) -> Any:
        return self.rt.table_from({b"err": text.encode()})

    @staticmethod
    def _sha1(data: Any) -> bytes:
        raw = data if isinstance(data, bytes) else str(data).encode()
        return hashlib.sha1(raw).hexdigest().encode()

    def _json_encode(self, value: Any) -> bytes:
        return json.dumps(_lua_to_python(value), separators=(",", ":")).encode()

    def _json_decode(self, text: bytes) -> Any:
        try:
            data = json.loads(text)
        except (ValueError, TypeError):
            raise RuntimeError("cjson.decode: invalid JSON") from None
        return self._py_to_lua(data)

    def _py_to_lua(self, data: Any) -> Any:
        if isinstance(data, dict):
            return self.rt.table_from({k.encode(): self._py_to_lua(v) for k, v in data.items()})
        if isinstance(data, list):
            return self.rt.table_from([self._py_to_lua(v) for v in data])
        if isinstance(data, str):
            return data.encode()
        return data

    def to_lua(self, reply: Any) -> Any:
        """A Redis reply as Lua sees it (RESP2 conversion rules)."""
        t = type(reply)
        if t is bytes or t is int:
            return reply
        if t is str:
            return self.rt.table_from({b"ok": reply.encode()})
        if reply is None or reply is NULL_ARRAY:
            return False
        if t is bool:
            return int(reply)
        if t is float:
            return format_double(reply).encode()
        if t is dict:
            return self.rt.table_from([self.to_lua(x) for kv in reply.items() for x in kv])
        if t in (list, tuple, set, frozenset):
            return self.rt.table_from([self.to_lua(x) for x in reply])
        if t is ReplyError:
            return self._err(reply.text)
        return bytes(reply) if isinstance(reply, (bytes, bytearray)) else reply


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
    return engine.lua  # type: ignore[no-any-return]


def _keys_args(argv: list[bytes]) -> tuple[list[bytes], list[bytes]]:
    numkeys = to_int(argv[2])
    if numkeys < 0:
        raise CommandError(NUMKEYS_NEGATIVE)
    if numkeys > len(argv) - 3:
        raise CommandError(NUMKEYS_BIG)
    return argv[3:3 + numkeys], argv[3 + numkeys:]


def _eval(c: Any, argv: list[bytes], by_sha: bool, read_only: bool) -> Any:
    keys, args = _keys_args(argv)
    lua = _lua(c)
    if by_sha:
        sha = argv[1].decode(errors="replace").lower()
        fn = lua.functions.get(sha)
        if fn is None:
            raise CommandError(NOSCRIPT)
    else:
        sha = hashlib.sha1(argv[1]).hexdigest()
        fn = lua.compile(sha, argv[1])
        c.engine.scripts[sha] = argv[1]
    c.read_only_script = read_only
    try:
        return lua.run(c, sha, fn, keys, args)
    finally:
        c.read_only_script = False


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
