-- Apply a batch of licence events atomically: for each event the "seen" marker and its effect land
-- together (a Lua script runs without interleaving), so a crash never leaves one without the other.
-- The batch is read with a few multi-key commands, worked out in Lua tables, and written back with a
-- few multi-field commands: per-event Redis calls are what limits throughput.
--
-- KEYS: 1 seen set, 2 records hash, 3 meta hash, 4 geo set, 5 version counter, 6 source status hash
-- ARGV: 1 cell key prefix ("wf:lic:h3:"), 2 count key prefix ("wf:lic:count:"),
--       3 space-separated H3 resolutions, 4 ingest time (ms), 5 the batch as one JSON object,
--       6 day counter prefix ("wf:day:licence:"), 7 days index, 8 dirty days set,
--       9 coverage prefix ("wf:cov:"), 10 latest-inspection hash, 11 holder observations,
--       then per event its record fields as JSON text, with "_v" = version (separate arguments: as
--       strings inside the JSON batch they would cost more to decode than everything else).
-- The batch: {"days": {day (YYYYMMDD): its midnight (ms)}, "events": [8 values per event]}: id,
--       licence_no, version_ms (text), status ("" keeps it), place ([] keeps it; else [county, city,
--       lon, lat, cell1, cell2, ...]), day, day counter field ("<issuing county>:<kind>", kind =
--       issued, renewed, changed, suspended, …), holder ("" unless a licence.changed gave a new one)
-- Meta per licence: "status_version status place_version county city lon lat cell1 ...", with "-"
-- for an unknown status or place. Status, place and each record field are last-writer-wins on the
-- event's occurred_at, so duplicates and any arrival order give the state of the ordered sequence.
-- Returns {applied, duplicates, stale, version, last_event_ms}.

