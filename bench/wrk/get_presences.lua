-- POST /v1.0/communications/getPresencesByUserId with <ids> ids, rotating over 16 different id lists.
-- wrk -s get_presences.lua URL -- <users> <ids>
local bodies = {}
local counter = 0
local headers = { ["Content-Type"] = "application/json" }

function init(args)
  local users = tonumber(args[1]) or 1
  local count = tonumber(args[2]) or 650
  for b = 1, 16 do
    local ids = {}
    local start = (b - 1) * 613
    for i = 0, count - 1 do
      ids[#ids + 1] = string.format('"00000000-0000-4000-8000-%012x"', (start + i) % users)
    end
    bodies[b] = '{"ids":[' .. table.concat(ids, ",") .. ']}'
  end
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/v1.0/communications/getPresencesByUserId", headers, bodies[counter % 16 + 1])
end
