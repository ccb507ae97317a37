-- Apply a batch of licence events atomically: for each event the "seen" marker and its effect land
-- together (a Lua script runs without interleaving), so a crash never leaves one without the other.
-- The batch is read with a few multi-key commands, worked out in Lua tables, and written back with a
-- few multi-field commands: per-event Redis calls are what limits throughput.
--
-- KEYS: 1 seen set, 2 records hash, 3 meta hash, 4 geo set, 5 version counter, 6 source status hash
-- ARGV: 1 cell key prefix ("wf:lic:h3:"), 2 count key prefix ("wf:lic:count:"),
--       3 space-separated H3 resolutions, 4 ingest time (ms), 5 number of events,
--       then 7 values per event: id, kind, licence_no, version_ms, status, place, json
--   kind "full"   (licence.issued):  place "county city lon lat cell1 cell2 ...", json = the record
--   kind "status" (suspend/revoke/expire/renew): place "", json = fields to merge into the record
--   kind "change" (licence.changed): status "", place "" or the new place, json = fields to merge
-- Meta per licence: "version_ms status county city lon lat cell1 ..."; "-" = unknown (status, place).
-- Rules: a repeated id does nothing. An event older than the licence's version changes nothing,
-- except that a full record fills in a licence so far known only from later status/change events.
-- Returns {applied, duplicates, stale, version, last_event_ms}.

local cell_prefix, count_prefix = ARGV[1], ARGV[2]
local resolutions = {}
for r in string.gmatch(ARGV[3], "%S+") do resolutions[#resolutions + 1] = r end
local now_ms, n = ARGV[4], tonumber(ARGV[5])

local function split(s)
  local t = {}
  for w in string.gmatch(s, "%S+") do t[#t + 1] = w end
  return t
end

-- multi-argument commands in chunks: Lua's unpack() has a stack limit
local function chunked(cmd, key, items, width)
  local step = 400 * width
  for i = 1, #items, step do
    local j = math.min(i + step - 1, #items)
    redis.call(cmd, key, unpack(items, i, j))
  end
end

-- 1. read what the batch needs in three calls
local ids, nos, seen_index = {}, {}, {}
for i = 0, n - 1 do
  local o = 6 + i * 7
  ids[#ids + 1] = ARGV[o]
  local no = ARGV[o + 2]
  if seen_index[no] == nil then seen_index[no] = true; nos[#nos + 1] = no end
end
local was_seen = {}
for i = 1, #ids, 1000 do
  local part = redis.call("SMISMEMBER", KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
  for k = 1, #part do was_seen[i + k - 1] = part[k] == 1 end
end
local meta = {}
for i = 1, #nos, 1000 do
  local j = math.min(i + 999, #nos)
  local part = redis.call("HMGET", KEYS[3], unpack(nos, i, j))
  for k = 1, #part do
    if part[k] then meta[nos[i + k - 1]] = split(part[k]) end
  end
end
local records = {}
local function record(no)
  if records[no] == nil then records[no] = redis.call("HGET", KEYS[2], no) or "{}" end
  return records[no]
end

-- counter changes, summed per (key, field) and written once at the end
local deltas = {}
local function count(m, delta)
  if m[3] == "-" or m[2] == "-" then return end
  local status = m[2]
  for i, res in ipairs(resolutions) do
    local key = cell_prefix .. res .. ":" .. status
    local d = deltas[key] or {}; deltas[key] = d
    d[m[6 + i]] = (d[m[6 + i]] or 0) + delta
  end
  local key = count_prefix .. status
  local d = deltas[key] or {}; deltas[key] = d
  for _, field in ipairs({m[3], m[4], string.sub(m[3], 1, 2) .. "0000"}) do
    d[field] = (d[field] or 0) + delta
  end
end

local function merge(base_json, patch_json)
  local base = cjson.decode(base_json)
  for k, v in pairs(cjson.decode(patch_json)) do base[k] = v end
  return cjson.encode(base)
end

local function placed(ver, status, place)
  return split(ver .. " " .. status .. " " .. place)
end

-- 2. apply each event to the tables
local applied, dups, stale, last_event = 0, 0, 0, 0
local dirty, new_ids, in_batch = {}, {}, {}
for i = 0, n - 1 do
  local o = 6 + i * 7
  local id, kind, no, ver, status, place, json =
    ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5], ARGV[o + 6]
  if was_seen[i + 1] or in_batch[id] then
    dups = dups + 1
  else
    in_batch[id] = true
    new_ids[#new_ids + 1] = id
    local vnum = tonumber(ver)
    if vnum > last_event then last_event = vnum end
    local old = meta[no]
    local newer = (old == nil) or (tonumber(old[1]) <= vnum)
    local m, rec = nil, nil
    if kind == "full" then
      if old == nil or newer then
        m, rec = placed(ver, status, place), json
      elseif old[3] == "-" then
        -- an older full record for a licence so far known only from later events: keep their state
        local patch = cjson.decode(record(no))
        local where = patch["_place"] or place
        patch["_place"] = nil
        m = placed(old[1], old[2] ~= "-" and old[2] or status, where)
        rec = merge(json, cjson.encode(patch))
      end
    elseif not newer then
      m = nil
    elseif old == nil then
      -- a status or change before the licence itself: remember it, unplaced, until the record comes
      m = split(ver .. " " .. (status ~= "" and status or "-") .. " -")
      rec = json
      if place ~= "" then rec = merge(json, cjson.encode({_place = place})) end
    else
      m = {unpack(old)}
      m[1] = ver
      if status ~= "" then m[2] = status end
      if place ~= "" then
        if m[3] == "-" then
          rec = merge(merge(record(no), json), cjson.encode({_place = place}))
        else
          m = placed(ver, m[2], place)
        end
      end
      rec = rec or merge(record(no), json)
    end
    if m == nil then
      stale = stale + 1
    else
      if old ~= nil then count(old, -1) end
      count(m, 1)
      meta[no], records[no] = m, rec
      dirty[no] = true
      applied = applied + 1
    end
  end
end

-- 3. write everything back
local meta_args, rec_args, geo_args = {}, {}, {}
for no, _ in pairs(dirty) do
  local m = meta[no]
  meta_args[#meta_args + 1] = no; meta_args[#meta_args + 1] = table.concat(m, " ")
  rec_args[#rec_args + 1] = no; rec_args[#rec_args + 1] = records[no]
  if m[3] ~= "-" then
    geo_args[#geo_args + 1] = m[5]; geo_args[#geo_args + 1] = m[6]; geo_args[#geo_args + 1] = no
  end
end
chunked("HSET", KEYS[3], meta_args, 2)
chunked("HSET", KEYS[2], rec_args, 2)
chunked("GEOADD", KEYS[4], geo_args, 3)
chunked("SADD", KEYS[1], new_ids, 1)
for key, fields in pairs(deltas) do
  for field, delta in pairs(fields) do
    if delta ~= 0 then redis.call("HINCRBY", key, field, delta) end
  end
end

local version = redis.call("GET", KEYS[5]) or "0"
if applied > 0 then version = redis.call("INCR", KEYS[5]) end
redis.call("HSET", KEYS[6], "last_ingest_ms", now_ms)
local prev = tonumber(redis.call("HGET", KEYS[6], "last_event_ms") or "0")
if last_event > prev then redis.call("HSET", KEYS[6], "last_event_ms", string.format("%d", last_event)) end
redis.call("HINCRBY", KEYS[6], "applied", applied)
return {applied, dups, stale, tonumber(version), string.format("%d", last_event)}
