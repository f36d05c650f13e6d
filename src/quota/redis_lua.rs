//! The Lua scripts of the Redis quota store, one per operation, each run
//! atomically by Redis so processes sharing a tenant never interleave.
//!
//! Every script takes the time as `ARGV[1]` (seconds) and `ARGV[2]`
//! (nanoseconds within the second), or two empty strings for the server's
//! `TIME`. Lua numbers are doubles, exact to 2⁵³: nanoseconds since 1970 are
//! not, so times are kept as (seconds, nanoseconds) pairs and only short
//! differences are taken in nanoseconds.

/// The prelude of every script: `now_s`, `now_ns` and `now_ms` (for slot
/// expiry).
macro_rules! lua_now {
    () => {
        r"
local now_s, now_ns
if ARGV[1] == '' then
  local t = redis.call('TIME')
  now_s, now_ns = tonumber(t[1]), tonumber(t[2]) * 1000
else
  now_s, now_ns = tonumber(ARGV[1]), tonumber(ARGV[2])
end
local now_ms = now_s * 1000 + math.floor(now_ns / 1000000)
local function int(x) return string.format('%.0f', x) end
"
    };
}

/// GCRA, the same algorithm as `rate::Gcra` to the nanosecond. `KEYS[1]` is
/// the tenant's hash (`qps`, `interval` in ns, `seen_*` the latest time seen,
/// `tat_*` the theoretical arrival time). Returns `{status, retry_after_ns,
/// qps}`: status 0 admitted, 1 refused, 2 refused by a zero limit, -1
/// unknown tenant. A clock going backwards counts as no time passing.
pub(super) const CHECK_QPS: &str = concat!(
    lua_now!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0} end
local f = redis.call('HMGET', KEYS[1], 'qps', 'interval', 'seen_s', 'seen_ns', 'tat_s', 'tat_ns')
if not f[1] then return {0, 0, 0} end
local qps = tonumber(f[1])
if qps == 0 then return {2, 0, 0} end
local interval = tonumber(f[2])
local seen_s, seen_ns = tonumber(f[3] or '0'), tonumber(f[4] or '0')
if now_s < seen_s or (now_s == seen_s and now_ns <= seen_ns) then
  now_s, now_ns = seen_s, seen_ns
else
  redis.call('HSET', KEYS[1], 'seen_s', int(now_s), 'seen_ns', int(now_ns))
end
local tolerance = (qps - 1) * interval
local start_s, start_ns = now_s, now_ns
local tat_s, tat_ns = tonumber(f[5] or '0'), tonumber(f[6] or '0')
local ahead = 0
if tat_s > now_s or (tat_s == now_s and tat_ns > now_ns) then
  start_s, start_ns = tat_s, tat_ns
  ahead = (tat_s - now_s) * 1000000000 + (tat_ns - now_ns)
end
if ahead > tolerance then return {1, ahead - tolerance, qps} end
local next_ns = start_ns + interval
local next_s = start_s + math.floor(next_ns / 1000000000)
next_ns = next_ns % 1000000000
redis.call('HSET', KEYS[1], 'tat_s', int(next_s), 'tat_ns', int(next_ns))
return {0, 0, 0}
"
);

/// Takes a connection slot: `KEYS[1]` the tenant's hash, `KEYS[2]` its slots
/// (a sorted set of holder ids scored by expiry in ms), `ARGV[3]` the slot's
/// time to live in ms, `ARGV[4]` the new slot's id. Expired slots are removed
/// first. Returns `{status, limit}`: 0 taken, 1 full, -1 unknown tenant.
pub(super) const ACQUIRE: &str = concat!(
    lua_now!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', int(now_ms))
local limit = redis.call('HGET', KEYS[1], 'connections')
if limit and redis.call('ZCARD', KEYS[2]) >= tonumber(limit) then return {1, limit} end
redis.call('ZADD', KEYS[2], int(now_ms + tonumber(ARGV[3])), ARGV[4])
return {0, 0}
"
);

/// Extends this process's slots: `KEYS[1]` the tenant's slots, `ARGV[3]` the
/// time to live in ms, `ARGV[4..]` the slot ids. A slot that has already
/// expired is not brought back (others may have taken its place); the ids of
/// those are returned.
pub(super) const HEARTBEAT: &str = concat!(
    lua_now!(),
    r"
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now_ms))
local expiry = int(now_ms + tonumber(ARGV[3]))
local lost = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', expiry, ARGV[i])
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"
);

/// The burst left in `KEYS[1]`'s GCRA without admitting anything (as
/// `rate::Gcra::available`): `{status, available}`, status 0 limited, 1
/// unlimited, -1 unknown tenant.
pub(super) const QPS_STATE: &str = concat!(
    lua_now!(),
    r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0} end
local f = redis.call('HMGET', KEYS[1], 'qps', 'interval', 'seen_s', 'seen_ns', 'tat_s', 'tat_ns')
if not f[1] then return {1, 0} end
local qps = tonumber(f[1])
if qps == 0 then return {0, 0} end
local interval = tonumber(f[2])
local seen_s, seen_ns = tonumber(f[3] or '0'), tonumber(f[4] or '0')
if now_s < seen_s or (now_s == seen_s and now_ns <= seen_ns) then
  now_s, now_ns = seen_s, seen_ns
end
local tolerance = (qps - 1) * interval
local tat_s, tat_ns = tonumber(f[5] or '0'), tonumber(f[6] or '0')
local ahead = 0
if tat_s > now_s or (tat_s == now_s and tat_ns > now_ns) then
  ahead = (tat_s - now_s) * 1000000000 + (tat_ns - now_ns)
end
if ahead > tolerance then return {0, 0} end
return {0, math.floor((tolerance - ahead) / interval) + 1}
"
);

/// The live slots of `KEYS[1]` (a tenant's slots).
pub(super) const IN_USE: &str = concat!(
    lua_now!(),
    r"
return redis.call('ZCOUNT', KEYS[1], '(' .. int(now_ms), '+inf')
"
);

/// Adds `ARGV[1]` bytes (negative: frees them) to `KEYS[1]`'s usage, exact
/// to `i64::MAX` (`HINCRBY`). Returns `{status, used, limit}`: 0 done, 1
/// refused (usage had reached the limit), -1 unknown tenant. Takes no time.
pub(super) const ADD_STORAGE: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, 0, 0} end
local f = redis.call('HMGET', KEYS[1], 'storage', 'used')
local delta, used = tonumber(ARGV[1]), tonumber(f[2] or '0')
if delta > 0 and f[1] and used >= tonumber(f[1]) then return {1, f[2] or '0', f[1]} end
if delta < 0 and used + delta <= 0 then
  redis.call('HSET', KEYS[1], 'used', '0')
  return {0, 0, 0}
end
return {0, redis.call('HINCRBY', KEYS[1], 'used', ARGV[1]), 0}
";
