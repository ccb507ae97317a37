-- Shared by the apply scripts (prepended when they are loaded): records as per-field
-- last-writer-wins registers, so that any arrival order of the same events gives the same record.
-- A record is a JSON object whose field versions are "_v" (all fields) unless "_fv" names a field's
-- own version. A patch carries its version in "_v". A field takes the patch's value when the patch
-- is at least as new as that field (a field the record lacks has version -1).
-- Returns the merged record (a table) and whether anything changed.
local function merge_lww(base, patch)
  local pv = tonumber(patch._v)
  local bv = tonumber(base._v or -1)
  local fv = base._fv or {}
  local changed = false
  for k, v in pairs(patch) do
    if k ~= "_v" and k ~= "_fv" then
      local cur = -1
      if base[k] ~= nil then cur = tonumber(fv[k] or bv) end
      if pv >= cur then
        if base[k] ~= v then changed = true end
        base[k] = v
        if pv == bv then fv[k] = nil else fv[k] = pv end
      end
    end
  end
  if base._v == nil then base._v = pv end
  if next(fv) == nil then base._fv = nil else base._fv = fv end
  return base, changed
end
