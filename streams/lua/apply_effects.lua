-- Apply a batch of events of one source atomically with their "seen" markers, or nothing at all.
-- Python (streams/effects.py, BatchEffects) has already merged what does not depend on order or on
-- the state: counters summed per field, days once, the latest inspection per licence. So this script
-- runs only if NONE of the batch's ids was seen before; otherwise it changes nothing and returns the
-- positions of the seen ids, and the caller sends the batch again without them (a duplicate must not
-- count twice). Per-event work left here: the "check" observations, which need the licence's state,
-- and the record merges (per-field last-writer-wins, lww.lua), kept in event order.
--
-- KEYS: 1 seen set, 2 source status hash
-- ARGV: 1 ingest time (ms), 2 entries received (dropped duplicates included), 3 number of events n,
--       4 latest event time (ms) of the batch, 5 licence meta hash, 6 coverage key prefix,
--       7 far observations key, 8 inactive observations key, 9 far threshold (km),
--       10 latest-inspection hash, 11 days index, 12 dirty days set,
--       then the n event ids, then these sections, each starting with its count:
--   counters   K, then per key: key, m, m fields, m deltas      (HINCRBY, as HMGET + one HSET)
--   latest     m, m licences, m times                            (keep the largest time)
--   days       d, d (midnight ms, day) pairs, d dirty members    (days index and dirty days)
--   cover      c, c (licence, time) pairs: the licence's coverage set gets its latest inspection if
--              the licence is valid and placed (meta field 4 = county)
--   checks     k, k (licence, id, version, "lon lat county", flags): flag f observes a point more than
--              the threshold from the licence's point; flag i goods for a suspended / revoked licence
--   merges     g, then per key: key, m, m (field, version, json patch), in event order
-- Licence facts come from its meta ("status_version status place_version county city lon lat …").
-- Returns {applied, 0, last_event_ms}, or {-1, positions of the ids already seen}.

local now_ms, received, n = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local last_event = ARGV[4]
local meta_key, cov_prefix, far_key, inactive_key = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local far_km = tonumber(ARGV[9])
local last_key, days_index, dirty_key = ARGV[10], ARGV[11], ARGV[12]
local IDS = 13
local STEP = 1000  -- multi-argument commands in chunks: Lua's unpack() has a stack limit

