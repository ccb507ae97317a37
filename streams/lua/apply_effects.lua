-- Apply a batch of events of one source atomically with their "seen" markers, or nothing at all.
-- Python (streams/effects.py, BatchEffects) has already merged what does not depend on order or on
-- the state: counters summed per field, days once, the latest inspection per licence. So this script
-- runs only if NONE of the batch's ids was seen before; otherwise it changes nothing and returns the
-- positions of the seen ids, and the caller sends the batch again without them (a duplicate must not
-- count twice). Per-event work left here: the "check" observations, which need the licence's state,
-- and the record merges (per-field last-writer-wins, lww.lua), kept in event order.
--
-- KEYS: 1 seen set, 2 source status hash
-- ARGV: 1 ingest time (ms), 2 entries received (dropped duplicates included),
--       3 latest event time (ms) of the batch, 4 licence meta hash, 5 coverage key prefix,
--       6 far observations key, 7 inactive observations key, 8 far threshold (km),
--       9 latest-inspection hash, 10 days index, 11 dirty days set,
--       12 the batch as one JSON object (one argument: far cheaper to send than thousands):
--   ids        [id, ...]
--   counters   [[key, [field, ...], [delta, ...]], ...]      (HINCRBY, as HMGET + one HSET per key)
--   latest     [[licence, ...], [time, ...]]                  (keep the largest time)
--   days       [[midnight ms, day, ...], [dirty member, ...]] (days index and dirty days)
--   cover      [licence, time, ...]: the licence's coverage set gets its latest inspection if the
--              licence is valid and placed
--   checks     [licence, id, version, lon, lat, county, flags, ...]: flag f observes a point more
--              than the threshold from the licence's point; flag i goods for a suspended / revoked
--              licence
--   merges     [[key, [field, version, patch, ...]], ...], in event order
-- Licence facts come from its meta ("status_version status place_version county city lon lat …").
-- Returns {applied, 0, last_event_ms}, or {-1, positions of the ids already seen}.

local now_ms, received, last_event = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local meta_key, cov_prefix, far_key, inactive_key = ARGV[4], ARGV[5], ARGV[6], ARGV[7]
local far_km = tonumber(ARGV[8])
local last_key, days_index, dirty_key = ARGV[9], ARGV[10], ARGV[11]
local batch = cjson.decode(ARGV[12])
local ids = batch.ids
local STEP = 1000  -- multi-argument commands in chunks: Lua's unpack() has a stack limit

