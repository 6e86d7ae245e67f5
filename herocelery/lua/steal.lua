-- Take over the lease of a holder known to be dead (compare-and-set).
-- KEYS: lease   ARGV: holder, token, lease_ms  -> 1 if taken
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return 1
end
return 0
