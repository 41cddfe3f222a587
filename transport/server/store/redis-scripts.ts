/**
 * The Redis session store's operations, each one Lua script so that it is atomic: a check of the
 * epoch and the write it guards cannot be split by another node's claim.
 *
 * Time is Redis's own (`TIME`, allowed in scripts since Redis 5 replicates their effects, the
 * only mode of Redis 7), so no server's clock decides an expiry. Deadlines are absolute ms on it.
 *
 * Keys (all under one hash tag `{prefix}`, so every script's keys are in one Cluster slot):
 *   KEYS[1] `{prefix}:s:<id>`      hash: the record (identity, state, owner, epoch, nextIndex,
 *                                  deadline, reconnects), or a tombstone (state expired|complete,
 *                                  until); PEXPIREAT deadline + tombstoneMs, or until
 *   KEYS[2..5] `{prefix}:z:<state>` sorted sets of ids by state, for counts() without SCAN:
 *                                  streaming/suspended scored by deadline, expired/complete by until
 * and the pub/sub channel `{prefix}:owner:<ownerId>` for takeover notices (not a key).
 *
 * Every script takes KEYS = [session, zStreaming, zSuspended, zExpired, zComplete] (counts: the
 * four sets) and ARGV[1] = tombstoneMs, so the key list is always declared (Cluster-safe).
 */

/** Shared head of every script: the store's clock and the small helpers. */
const PRELUDE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tomb = tonumber(ARGV[1])
local Z = { streaming = KEYS[2], suspended = KEYS[3], expired = KEYS[4], complete = KEYS[5] }
local function unindex(id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[5], id)
end
-- A tombstone keeps only what a late claim needs to hear: which end, and until when.
local function bury(id, state, untilMs)
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'state', state, 'until', untilMs)
  redis.call('PEXPIREAT', KEYS[1], untilMs)
  unindex(id)
  redis.call('ZADD', Z[state], untilMs, id)
end
-- The live record, or nil; a record whose deadline passed becomes an 'expired' tombstone, kept
-- until its deadline + tombstoneMs (as the key's TTL already says). Second value: the answer
-- for a session that is not live ('expired', 'complete' or 'unknown').
local function live(id)
  local f = redis.call('HMGET', KEYS[1], 'state', 'deadline', 'until')
  local state = f[1]
  if not state then return nil, 'unknown' end
  if state == 'expired' or state == 'complete' then
    if tonumber(f[3]) > now then return nil, state end
    return nil, 'unknown'
  end
  local deadline = tonumber(f[2])
  if deadline <= now then
    bury(id, 'expired', deadline + tomb)
    return nil, 'expired'
  end
  return state, nil
end
`;

/** ARGV: tombstoneMs, id, owner, leaseMs, then identity: seedHi seedLo length createdAt. */
export const CREATE = `${PRELUDE}
local id = ARGV[2]
local deadline = now + tonumber(ARGV[4])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'id', id, 'seedHi', ARGV[5], 'seedLo', ARGV[6], 'length', ARGV[7],
  'createdAt', ARGV[8], 'state', 'streaming', 'owner', ARGV[3], 'epoch', 1, 'nextIndex', 0,
  'deadline', deadline, 'reconnects', 0)
redis.call('PEXPIREAT', KEYS[1], deadline + tomb)
unindex(id)
redis.call('ZADD', KEYS[2], deadline, id)
return redis.call('HGETALL', KEYS[1])
`;

/**
 * ARGV: tombstoneMs, id, owner, nextIndex, leaseMs, perNumberMs. Publishes nothing: the claimer
 * announces the takeover itself when it keeps the claim (SessionStore.announceTakeover).
 * Returns {'claimed', previousOwner, previousState, field, value, ...} or {answer}.
 */
export const CLAIM = `${PRELUDE}
local id = ARGV[2]
local state, answer = live(id)
if not state then return { answer } end
local f = redis.call('HMGET', KEYS[1], 'owner', 'epoch', 'reconnects', 'length')
if tonumber(ARGV[4]) > tonumber(f[4]) then return { 'beyond-end', f[4] } end
local epoch = tonumber(f[2]) + 1
local deadline = now + tonumber(ARGV[5]) + (tonumber(f[4]) - tonumber(ARGV[4])) * tonumber(ARGV[6])
redis.call('HSET', KEYS[1], 'state', 'streaming', 'owner', ARGV[3], 'epoch', epoch,
  'nextIndex', ARGV[4], 'deadline', deadline, 'reconnects', tonumber(f[3]) + 1)
redis.call('PEXPIREAT', KEYS[1], deadline + tomb)
redis.call('ZREM', KEYS[3], id)
redis.call('ZADD', KEYS[2], deadline, id)
local out = { 'claimed', f[1], state }
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do out[#out + 1] = v end
return out
`;

/** Shared head of the fenced writes: 'lost' unless the record is live at ARGV[3] = epoch. */
const FENCE = `
local id = ARGV[2]
local state = live(id)
if not state or redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[3] then return 'lost' end
`;

/** ARGV: tombstoneMs, id, epoch, nextIndex, windowMs. */
export const SUSPEND = `${PRELUDE}${FENCE}
local deadline = now + tonumber(ARGV[5])
redis.call('HSET', KEYS[1], 'state', 'suspended', 'nextIndex', ARGV[4], 'deadline', deadline)
redis.call('PEXPIREAT', KEYS[1], deadline + tomb)
redis.call('ZREM', KEYS[2], id)
redis.call('ZADD', KEYS[3], deadline, id)
return 'ok'
`;

/** ARGV: tombstoneMs, id, epoch, tombstone state ('complete' | 'expired'). */
export const BURY = `${PRELUDE}${FENCE}
bury(id, ARGV[4], now + tomb)
return 'ok'
`;

/** ARGV: tombstoneMs, id. Read-only: {'record', field, value, ...} or {state} or {}. */
export const INSPECT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local f = redis.call('HMGET', KEYS[1], 'state', 'deadline', 'until')
if not f[1] then return {} end
if f[1] == 'expired' or f[1] == 'complete' then
  if tonumber(f[3]) > now then return { f[1] } end
  return {}
end
local deadline = tonumber(f[2])
if deadline <= now then
  if deadline + tonumber(ARGV[1]) > now then return { 'expired' } end
  return {}
end
local out = { 'record' }
for _, v in ipairs(redis.call('HGETALL', KEYS[1])) do out[#out + 1] = v end
return out
`;

/**
 * KEYS: the four sets; ARGV: tombstoneMs. Live entries past their deadline move to the expired
 * set (their key is an expired tombstone until deadline + tombstoneMs, whether or not a claim
 * has rewritten it yet); tombstones past their end are dropped. Cost: the entries that changed
 * since the last call, plus four ZCARDs. Returns {streaming, suspended, expired, complete}.
 */
export const COUNTS = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tomb = tonumber(ARGV[1])
for i = 1, 2 do
  local gone = redis.call('ZRANGEBYSCORE', KEYS[i], '-inf', now, 'WITHSCORES')
  for j = 1, #gone, 2 do
    local untilMs = tonumber(gone[j + 1]) + tomb
    if untilMs > now then redis.call('ZADD', KEYS[3], untilMs, gone[j]) end
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
return { redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), redis.call('ZCARD', KEYS[4]) }
`;