-- 1. nothing happens if any id was seen before
local seen = {}
for i = IDS, IDS + n - 1, STEP do
  local part = redis.call("SMISMEMBER", KEYS[1], unpack(ARGV, i, math.min(i + STEP - 1, IDS + n - 1)))
  for k = 1, #part do
    if part[k] == 1 then seen[#seen + 1] = i - IDS + k end
  end
end
if #seen > 0 then return {-1, unpack(seen)} end

-- HMGET of a slice of ARGV, in chunks; returns the values in order
local function hmget(key, first, count)
  local out = {}
  for i = first, first + count - 1, STEP do
    local part = redis.call("HMGET", key, unpack(ARGV, i, math.min(i + STEP - 1, first + count - 1)))
    for k = 1, #part do out[#out + 1] = part[k] end
  end
  return out
end
local function hset(key, args)
  for i = 1, #args, 2 * STEP do
    redis.call("HSET", key, unpack(args, i, math.min(i + 2 * STEP - 1, #args)))
  end
end

local o = IDS + n

-- 2. counters: read the fields of each key once, write the sums back once
o = o + 1
for _ = 1, tonumber(ARGV[o - 1]) do
  local key, m = ARGV[o], tonumber(ARGV[o + 1])
  local fields = o + 2
  local cur, args = hmget(key, fields, m), {}
  for j = 0, m - 1 do
    args[#args + 1] = ARGV[fields + j]
    args[#args + 1] = string.format("%d", tonumber(cur[j + 1] or "0") + tonumber(ARGV[fields + m + j]))
  end
  hset(key, args)
  o = fields + 2 * m
end

-- 3. latest inspection per licence: keep the largest
do
  local m = tonumber(ARGV[o])
  local cur, args = hmget(last_key, o + 1, m), {}
  for j = 1, m do
    local v = tonumber(ARGV[o + m + j])
    if v > tonumber(cur[j] or "-1") then
      args[#args + 1] = ARGV[o + j]
      args[#args + 1] = string.format("%d", v)
    end
  end
  hset(last_key, args)
  o = o + 1 + 2 * m
end

-- 4. days index and dirty days
do
  local d = tonumber(ARGV[o])
  if d > 0 then
    redis.call("ZADD", days_index, unpack(ARGV, o + 1, o + 2 * d))
    redis.call("SADD", dirty_key, unpack(ARGV, o + 2 * d + 1, o + 3 * d))
  end
  o = o + 1 + 3 * d
end

-- the licences that cover and check name: their metas, read at once
local cover_at, c = o, tonumber(ARGV[o])
local check_at = o + 1 + 2 * c
local k = tonumber(ARGV[check_at])
local nos, listed = {}, {}
for j = 0, c - 1 do
  local no = ARGV[cover_at + 1 + 2 * j]
  if not listed[no] then listed[no] = true; nos[#nos + 1] = no end
end
for j = 0, k - 1 do
  local no = ARGV[check_at + 1 + 5 * j]
  if not listed[no] then listed[no] = true; nos[#nos + 1] = no end
end
local metas = {}
for i = 1, #nos, STEP do
  local part = redis.call("HMGET", meta_key, unpack(nos, i, math.min(i + STEP - 1, #nos)))
  for j = 1, #part do
    local t = {}
    if part[j] then for w in string.gmatch(part[j], "%S+") do t[#t + 1] = w end end
    metas[nos[i + j - 1]] = t
  end
end

-- ZADD with many (score, member) pairs per key, in chunks
local function zadd(groups, flag)
  for key, args in pairs(groups) do
    for i = 1, #args, 2 * STEP do
      if flag then
        redis.call("ZADD", key, flag, unpack(args, i, math.min(i + 2 * STEP - 1, #args)))
      else
        redis.call("ZADD", key, unpack(args, i, math.min(i + 2 * STEP - 1, #args)))
      end
    end
  end
end

-- 5. coverage: a valid, placed licence gets its latest inspection (ZADD GT)
do
  local groups = {}
  for j = 0, c - 1 do
    local no, t = ARGV[cover_at + 1 + 2 * j], ARGV[cover_at + 2 + 2 * j]
    local m = metas[no]
    if m[2] == "valid" and m[4] and m[4] ~= "-" then
      local key = cov_prefix .. m[4]
      local g = groups[key] or {}; groups[key] = g
      g[#g + 1] = t; g[#g + 1] = no
    end
  end
  zadd(groups, "GT")
end

-- 6. observations for warnings
local function km(lon1, lat1, lon2, lat2)
  local r = math.pi / 180
  local a = math.sin((lat2 - lat1) * r / 2) ^ 2
    + math.cos(lat1 * r) * math.cos(lat2 * r) * math.sin((lon2 - lon1) * r / 2) ^ 2
  return 12742 * math.asin(math.sqrt(a))
end
do
  local far, inactive = {}, {}
  for j = 0, k - 1 do
    local q = check_at + 1 + 5 * j
    local no, id, ver, where, flags = ARGV[q], ARGV[q + 1], ARGV[q + 2], ARGV[q + 3], ARGV[q + 4]
    local m = metas[no]
    if string.find(flags, "f", 1, true) and m[4] and m[4] ~= "-" then
      local lon, lat, county = string.match(where, "(%S+) (%S+) (%S+)")
      local d = km(tonumber(lon), tonumber(lat), tonumber(m[6]), tonumber(m[7]))
      if d > far_km then
        far[#far + 1] = ver
        far[#far + 1] = no .. "|" .. id .. "|" .. string.format("%.2f", d) .. "|" .. county
      end
    end
    if string.find(flags, "i", 1, true) and (m[2] == "suspended" or m[2] == "revoked")
        and tonumber(m[1]) <= tonumber(ver) then
      inactive[#inactive + 1] = ver
      inactive[#inactive + 1] = no .. "|" .. id
    end
  end
  zadd({[far_key] = far, [inactive_key] = inactive}, nil)
end
o = check_at + 1 + 5 * k

-- 7. records: per-field last-writer-wins merges (lww.lua), in event order
o = o + 1
for _ = 1, tonumber(ARGV[o - 1]) do
  local key, m = ARGV[o], tonumber(ARGV[o + 1])
  local at = o + 2
  local ids, listed_ids = {}, {}
  for j = 0, m - 1 do
    local id = ARGV[at + 3 * j]
    if not listed_ids[id] then listed_ids[id] = true; ids[#ids + 1] = id end
  end
  local records = {}
  for i = 1, #ids, STEP do
    local part = redis.call("HMGET", key, unpack(ids, i, math.min(i + STEP - 1, #ids)))
    for j = 1, #part do
      records[ids[i + j - 1]] = part[j] and cjson.decode(part[j]) or {}
    end
  end
  for j = 0, m - 1 do
    local q = at + 3 * j
    local patch = cjson.decode(ARGV[q + 2])
    patch._v = tonumber(ARGV[q + 1])
    merge_lww(records[ARGV[q]], patch)  -- merges in place
  end
  local args = {}
  for _, id in ipairs(ids) do
    args[#args + 1] = id
    args[#args + 1] = cjson.encode(records[id])
  end
  hset(key, args)
  o = at + 3 * m
end

-- 8. the markers, and the source's status
for i = IDS, IDS + n - 1, STEP do
  redis.call("SADD", KEYS[1], unpack(ARGV, i, math.min(i + STEP - 1, IDS + n - 1)))
end
if received > 0 then redis.call("HSET", KEYS[2], "last_ingest_ms", now_ms) end
local prev = tonumber(redis.call("HGET", KEYS[2], "last_event_ms") or "0")
if tonumber(last_event) > prev then redis.call("HSET", KEYS[2], "last_event_ms", last_event) end
redis.call("HINCRBY", KEYS[2], "applied", n)
return {n, 0, last_event}
