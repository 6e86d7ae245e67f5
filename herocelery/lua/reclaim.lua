-- The reconciler's claim of a stale job: only while the job is still as the reconciler saw it
-- (same status and generation, and a started job still without a lease) and still due in
-- `inflight` (no other reconciler took it or put it off since this one read it), so of several
-- reconcilers exactly one takes it, and a run that came back meanwhile keeps it.
-- KEYS: job, lease, inflight   ARGV: status, generation, now, look again at, job id,
--       new status, note (JSON error record or '')   -> the new generation, or 0
local due = redis.call('ZSCORE', KEYS[3], ARGV[5])
if not due or tonumber(due) > tonumber(ARGV[3]) then return 0 end
local st = redis.call('HGET', KEYS[1], 'status')
if st ~= ARGV[1] then return 0 end
if (redis.call('HGET', KEYS[1], 'generation') or '0') ~= ARGV[2] then return 0 end
if st == JOB.started and redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local g = redis.call('HINCRBY', KEYS[1], 'generation', 1)
redis.call('HSET', KEYS[1], 'status', ARGV[6], 'reconciled_at', ARGV[3])
if ARGV[7] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[7]) end
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[5])
return g
