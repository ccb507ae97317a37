-- Apply a batch of events of one source atomically: each event's "seen" marker and its operations
-- land together. Operations (see streams/effects.py): incr (summed per batch), max, merge (versioned
-- JSON records: newer fields win whatever the arrival order).
--
-- KEYS: 1 seen set, 2 source status hash
-- ARGV: 1 ingest time (ms), 2 number of events, then per event: id, version_ms, number of operations,
--       then 4 values per operation: op, key, field, value
-- Returns {applied, duplicates, last_event_ms}.

local now_ms, n = ARGV[1], tonumber(ARGV[2])

-- read the seen markers of the whole batch at once
local ids, offsets = {}, {}
local o = 3
for i = 1, n do
  ids[i], offsets[i] = ARGV[o], o
  o = o + 3 + 4 * tonumber(ARGV[o + 2])
end
local was_seen = {}
for i = 1, #ids, 1000 do
  local part = redis.call("SMISMEMBER", KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
  for k = 1, #part do was_seen[i + k - 1] = part[k] == 1 end
end

local incr, maxes, records = {}, {}, {}
local function record(key, field)
  local k = records[key] or {}; records[key] = k
  if k[field] == nil then
    local raw = redis.call("HGET", key, field)
    k[field] = raw and cjson.decode(raw) or {}
  end
  return k[field]
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
for i = 1, #new_ids, 1000 do
  redis.call("SADD", KEYS[1], unpack(new_ids, i, math.min(i + 999, #new_ids)))
end

if n > 0 then redis.call("HSET", KEYS[2], "last_ingest_ms", now_ms) end
local prev = tonumber(redis.call("HGET", KEYS[2], "last_event_ms") or "0")
if last_event > prev then redis.call("HSET", KEYS[2], "last_event_ms", string.format("%d", last_event)) end
redis.call("HINCRBY", KEYS[2], "applied", applied)
return {applied, dups, string.format("%d", last_event)}
