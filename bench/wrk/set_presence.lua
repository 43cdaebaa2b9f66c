-- POST /v1.0/users/{id}/presence/setPresence, rotating over the benchmark's users; each pass over the users
-- sets the next of the five pairs, so every request is a visible change (new sequenceNumber, cache dropped).
-- wrk -s set_presence.lua URL -- <users>
local users = 1
local counter = 0
local headers = { ["Content-Type"] = "application/json" }
local pairs_ = {
  { "Available", "Available" }, { "Busy", "InACall" }, { "Busy", "InAConferenceCall" },
  { "Away", "Away" }, { "DoNotDisturb", "Presenting" },
}

function init(args)
  users = tonumber(args[1]) or 1
end

function request()
  local user = counter % users
  local pair = pairs_[(math.floor(counter / users) + 1) % 5 + 1]
  counter = counter + 1
  local path = string.format("/v1.0/users/00000000-0000-4000-8000-%012x/presence/setPresence", user)
  local body = string.format(
    '{"sessionId":"bench-session","availability":"%s","activity":"%s","expirationDuration":"PT1H"}',
    pair[1], pair[2])
  return wrk.format("POST", path, headers, body)
end
