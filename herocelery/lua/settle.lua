-- Settle a job: record its final state, release or skip its dependents, count the flow down.
-- KEYS: flow, job, inflight, finishing, release..., skip...
-- ARGV: n_release, now, n_fields, f1, v1, ..., lease key, lease token, generation,
--       job key prefix, look again at, flow key prefix, n_effects, (argc, command...)...
-- The lease of the settling execution is released first, whatever happens; a run of an older
-- generation (the job was retried or re-dispatched since) settles nothing; the effects
-- (metrics, live events) run only when this call really settles the job: one round trip.
-- The reconciler's indexes move in the same step: the job leaves `inflight`, the jobs it
-- releases join it, and a flow whose last job this was joins `finishing` until finish_flow.
local unpack = unpack or table.unpack
local nrel = tonumber(ARGV[1])
local now = ARGV[2]
local nf = tonumber(ARGV[3])
local p = 4 + 2 * nf
if ARGV[p] ~= '' and redis.call('GET', ARGV[p]) == ARGV[p + 1] then
  redis.call('DEL', ARGV[p])
end
local st = redis.call('HGET', KEYS[2], 'status')
if TERMINAL_JOB[st] then return {-1} end
if ARGV[p + 2] ~= '' and (redis.call('HGET', KEYS[2], 'generation') or '0') ~= ARGV[p + 2] then
  return {-1}
end
local prefix = #ARGV[p + 3]
local look = ARGV[p + 4]
for i = 0, nf - 1 do
  redis.call('HSET', KEYS[2], ARGV[4 + 2 * i], ARGV[5 + 2 * i])
end
redis.call('ZREM', KEYS[3], string.sub(KEYS[2], prefix + 1))
local done = 1
local out = {0}
for i = 5, 4 + nrel do
  local n = redis.call('HINCRBY', KEYS[i], 'pending', -1)
  if n <= 0 and redis.call('HGET', KEYS[i], 'status') == JOB.waiting_for_prerequisites then
    table.insert(out, i - 4)
    redis.call('ZADD', KEYS[3], look, string.sub(KEYS[i], prefix + 1))
  end
end
for i = 5 + nrel, #KEYS do
  local s = redis.call('HGET', KEYS[i], 'status')
  if not TERMINAL_JOB[s] then
    redis.call('HSET', KEYS[i], 'status', JOB.skipped, 'finished_at', now)
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
