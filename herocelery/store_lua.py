"""The job store's Lua scripts: every multi-key state change that must be atomic (claiming,
settling, cancelling, leases, the reconciler's claim). HeroDB runs them as Redis does. Each
script's comment says its KEYS and ARGV; `store.Store` is the only caller."""
from __future__ import annotations

TERMINAL_LUA = "{finished=1, error=1, timeout=1, cancelled=1, skipped=1}"

# KEYS: flow, job, inflight, finishing, release..., skip...
# ARGV: n_release, now, n_fields, f1, v1, ..., lease key, lease token, generation,
#       job key prefix, look again at, flow key prefix, n_effects, (argc, command...)...
# The lease of the settling execution is released first, whatever happens; a run of an older
# generation (the job was retried or re-dispatched since) settles nothing; the effects
# (metrics, live events) run only when this call really settles the job: one round trip.
# The reconciler's indexes move in the same step: the job leaves `inflight`, the jobs it
# releases join it, and a flow whose last job this was joins `finishing` until finish_flow.
SETTLE_LUA = f"""
local terminal = {TERMINAL_LUA}
local unpack = unpack or table.unpack
local nrel = tonumber(ARGV[1])
local now = ARGV[2]
local nf = tonumber(ARGV[3])
local p = 4 + 2 * nf
if ARGV[p] ~= '' and redis.call('GET', ARGV[p]) == ARGV[p + 1] then
  redis.call('DEL', ARGV[p])
end
local st = redis.call('HGET', KEYS[2], 'status')
if terminal[st] then return {{-1}} end
if ARGV[p + 2] ~= '' and (redis.call('HGET', KEYS[2], 'generation') or '0') ~= ARGV[p + 2] then
  return {{-1}}
end
local prefix = #ARGV[p + 3]
local look = ARGV[p + 4]
for i = 0, nf - 1 do
  redis.call('HSET', KEYS[2], ARGV[4 + 2 * i], ARGV[5 + 2 * i])
end
redis.call('ZREM', KEYS[3], string.sub(KEYS[2], prefix + 1))
local done = 1
local out = {{0}}
for i = 5, 4 + nrel do
  local n = redis.call('HINCRBY', KEYS[i], 'pending', -1)
  if n <= 0 and redis.call('HGET', KEYS[i], 'status') == 'waiting_for_prerequisites' then
    table.insert(out, i - 4)
    redis.call('ZADD', KEYS[3], look, string.sub(KEYS[i], prefix + 1))
  end
end
for i = 5 + nrel, #KEYS do
  local s = redis.call('HGET', KEYS[i], 'status')
  if not terminal[s] then
    redis.call('HSET', KEYS[i], 'status', 'skipped', 'finished_at', now)
    redis.call('ZREM', KEYS[3], string.sub(KEYS[i], prefix + 1))
    done = done + 1
  end
end
out[1] = redis.call('HINCRBY', KEYS[1], 'remaining', -done)
if out[1] <= 0 then
  redis.call('ZADD', KEYS[4], now, string.sub(KEYS[1], #ARGV[p + 5] + 1))
end
p = p + 6
local ne = tonumber(ARGV[p])
p = p + 1
for e = 1, ne do
  local argc = tonumber(ARGV[p])
  redis.pcall(unpack(ARGV, p + 1, p + argc))
  p = p + 1 + argc
end
return out
"""

# KEYS: flow, jobs...   ARGV: now, inflight key, job key prefix
# -> positions of the jobs that were cancelled
CANCEL_LUA = f"""
local terminal = {TERMINAL_LUA}
local fs = redis.call('HGET', KEYS[1], 'status')
if fs == 'finished' or fs == 'error' or fs == 'cancelled' then return {{-1}} end
local out = {{0}}
for i = 2, #KEYS do
  local s = redis.call('HGET', KEYS[i], 'status')
  if not terminal[s] then
    redis.call('HSET', KEYS[i], 'status', 'cancelled', 'finished_at', ARGV[1])
    redis.call('ZREM', ARGV[2], string.sub(KEYS[i], #ARGV[3] + 1))
    table.insert(out, i - 1)
  end
end
redis.call('HSET', KEYS[1], 'status', 'cancelled', 'remaining', 0, 'finished_at', ARGV[1])
return out
"""

# KEYS: job   ARGV: generation, f1, v1, ...  -> 1 if written, 0 if the job moved on
SET_IF_GENERATION_LUA = """
if (redis.call('HGET', KEYS[1], 'generation') or '0') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
"""

# KEYS: job, lease, inflight   ARGV: status, generation, now, look again at, job id,
#       new status, note (JSON error record or '')   -> the new generation, or 0
# The reconciler's claim of a stale job: only while the job is still as the reconciler saw it
# (same status and generation, and a started job still without a lease) and still due in
# `inflight` (no other reconciler took it or put it off since this one read it), so of several
# reconcilers exactly one takes it, and a run that came back meanwhile keeps it.
RECLAIM_LUA = """
local due = redis.call('ZSCORE', KEYS[3], ARGV[5])
if not due or tonumber(due) > tonumber(ARGV[3]) then return 0 end
local st = redis.call('HGET', KEYS[1], 'status')
if st ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[1], 'generation') or '0') ~= ARGV[2] then return 0 end
if st == 'started' and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local g = redis.call('HINCRBY', KEYS[1], 'generation', 1)
redis.call('HSET', KEYS[1], 'status', ARGV[6], 'reconciled_at', ARGV[3])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[7]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return g
"""

RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# KEYS: lease, job   ARGV: token, lease_ms, generation -> 1 (held), 0 (someone else holds it)
# A lease that expired while the store was away (paused, restarting) is taken back, unless
# the job moved on to another generation meanwhile.
RENEW_LUA = """
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not cur and (redis.call('HGET', KEYS[2], 'generation') or '0') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

STEAL_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
"""

# KEYS: job, flow, lease   ARGV: token, lease_ms, now, worker, event channel, event json
# -> {'ok', hgetall...} | {'missing'} | {'terminal'} | {'cancelled', generation}
#    | {'leased', holder}
CLAIM_LUA = f"""
local terminal = {TERMINAL_LUA}
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {{'missing'}} end
if terminal[st] then return {{'terminal'}} end
if redis.call('HGET', KEYS[2], 'status') == 'cancelled' then
  return {{'cancelled', redis.call('HGET', KEYS[1], 'generation') or '0'}}
end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return {{'leased', holder}} end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', 'started', 'started_at', ARGV[3], 'worker', ARGV[4])
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, 'ok')
return out
"""
