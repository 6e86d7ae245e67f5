-- Drop this execution's lease.   KEYS: lease   ARGV: token  -> 1 if dropped
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
