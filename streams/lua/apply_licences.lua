-- Apply a batch of licence events atomically: for each event the "seen" marker and its effect land
-- together (a Lua script runs without interleaving), so a crash never leaves one without the other.
-- The batch is read with a few multi-key commands, worked out in Lua tables, and written back with a
-- few multi-field commands: per-event Redis calls are what limits throughput.
--
-- KEYS: 1 seen set, 2 records hash, 3 meta hash, 4 geo set, 5 version counter, 6 source status hash
-- ARGV: 1 cell key prefix ("wf:lic:h3:"), 2 count key prefix ("wf:lic:count:"),
--       3 space-separated H3 resolutions, 4 ingest time (ms), 5 number of events,
--       6 day counter prefix ("wf:day:licence:"), 7 days index, 8 dirty days set,
--       9 coverage prefix ("wf:cov:"), 10 latest-inspection hash, 11 holder observations,
--       then 10 values per event: id, licence_no, version_ms, status ("" keeps it), place ("" keeps
--       it; else "county city lon lat cell1 cell2 ..."), json (record fields, with "_v" = version),
--       day (YYYYMMDD), the day's midnight (ms), kind (issued, renewed, changed, suspended, …),
--       holder ("" unless a licence.changed gave a new holder)
-- Meta per licence: "status_version status place_version county city lon lat cell1 ...", with "-"
-- for an unknown status or place. Status, place and each record field are last-writer-wins on the
-- event's occurred_at, so duplicates and any arrival order give the state of the ordered sequence.
-- Returns {applied, duplicates, stale, version, last_event_ms}.

local cell_prefix, count_prefix = ARGV[1], ARGV[2]
local resolutions = {}
for r in string.gmatch(ARGV[3], "%S+") do resolutions[#resolutions + 1] = r end
local now_ms, n = ARGV[4], tonumber(ARGV[5])
local day_prefix, days_index, dirty_key = ARGV[6], ARGV[7], ARGV[8]
local cov_prefix, last_inspection, holder_key = ARGV[9], ARGV[10], ARGV[11]
local FIRST, W = 12, 10

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

-- 1. read what the batch needs: seen markers and current metas, a few calls for the whole batch
local ids, nos, listed = {}, {}, {}
for i = 0, n - 1 do
  local o = FIRST + i * W
  ids[#ids + 1] = ARGV[o]
  local no = ARGV[o + 1]
  if not listed[no] then listed[no] = true; nos[#nos + 1] = no end
end
local was_seen = {}
for i = 1, #ids, 1000 do
  local part = redis.call("SMISMEMBER", KEYS[1], unpack(ids, i, math.min(i + 999, #ids)))
  for k = 1, #part do was_seen[i + k - 1] = part[k] == 1 end
end
local meta = {}
for i = 1, #nos, 1000 do
  local part = redis.call("HMGET", KEYS[3], unpack(nos, i, math.min(i + 999, #nos)))
  for k = 1, #part do
    if part[k] then meta[nos[i + k - 1]] = split(part[k]) end
  end
end
local records = {}  -- decoded records of licences touched twice or already stored

-- counter changes, summed per (key, field) and written once at the end
local deltas = {}
local function count(m, delta)
  if m[2] == "-" or m[4] == "-" then return end
  for i, res in ipairs(resolutions) do
    local key = cell_prefix .. res .. ":" .. m[2]
    local d = deltas[key] or {}; deltas[key] = d
    d[m[7 + i]] = (d[m[7 + i]] or 0) + delta
  end
  local key = count_prefix .. m[2]
  local d = deltas[key] or {}; deltas[key] = d
  for _, field in ipairs({m[4], m[5], string.sub(m[4], 1, 2) .. "0000"}) do
    d[field] = (d[field] or 0) + delta
  end
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
local dirty, new_ids, in_batch, raw = {}, {}, {}, {}
for i = 0, n - 1 do
  local o = FIRST + i * W
  local id, no, ver, status, place, json = ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5]
  local day, day_ms, kind, holder = ARGV[o + 6], ARGV[o + 7], ARGV[o + 8], ARGV[o + 9]
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
    if place ~= "" and (m[4] == "-" or tonumber(m[3]) <= vnum) then
      local p = split(place)
      m = {m[1], m[2], ver}
      for _, v in ipairs(p) do m[#m + 1] = v end
      changed = true
    end
    if old == nil and records[no] == nil then
      raw[no] = json  -- a licence seen for the first time: store the record as sent
      changed = true
    else
      if records[no] == nil then
        records[no] = cjson.decode(raw[no] or redis.call("HGET", KEYS[2], no) or '{"_v": -1}')
        raw[no] = nil
      end
      local rec_changed
      records[no], rec_changed = merge_lww(records[no], cjson.decode(json))
      changed = changed or rec_changed
    end
    if old ~= nil then count(old, -1) end
    count(m, 1)
    recover(no, old, m)
    do
      -- events per day, county and kind (issued, cancelled …) for the indicators; the county is the
      -- licence number's first six digits (its issuing county), so any arrival order counts alike
      local key = day_prefix .. day
      local field = string.sub(no, 1, 6) .. ":" .. kind
      local d = deltas[key] or {}; deltas[key] = d
      d[field] = (d[field] or 0) + 1
      days[day] = day_ms
    end
    if holder ~= "" then redis.call("ZADD", holder_key, ver, holder .. "|" .. no) end
    meta[no] = m
    dirty[no] = true
    applied = applied + 1
    if not changed then stale = stale + 1 end
  end
end

-- 3. write everything back
local meta_args, rec_args, geo_args = {}, {}, {}
for no, _ in pairs(dirty) do
  local m = meta[no]
  meta_args[#meta_args + 1] = no; meta_args[#meta_args + 1] = table.concat(m, " ")
  rec_args[#rec_args + 1] = no; rec_args[#rec_args + 1] = raw[no] or cjson.encode(records[no])
  if m[4] ~= "-" then
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
  for i = 1, #names, 1000 do
    local last = math.min(i + 999, #names)
    local cur, args = redis.call("HMGET", key, unpack(names, i, last)), {}
    for j = i, last do
      args[#args + 1] = names[j]
      args[#args + 1] = string.format("%d", tonumber(cur[j - i + 1] or "0") + adds[j])
    end
    redis.call("HSET", key, unpack(args))
  end
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
  for i = 1, #entering, 1000 do
    local part = redis.call("HMGET", last_inspection, unpack(entering, i, math.min(i + 999, #entering)))
    for j = 1, #part do t[entering[i + j - 1]] = part[j] or nil end
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

for day, day_ms in pairs(days) do
  redis.call("ZADD", days_index, day_ms, day)
  redis.call("SADD", dirty_key, "licence:" .. day)
end

local version = redis.call("GET", KEYS[5]) or "0"
if applied > stale then version = redis.call("INCR", KEYS[5]) end
redis.call("HSET", KEYS[6], "last_ingest_ms", now_ms)
local prev = tonumber(redis.call("HGET", KEYS[6], "last_event_ms") or "0")
if last_event > prev then redis.call("HSET", KEYS[6], "last_event_ms", string.format("%d", last_event)) end
redis.call("HINCRBY", KEYS[6], "applied", applied)
return {applied, dups, stale, tonumber(version), string.format("%d", last_event)}
