package main

import "github.com/redis/go-redis/v9"

// The scripts run atomically in Redis, each in one round trip. They read a record's key from its
// id's pointer, a key the caller cannot name in advance: they need a standalone (or replicated)
// Redis, not Redis Cluster. An expiry of "0" means none.

// storeScript is the create-only store. KEYS: pointer, record key. ARGV: record, expiry (PXAT ms).
// SET NX on the pointer claims the id; 1: stored, 0: an identical retry, -1: another record exists.
var storeScript = redis.NewScript(`
local function put(key, value, expiry)
  if expiry == '0' then return redis.call('SET', key, value) end
  return redis.call('SET', key, value, 'PXAT', expiry)
end
if redis.call('SET', KEYS[1], KEYS[2], 'NX') then
  put(KEYS[2], ARGV[1], ARGV[2])
  if ARGV[2] ~= '0' then redis.call('PEXPIREAT', KEYS[1], ARGV[2]) end
  return 1
end
local location = redis.call('GET', KEYS[1])
local current = redis.call('GET', location)
if current == false then
  -- the pointer outlived its record (both expire at the same millisecond): the id is free again
  put(KEYS[1], KEYS[2], ARGV[2])
  put(KEYS[2], ARGV[1], ARGV[2])
  return 1
end
if location == KEYS[2] and current == ARGV[1] then return 0 end
return -1
`)

// retrieveScript returns {record key, record} of the id whose pointer is KEYS[1], or nil.
var retrieveScript = redis.NewScript(`
local location = redis.call('GET', KEYS[1])
if not location then return false end
local value = redis.call('GET', location)
if not value then return false end
return {location, value}
`)

// swapScript is the compare-and-set of update and rewrap. KEYS: pointer. ARGV: record key, the
// record read before, the new record, its expiry. 1: replaced; 0: the record changed meanwhile.
var swapScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) ~= ARGV[1] or redis.call('GET', ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[4] == '0' then
  redis.call('SET', ARGV[1], ARGV[3])
  redis.call('PERSIST', KEYS[1])
else
  redis.call('SET', ARGV[1], ARGV[3], 'PXAT', ARGV[4])
  redis.call('PEXPIREAT', KEYS[1], ARGV[4])
end
return 1
`)

// deleteScript deletes the id whose pointer is KEYS[1] and its record; 1 if a record was deleted.
var deleteScript = redis.NewScript(`
local location = redis.call('GET', KEYS[1])
if not location then return 0 end
redis.call('DEL', KEYS[1])
return redis.call('DEL', location)
`)
