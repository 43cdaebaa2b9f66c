-- GET /v1.0/users/{id}/presence, rotating over the benchmark's users.
-- wrk -s get_presence.lua URL -- <users>
local users = 1
local counter = 0

function init(args)
  users = tonumber(args[1]) or 1
end

function request()
  counter = counter + 1
  local path = string.format("/v1.0/users/00000000-0000-4000-8000-%012x/presence", counter % users)
  return wrk.format("GET", path)
end
