-- Cancel a flow: every job not yet terminal, then the flow.
-- KEYS: flow, jobs...   ARGV: now, inflight key, job key prefix
-- -> {-1} if the flow had ended, else {0, positions of the jobs that were cancelled...}
local fs = redis.call('HGET', KEYS[1], 'status')
if TERMINAL_FLOW[fs] then return {-1} end
local out = {0}
for i = 2, #KEYS do
  local s = redis.call('HGET', KEYS[i], 'status')
  if not TERMINAL_JOB[s] then
    redis.call('HSET', KEYS[i], 'status', JOB.cancelled, 'finished_at', ARGV[1])
    redis.call('ZREM', ARGV[2], string.sub(KEYS[i], #ARGV[3] + 1))
    table.insert(out, i - 1)
  end
end
redis.call('HSET', KEYS[1], 'status', FLOW.cancelled, 'remaining', 0, 'finished_at', ARGV[1])
return out
