"""The Lua scripts of the Redis backend: the rules of ``_core.Bucket`` run atomically inside
Redis, so every process sees one bucket per key. Keep the two in step; the tests in
``tests/ratelimit/test_shared_rules.py`` run the same scenarios against both backends.

Times are seconds as doubles. ``now`` comes from the caller (an injected clock) or, when empty,
from the Redis server's ``TIME``, so hosts with skewed clocks still agree. Numbers are written
with ``%.17g`` because Redis would otherwise truncate Lua numbers to integers or 14 digits.
"""

from __future__ import annotations

_PRELUDE = """
local EPS = 0.02
local MIN_RATE = 1e-4
local MIN_FACTOR = 1 / 16
local TIME_EPS = 1e-6
local function fmt(x) return string.format('%.17g', x) end
local now = tonumber(ARGV[1])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
"""

# KEYS: one per layer. ARGV: now, budget, margin, ttl, then per layer:
#   default rate, burst, kind, operation, seller, application, region, detail.
# Returns {ok (0/1), wait, index of the binding layer (0-based), now, rate of each layer...}
# (numbers as strings, except the index).
RESERVE = _PRELUDE + """
local budget = tonumber(ARGV[2])
local margin = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local n = #KEYS
local rate, tat, own = {}, {}, {}
local start, bind = now, 1
for i = 1, n do
  local a = 4 + (i - 1) * 8
  local drate = tonumber(ARGV[a + 1])
  local burst = tonumber(ARGV[a + 2])
  local v = redis.call('HMGET', KEYS[i], 'tat', 'target', 'factor', 'drate', 'last')
  local target = tonumber(v[2])
  local factor = tonumber(v[3]) or 1
  if not target then
    target = drate
    redis.call('HSET', KEYS[i], 'target', fmt(drate), 'factor', '1', 'kind', ARGV[a + 3],
      'op', ARGV[a + 4], 'seller', ARGV[a + 5], 'app', ARGV[a + 6], 'region', ARGV[a + 7],
      'detail', ARGV[a + 8])
  else
    local old = tonumber(v[4]) or drate
    if math.abs(old - drate) > EPS * drate and target == old then
      target = drate
      redis.call('HSET', KEYS[i], 'target', fmt(drate))
    end
  end
  redis.call('HSET', KEYS[i], 'drate', fmt(drate), 'burst', fmt(burst))
  -- tokens refill at the learned rate; while backing off, slots are also spaced at the
  -- slowed rate (target * factor) after the latest one
  rate[i] = math.max(target, MIN_RATE)
  tat[i] = tonumber(v[1]) or now
  local tau = math.max(0, (burst - 1) / rate[i] - margin)
  own[i] = tat[i] - tau
  local last = tonumber(v[5])
  if factor < 1 and last then
    local spaced = last + 1 / math.max(target * factor, MIN_RATE)
    if spaced > own[i] then own[i] = spaced end
  end
  if own[i] > start and own[i] > now + TIME_EPS then
    start = own[i]
    bind = i
  end
end
local wait = start - now
if wait > budget then
  redis.call('HINCRBY', KEYS[bind], 'rej', 1)
  for i = 1, n do redis.call('EXPIRE', KEYS[i], ttl) end
  return {0, fmt(wait), bind - 1, fmt(now)}
end
for i = 1, n do
  if own[i] > now + TIME_EPS then
    redis.call('HINCRBY', KEYS[i], 'waits', 1)
    redis.call('HINCRBYFLOAT', KEYS[i], 'wt', fmt(wait))
  end
  local t = tat[i]
  if start > t then t = start end
  redis.call('HSET', KEYS[i], 'tat', fmt(t + 1 / rate[i]), 'last', fmt(start))
  redis.call('HINCRBY', KEYS[i], 'acq', 1)
  redis.call('EXPIRE', KEYS[i], ttl)
end
local reply = {1, fmt(wait), bind - 1, fmt(now)}
for i = 1, n do reply[4 + i] = fmt(rate[i]) end
return reply
"""

# Returns {rate afterwards, learned target} (strings).
# KEYS: the seller layer. ARGV: now, status, header ('' when absent), rnd, confirm, recover,
#   max_backoff, ttl, default rate, burst, kind, operation, seller, application, region, detail,
#   hold.
RECORD = _PRELUDE + """
local key = KEYS[1]
local status = tonumber(ARGV[2])
local header = tonumber(ARGV[3])
local rnd = tonumber(ARGV[4])
local confirm = tonumber(ARGV[5])
local recover = tonumber(ARGV[6])
local max_backoff = tonumber(ARGV[7])
local ttl = tonumber(ARGV[8])
local drate = tonumber(ARGV[9])
local burst = tonumber(ARGV[10])
local hold_min = tonumber(ARGV[17])
local v = redis.call('HMGET', key, 'tat', 'target', 'factor', 'hold', 'pv', 'pn', 'streak')
local target = tonumber(v[2])
if not target then
  target = drate
  redis.call('HSET', key, 'kind', ARGV[11], 'op', ARGV[12], 'seller', ARGV[13], 'app', ARGV[14],
    'region', ARGV[15], 'detail', ARGV[16])
end
local tat = tonumber(v[1])
local factor = tonumber(v[3]) or 1
local hold = tonumber(v[4])
local pv = tonumber(v[5]) or 0
local pn = tonumber(v[6]) or 0
local streak = tonumber(v[7]) or 0
local function cur() return math.max(target * factor, MIN_RATE) end
local function plan() return math.max(target, MIN_RATE) end
-- a new learned rate keeps the tokens the bucket holds; the back-off factor never moves tat
local function set_target(nt)
  local old = plan()
  target = nt
  if tat and tat > now then tat = now + (tat - now) * old / plan() end
end
if status == 429 then
  redis.call('HINCRBY', key, 'thr', 1)
  pv, pn = 0, 0
  if not (hold and now < hold) then
    streak = streak + 1
    factor = math.max(MIN_FACTOR, factor / 2)
    local interval = 1 / cur()
    local backoff = math.max(interval, math.min(interval * 2 ^ (streak - 1), max_backoff))
    backoff = backoff * (1 + 0.25 * rnd)
    local drained = now + backoff + (burst - 1) / plan()
    if (not tat) or drained > tat then tat = drained end
    hold = now + math.max(backoff, hold_min)
    redis.call('HSET', key, 'hold', fmt(hold))
  end
else
  if header then
    redis.call('HSET', key, 'hdr', fmt(header))
    if header <= target * (1 + EPS) then
      pv, pn = 0, 0
      if header < target * (1 - EPS) then set_target(header) end
      redis.call('HSET', key, 'learned', fmt(target))
    else
      if pn == 0 then pv = header elseif header < pv then pv = header end
      pn = pn + 1
      if pn >= confirm then
        set_target(pv)
        redis.call('HSET', key, 'learned', fmt(target))
        pv, pn = 0, 0
      end
    end
  end
  if status < 500 then
    streak = 0
    if factor < 1 then factor = math.min(1, factor * recover) end
  end
end
redis.call('HSET', key, 'target', fmt(target), 'factor', fmt(factor), 'pv', fmt(pv),
  'pn', pn, 'streak', streak, 'drate', fmt(drate), 'burst', fmt(burst))
if tat then redis.call('HSET', key, 'tat', fmt(tat)) end
redis.call('EXPIRE', key, ttl)
return {fmt(cur()), fmt(target)}
"""

# No keys. Returns the server time, for snapshots without an injected clock.
TIME = _PRELUDE + "return fmt(now)"