local cell_prefix, count_prefix = ARGV[1], ARGV[2]
local resolutions = {}
for r in string.gmatch(ARGV[3], "%S+") do resolutions[#resolutions + 1] = r end
local now_ms, batch = ARGV[4], cjson.decode(ARGV[5])
local day_prefix, days_index, dirty_key = ARGV[6], ARGV[7], ARGV[8]
local cov_prefix, last_inspection, holder_key = ARGV[9], ARGV[10], ARGV[11]
local events, day_ms = batch.events, batch.days
local W, RECORDS = 8, 11
local n = #events / W

local function split(s)
  local t = {}
  for w in string.gmatch(s, "%S+") do t[#t + 1] = w end
  return t
end

-- multi-argument commands in chunks: Lua's unpack() has a stack limit
local function chunked(cmd, key, items, width)
  local step = 400 * width
  for i = 1, #items, step do
    redis.call(cmd, key, unpack(items, i, math.min(i + step - 1, #items)))
  end
end
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, 1000 do
    local part = redis.call("HMGET", key, unpack(fields, i, math.min(i + 999, #fields)))
    for k = 1, #part do out[i + k - 1] = part[k] end
  end
  return out
end

-- 1. read what the batch needs: seen markers, current metas and the records of known licences
local ids, nos, listed = {}, {}, {}
for i = 0, n - 1 do
  ids[#ids + 1] = events[i * W + 1]
  local no = events[i * W + 2]
  if not listed[no] then listed[no] = true; nos[#nos + 1] = no end
end
local was_seen = {}
for i = 1, #ids, 1000 do
  local part = redis.call("SMISMEMBER", KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
  for k = 1, #part do was_seen[i + k - 1] = part[k] == 1 end
end
local meta, known = {}, {}
do
  local part = hmget(KEYS[3], nos)
  for k = 1, #nos do
    if part[k] then meta[nos[k]] = split(part[k]); known[#known + 1] = nos[k] end
  end
end
local stored = {}  -- records of licences already known, as stored (decoded when first needed)
do
  local part = hmget(KEYS[2], known)
  for k = 1, #known do stored[known[k]] = part[k] end
end
local records = {}  -- decoded records of licences touched twice or already stored

-- counter changes, summed per (key, field) and written once at the end
local deltas = {}
local function table_of(key)
  local d = deltas[key]
  if d == nil then d = {}; deltas[key] = d end
  return d
end
local cell_tables, count_tables, province = {}, {}, {}  -- per status; per county
local function count(m, delta)
  local status = m[2]
  if status == "-" or m[4] == "-" then return end
  local cells = cell_tables[status]
  if cells == nil then
    cells = {}
    for i, res in ipairs(resolutions) do cells[i] = table_of(cell_prefix .. res .. ":" .. status) end
    cell_tables[status] = cells
    count_tables[status] = table_of(count_prefix .. status)
  end
  for i = 1, #resolutions do
    local d, cell = cells[i], m[7 + i]
    d[cell] = (d[cell] or 0) + delta
  end
  local d, county = count_tables[status], m[4]
  local prov = province[county]
  if prov == nil then prov = string.sub(county, 1, 2) .. "0000"; province[county] = prov end
  d[county] = (d[county] or 0) + delta
  d[m[5]] = (d[m[5]] or 0) + delta
  d[prov] = (d[prov] or 0) + delta
end

-- coverage: a licence counts in its county's coverage set only while it is valid and placed
local function covered(m)
  if m and m[2] == "valid" and m[4] ~= "-" then return m[4] end
  return nil
end
-- moves between coverage sets are settled once per licence after the batch (step 3): cov_from keeps
-- where the licence was covered before its first move in the batch (false: nowhere)
local cov_from = {}
local function recover(no, old, m)
  local before, after = covered(old), covered(m)
  if before ~= after and cov_from[no] == nil then cov_from[no] = before or false end
end

local days = {}

-- 2. apply each event to the tables
local applied, dups, stale, last_event = 0, 0, 0, 0
local dirty, new_ids, in_batch, raw, moved = {}, {}, {}, {}, {}
for i = 0, n - 1 do
  local o = i * W
  local id, no, ver, status, place = events[o + 1], events[o + 2], events[o + 3], events[o + 4], events[o + 5]
  local day, day_field, holder, json = events[o + 6], events[o + 7], events[o + 8], ARGV[RECORDS + i + 1]
  if was_seen[i + 1] or in_batch[id] then
    dups = dups + 1
  else
    in_batch[id] = true
    new_ids[#new_ids + 1] = id
    local vnum = tonumber(ver)
    if vnum > last_event then last_event = vnum end
    local old = meta[no]
    local m = old and {unpack(old)} or {"0", "-", "0", "-"}
    local changed = false
    if status ~= "" and (m[2] == "-" or tonumber(m[1]) <= vnum) then
      changed = changed or m[2] ~= status
      m[1], m[2] = ver, status
    end
    if #place > 0 and (m[4] == "-" or tonumber(m[3]) <= vnum) then
      m = {m[1], m[2], ver, unpack(place)}
      changed = true
      moved[no] = true
    end
    if old == nil and records[no] == nil then
      raw[no] = json  -- a licence seen for the first time: store the record as sent
      changed = true
    else
      if records[no] == nil then
        records[no] = cjson.decode(raw[no] or stored[no] or '{"_v": -1}')
        raw[no] = nil
      end
      local rec_changed
      records[no], rec_changed = merge_lww(records[no], cjson.decode(json))
      changed = changed or rec_changed
    end
    if old ~= nil then count(old, -1) end
    count(m, 1)
    recover(no, old, m)
    -- events per day, county and kind (issued, cancelled …) for the indicators; the county is the
    -- licence number's first six digits (its issuing county), so any arrival order counts alike
    local d = table_of(day_prefix .. day)
    d[day_field] = (d[day_field] or 0) + 1
    days[day] = day_ms[day]
    if holder ~= "" then redis.call("ZADD", holder_key, ver, holder .. "|" .. no) end
    meta[no] = m
    dirty[no] = true
    applied = applied + 1
    if not changed then stale = stale + 1 end
  end
end

-- 3. write everything back (a point goes to the geo set only when the batch gave one)
local meta_args, rec_args, geo_args = {}, {}, {}
for no, _ in pairs(dirty) do
  local m = meta[no]
  meta_args[#meta_args + 1] = no; meta_args[#meta_args + 1] = table.concat(m, " ")
  rec_args[#rec_args + 1] = no; rec_args[#rec_args + 1] = raw[no] or cjson.encode(records[no])
  if moved[no] then
    geo_args[#geo_args + 1] = m[6]; geo_args[#geo_args + 1] = m[7]; geo_args[#geo_args + 1] = no
  end
end
chunked("HSET", KEYS[3], meta_args, 2)
chunked("HSET", KEYS[2], rec_args, 2)
chunked("GEOADD", KEYS[4], geo_args, 3)
chunked("SADD", KEYS[1], new_ids, 1)
-- counters: per key one HMGET and one HSET (the same as an HINCRBY per field, in two calls)
for key, fields in pairs(deltas) do
  local names, adds = {}, {}
  for field, delta in pairs(fields) do
    if delta ~= 0 then names[#names + 1] = field; adds[#adds + 1] = delta end
  end
  local cur, args = hmget(key, names), {}
  for j = 1, #names do
    args[#args + 1] = names[j]
    args[#args + 1] = string.format("%d", tonumber(cur[j] or "0") + adds[j])
  end
  chunked("HSET", key, args, 2)
end

-- coverage: a licence that moved leaves the set it was in before the batch and enters the one of its
-- county now (if valid and placed) with its latest inspection; the same as each move in turn
do
  local movers, entering = {}, {}
  for no, _ in pairs(cov_from) do
    movers[#movers + 1] = no
    if covered(meta[no]) then entering[#entering + 1] = no end
  end
  local t = {}
  do
    local part = hmget(last_inspection, entering)
    for j = 1, #entering do t[entering[j]] = part[j] or nil end
  end
  local rems, adds = {}, {}
  for _, no in ipairs(movers) do
    local before, after = cov_from[no], covered(meta[no])
    if before and not (after == before and t[no]) then
      local g = rems[cov_prefix .. before] or {}; rems[cov_prefix .. before] = g
      g[#g + 1] = no
    end
    if after and t[no] then
      local g = adds[cov_prefix .. after] or {}; adds[cov_prefix .. after] = g
      g[#g + 1] = t[no]; g[#g + 1] = no
    end
  end
  for key, members in pairs(rems) do chunked("ZREM", key, members, 1) end
  for key, args in pairs(adds) do chunked("ZADD", key, args, 2) end
end

do  -- the days index and the dirty days: one call each (a licence load spans hundreds of days a batch)
  local index_args, dirty_args = {}, {}
  for day, ms in pairs(days) do
    index_args[#index_args + 1] = ms; index_args[#index_args + 1] = day
    dirty_args[#dirty_args + 1] = "licence:" .. day
  end
  chunked("ZADD", days_index, index_args, 2)
  chunked("SADD", dirty_key, dirty_args, 1)
end

local version = redis.call("GET", KEYS[5]) or "0"
if applied > stale then version = redis.call("INCR", KEYS[5]) end
redis.call("HSET", KEYS[6], "last_ingest_ms", now_ms)
local prev = tonumber(redis.call("HGET", KEYS[6], "last_event_ms") or "0")
if last_event > prev then redis.call("HSET", KEYS[6], "last_event_ms", string.format("%d", last_event)) end
redis.call("HINCRBY", KEYS[6], "applied", applied)
return {applied, dups, stale, tonumber(version), string.format("%d", last_event)}
