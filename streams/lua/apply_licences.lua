-- Apply a batch of licence events atomically: for each event the "seen" marker and its effect land
-- together (a Lua script runs without interleaving), so a crash never leaves one without the other.
--
-- KEYS: 1 seen set, 2 records hash, 3 meta hash, 4 geo set, 5 version counter, 6 source status hash
-- ARGV: 1 cell key prefix ("wf:lic:h3:"), 2 count key prefix ("wf:lic:count:"),
--       3 space-separated H3 resolutions, 4 ingest time (ms), 5 number of events,
--       then 7 values per event: id, kind ("full" | "status"), licence_no, version_ms, status,
--       place ("county city lon lat cell1 cell2 ..." for full, "" for status), json (record or patch)
-- Meta value per licence: "version_ms status county city lon lat cell1 cell2 ..." ("-" for no place).
-- Rules: duplicates (id seen) do nothing; an event older than the licence's current version never
-- overwrites it, except that a full record fills in the place of a licence known only by status.
-- Returns {applied, duplicates, stale, version, last_event_ms}.

local cell_prefix, count_prefix = ARGV[1], ARGV[2]
local resolutions = {}
for r in string.gmatch(ARGV[3], "%S+") do resolutions[#resolutions + 1] = r end
local now_ms, n = ARGV[4], tonumber(ARGV[5])
local province = nil

local function split(s)
  local t = {}
  for w in string.gmatch(s, "%S+") do t[#t + 1] = w end
  return t
end

-- Counter changes are summed per (key, field) during the batch and written once at the end: many
-- licences of a batch share a coarse H3 cell or a region, so this saves most HINCRBY calls.
local deltas = {}
local function add(key, field, delta)
  local k = deltas[key]
  if k == nil then k = {}; deltas[key] = k end
  k[field] = (k[field] or 0) + delta
end

-- Add delta to every counter of a placed licence: its H3 cells and its county / city / province.
local function count(meta, delta)
  if meta[3] == "-" then return end
  local status = meta[2]
  for i, res in ipairs(resolutions) do
    add(cell_prefix .. res .. ":" .. status, meta[6 + i], delta)
  end
  local key = count_prefix .. status
  add(key, meta[3], delta)
  add(key, meta[4], delta)
  add(key, string.sub(meta[3], 1, 2) .. "0000", delta)
end

local function merge(base_json, patch_json)
  local base = cjson.decode(base_json)
  for k, v in pairs(cjson.decode(patch_json)) do base[k] = v end
  return cjson.encode(base)
end

local applied, dups, stale, last_event = 0, 0, 0, 0
for i = 0, n - 1 do
  local o = 6 + i * 7
  local id, kind, no, ver, status, place, json =
    ARGV[o], ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5], ARGV[o + 6]
  if redis.call("SADD", KEYS[1], id) == 0 then
    dups = dups + 1
  else
    local vnum = tonumber(ver)
    if vnum > last_event then last_event = vnum end
    local old_raw = redis.call("HGET", KEYS[3], no)
    local old = old_raw and split(old_raw) or nil
    local newer = (old == nil) or (tonumber(old[1]) <= vnum)
    if kind == "full" then
      if old ~= nil and not newer and old[3] ~= "-" then
        stale = stale + 1
      else
        local meta_ver, meta_status, record = ver, status, json
        if old ~= nil and not newer then
          -- an older full record for a licence whose newer status we already hold
          meta_ver, meta_status = old[1], old[2]
          record = merge(json, redis.call("HGET", KEYS[2], no))
        end
        if old ~= nil then count(old, -1) end
        local meta = split(meta_ver .. " " .. meta_status .. " " .. place)
        redis.call("HSET", KEYS[3], no, table.concat(meta, " "))
        redis.call("HSET", KEYS[2], no, record)
        redis.call("GEOADD", KEYS[4], meta[5], meta[6], no)
        count(meta, 1)
        applied = applied + 1
      end
    else
      if not newer then
        stale = stale + 1
      elseif old == nil then
        -- status before the licence itself: remember it unplaced; the full record places it later
        redis.call("HSET", KEYS[3], no, ver .. " " .. status .. " -")
        redis.call("HSET", KEYS[2], no, json)
        applied = applied + 1
      else
        count(old, -1)
        old[1], old[2] = ver, status
        redis.call("HSET", KEYS[3], no, table.concat(old, " "))
        redis.call("HSET", KEYS[2], no, merge(redis.call("HGET", KEYS[2], no), json))
        count(old, 1)
        applied = applied + 1
      end
    end
  end
end

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
