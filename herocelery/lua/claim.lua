-- Claim a job: check it may run, take its lease, count the attempt, mark it started and
-- announce it.
-- KEYS: job, flow, lease   ARGV: token, lease_ms, now, worker, event channel, event json
-- -> {'ok', hgetall...} | {'missing'} | {'terminal'} | {'cancelled', generation}
--    | {'leased', holder}
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'missing'} end
if TERMINAL_JOB[st] then return {'terminal'} end
if redis.call('HGET', KEYS[2], 'status') == FLOW.cancelled then
  return {FLOW.cancelled, redis.call('HGET', KEYS[1], 'generation') or '0'}
end
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then return {'leased', holder} end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'status', JOB.started, 'started_at', ARGV[3], 'worker', ARGV[4])
if ARGV[5] ~= '' then redis.call('PUBLISH', ARGV[5], ARGV[6]) end
local out = redis.call('HGETALL', KEYS[1])
table.insert(out, 1, 'ok')
return out
