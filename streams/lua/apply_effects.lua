-- Apply a batch of events of one source atomically: each event's "seen" marker and its operations
-- land together. Operations (built in streams/effects.py):
--   incr  key field n     add to a hash counter (summed per batch; order does not matter)
--   max   key field ms    keep the largest number
--   merge key field json  per-field last-writer-wins record (lww.lua): any arrival order, same record
--   zadd  key member score / sadd key member -   index entries (deduplicated per batch)
--   cover licence_no - ms     the licence's coverage set gets its latest inspection, if it is valid
--   check licence_no "lon lat county" flags   observe a scan / inspection far from the licence's
--                              point (flag f) or goods for a suspended / revoked licence (flag i)
-- Licence facts come from its meta ("status_version status place_version county city lon lat …").
--
-- KEYS: 1 seen set, 2 source status hash
-- ARGV: 1 ingest time (ms), 2 number of events, 3 licence meta hash, 4 coverage key prefix,
--       5 far observations key, 6 inactive observations key, 7 far threshold (km),
--       then per event: id, version_ms, number of operations, then 4 values per operation
-- Returns {applied, duplicates, last_event_ms}.

local now_ms, n = ARGV[1], tonumber(ARGV[2])
local meta_key, cov_prefix, far_key, inactive_key = ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local far_km = tonumber(ARGV[7])
local FIRST = 8

-- read the seen markers of the whole batch at once
local ids, offsets = {}, {}
local o = FIRST
for i = 1, n do
  ids[i], offsets[i] = ARGV[o], o
  o = o + 3 + 4 * tonumber(ARGV[o + 2])
end
local was_seen = {}
for i = 1, #ids, 1000 do
  local part = redis.call("SMISMEMBER", KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
  for k = 1, #part do was_seen[i + k - 1] = part[k] == 1 end
end

local incr, maxes, records, zadds, sadds = {}, {}, {}, {}, {}
local function record(key, field)
  local k = records[key] or {}; records[key] = k
  if k[field] == nil then
    local raw = redis.call("HGET", key, field)
    k[field] = raw and cjson.decode(raw) or {}
  end
  return k[field]
end

local metas = {}
local function meta(no)
  if metas[no] == nil then
    local raw = redis.call("HGET", meta_key, no)
    local t = {}
    if raw then for w in string.gmatch(raw, "%S+") do t[#t + 1] = w end end
    metas[no] = t
  end
  return metas[no]
end

local function km(lon1, lat1, lon2, lat2)
  local r = math.pi / 180
  local a = math.sin((lat2 - lat1) * r / 2) ^ 2
    + math.cos(lat1 * r) * math.cos(lat2 * r) * math.sin((lon2 - lon1) * r / 2) ^ 2
  return 12742 * math.asin(math.sqrt(a))
end

local applied, dups, last_event, new_ids, in_batch = 0, 0, 0, {}, {}
for i = 1, n do
  local id = ids[i]
  if was_seen[i] or in_batch[id] then
    dups = dups + 1
  else
    in_batch[id] = true
    new_ids[#new_ids + 1] = id
    local at = offsets[i]
    local ver = tonumber(ARGV[at + 1])
    if ver > last_event then last_event = ver end
    for j = 0, tonumber(ARGV[at + 2]) - 1 do
      local q = at + 3 + j * 4
      local op, key, field, value = ARGV[q], ARGV[q + 1], ARGV[q + 2], ARGV[q + 3]
      if op == "incr" then
        local t = incr[key] or {}; incr[key] = t
        t[field] = (t[field] or 0) + tonumber(value)
      elseif op == "max" then
        local t = maxes[key] or {}; maxes[key] = t
        local v = tonumber(value)
        if t[field] == nil or v > t[field] then t[field] = v end
      elseif op == "merge" then
        -- per-field last-writer-wins (lww.lua): any arrival order gives the same record
        local patch = cjson.decode(value)
        patch._v = ver
        merge_lww(record(key, field), patch)  -- merges in place
      elseif op == "zadd" then
        local t = zadds[key] or {}; zadds[key] = t
        t[field] = value
      elseif op == "sadd" then
        local t = sadds[key] or {}; sadds[key] = t
        t[field] = true
      elseif op == "cover" then
        local m = meta(key)
        if m[2] == "valid" and m[4] and m[4] ~= "-" then
          redis.call("ZADD", cov_prefix .. m[4], "GT", value, key)
        end
      elseif op == "check" then
        local m = meta(key)
        local lon, lat, county = string.match(field, "(%S+) (%S+) (%S+)")
        if string.find(value, "f", 1, true) and m[4] and m[4] ~= "-" then
          local d = km(tonumber(lon), tonumber(lat), tonumber(m[6]), tonumber(m[7]))
          if d > far_km then
            redis.call("ZADD", far_key, ver, key .. "|" .. id .. "|" .. string.format("%.2f", d) .. "|" .. county)
          end
        end
        if string.find(value, "i", 1, true) and (m[2] == "suspended" or m[2] == "revoked")
            and tonumber(m[1]) <= ver then
          redis.call("ZADD", inactive_key, ver, key .. "|" .. id)
        end
      else
        return redis.error_reply("unknown operation " .. op)
      end
    end
    applied = applied + 1
  end
end

for key, fields in pairs(incr) do
  for field, delta in pairs(fields) do redis.call("HINCRBY", key, field, delta) end
end
for key, fields in pairs(maxes) do
  for field, v in pairs(fields) do
    local cur = tonumber(redis.call("HGET", key, field) or "-1")
    if v > cur then redis.call("HSET", key, field, string.format("%d", v)) end
  end
end
for key, fields in pairs(records) do
  for field, rec in pairs(fields) do redis.call("HSET", key, field, cjson.encode(rec)) end
end
for key, members in pairs(zadds) do
  for member, score in pairs(members) do redis.call("ZADD", key, score, member) end
end
for key, members in pairs(sadds) do
  for member, _ in pairs(members) do redis.call("SADD", key, member) end
end
for i = 1, #new_ids, 1000 do
  redis.call("SADD", KEYS[1], unpack(new_ids, i, math.min(i + 999, #new_ids)))
end

if n > 0 then redis.call("HSET", KEYS[2], "last_ingest_ms", now_ms) end
local prev = tonumber(redis.call("HGET", KEYS[2], "last_event_ms") or "0")
if last_event > prev then redis.call("HSET", KEYS[2], "last_event_ms", string.format("%d", last_event)) end
redis.call("HINCRBY", KEYS[2], "applied", applied)
return {applied, dups, string.format("%d", last_event)}