-- CMD key [flag] item ... with the items of a list, in chunks (width: list entries per item)
local function chunked(width, list, cmd, key, flag)
  local step = STEP * width
  for i = 1, #list, step do
    if flag then
      redis.call(cmd, key, flag, unpack(list, i, math.min(i + step - 1, #list)))
    else
      redis.call(cmd, key, unpack(list, i, math.min(i + step - 1, #list)))
    end
  end
end
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, STEP do
    local part = redis.call("HMGET", key, unpack(fields, i, math.min(i + STEP - 1, #fields)))
    for k = 1, #part do out[i + k - 1] = part[k] end
  end
  return out
end

-- 1. nothing happens if any id was seen before
local seen = {}
for i = 1, #ids, STEP do
  local part = redis.call("SMISMEMBER", KEYS[1], unpack(ids, i, math.min(i + STEP - 1, #ids)))
  for k = 1, #part do
    if part[k] == 1 then seen[#seen + 1] = i + k - 1 end
  end
end
if #seen > 0 then return {-1, unpack(seen)} end

-- 2. counters: read the fields of each key once, write the sums back once
for _, counter in ipairs(batch.counters) do
  local key, fields, deltas = counter[1], counter[2], counter[3]
  local cur, args = hmget(key, fields), {}
  for j = 1, #fields do
    args[#args + 1] = fields[j]
    args[#args + 1] = string.format("%d", tonumber(cur[j] or "0") + deltas[j])
  end
  chunked(2, args, "HSET", key)
end

-- 3. latest inspection per licence: keep the largest
do
  local nos, times = batch.latest[1], batch.latest[2]
  local cur, args = hmget(last_key, nos), {}
  for j = 1, #nos do
    if times[j] > tonumber(cur[j] or "-1") then
      args[#args + 1] = nos[j]
      args[#args + 1] = string.format("%d", times[j])
    end
  end
  chunked(2, args, "HSET", last_key)
end

-- 4. days index and dirty days
chunked(2, batch.days[1], "ZADD", days_index)
chunked(1, batch.days[2], "SADD", dirty_key)

-- the licences that cover and check name: their metas, read at once
local cover, checks = batch.cover, batch.checks
local nos, listed = {}, {}
for j = 1, #cover, 2 do
  local no = cover[j]
  if not listed[no] then listed[no] = true; nos[#nos + 1] = no end
end
for j = 1, #checks, 7 do
  local no = checks[j]
  if not listed[no] then listed[no] = true; nos[#nos + 1] = no end
end
local metas = {}  -- licence → its meta as stored, or false for an unknown licence
do
  local part = hmget(meta_key, nos)
  for j = 1, #nos do metas[nos[j]] = part[j] end
end
-- the few meta fields needed, matched without splitting the whole meta (its H3 cells are long):
-- status version, status and county ("-" when unplaced); nothing for an unknown licence
local function head(raw)
  if raw then return string.match(raw, "^(%S+) (%S+) %S+ (%S+)") end
end
local function point(raw)  -- lon, lat of a placed licence
  return string.match(raw, "^%S+ %S+ %S+ %S+ %S+ (%S+) (%S+)")
end

-- 5. coverage: a valid, placed licence gets its latest inspection (ZADD GT)
do
  local groups = {}
  for j = 1, #cover, 2 do
    local no = cover[j]
    local _, status, county = head(metas[no])
    if status == "valid" and county ~= "-" then
      local g = groups[county] or {}; groups[county] = g
      g[#g + 1] = cover[j + 1]; g[#g + 1] = no
    end
  end
  for county, args in pairs(groups) do chunked(2, args, "ZADD", cov_prefix .. county, "GT") end
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
  for q = 1, #checks, 7 do
    local no, id, ver, flags = checks[q], checks[q + 1], checks[q + 2], checks[q + 6]
    local raw = metas[no]
    local status_version, status, home = head(raw)
    if home and home ~= "-" and string.find(flags, "f", 1, true) then
      local lon, lat = point(raw)
      local d = km(tonumber(checks[q + 3]), tonumber(checks[q + 4]), tonumber(lon), tonumber(lat))
      if d > far_km then
        far[#far + 1] = ver
        far[#far + 1] = no .. "|" .. id .. "|" .. string.format("%.2f", d) .. "|" .. checks[q + 5]
      end
    end
    if (status == "suspended" or status == "revoked") and string.find(flags, "i", 1, true)
        and tonumber(status_version) <= tonumber(ver) then
      inactive[#inactive + 1] = ver
      inactive[#inactive + 1] = no .. "|" .. id
    end
  end
  chunked(2, far, "ZADD", far_key)
  chunked(2, inactive, "ZADD", inactive_key)
end

-- 7. records: per-field last-writer-wins merges (lww.lua), in event order
for _, group in ipairs(batch.merges) do
  local key, patches = group[1], group[2]
  local fields, listed_fields = {}, {}
  for j = 1, #patches, 3 do
    local f = patches[j]
    if not listed_fields[f] then listed_fields[f] = true; fields[#fields + 1] = f end
  end
  local records, stored = {}, hmget(key, fields)
  for j = 1, #fields do records[fields[j]] = stored[j] and cjson.decode(stored[j]) or {} end
  for j = 1, #patches, 3 do
    local patch = patches[j + 2]
    patch._v = tonumber(patches[j + 1])
    merge_lww(records[patches[j]], patch)  -- merges in place
  end
  local args = {}
  for _, f in ipairs(fields) do
    args[#args + 1] = f
    args[#args + 1] = cjson.encode(records[f])
  end
  chunked(2, args, "HSET", key)
end

-- 8. the markers, and the source's status
chunked(1, ids, "SADD", KEYS[1])
if received > 0 then redis.call("HSET", KEYS[2], "last_ingest_ms", now_ms) end
local prev = tonumber(redis.call("HGET", KEYS[2], "last_event_ms") or "0")
if tonumber(last_event) > prev then redis.call("HSET", KEYS[2], "last_event_ms", last_event) end
redis.call("HINCRBY", KEYS[2], "applied", #ids)
return {#ids, 0, last_event}
