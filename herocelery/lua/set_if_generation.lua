-- Write fields only while the job is still in the generation the writer saw.
-- KEYS: job   ARGV: generation, f1, v1, ...  -> 1 if written, 0 if the job moved on
if (redis.call('HGET', KEYS[1], 'generation') or '0') ~= ARGV[1] then return 0 end
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
