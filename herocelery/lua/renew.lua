-- Extend this execution's lease. A lease that expired while the store was away (paused,
-- restarting) is taken back, unless the job moved on to another generation meanwhile.
-- KEYS: lease, job   ARGV: token, lease_ms, generation -> 1 (held), 0 (someone else holds it)
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if not cur and (redis.call('HGET', KEYS[2], 'generation') or '0') == ARGV[3] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
