-- One wrk script for every workload. Environment:
--   WORKLOAD  token | register | verify | introspect (the peer verifies by introspection)
--             | token-dpop | verify-dpop (dcr only: one single-use proof per request,
--             from `proofs.<thread>` made by `dcr-load proofs`)
--   TARGET    dcr | peer
--   WORK      directory written by prepare.py
local workload = os.getenv("WORKLOAD")
local target = os.getenv("TARGET")
local work = os.getenv("WORK")

local function lines(name)
  local out = {}
  local f = io.open(work .. "/" .. name, "r")
  if f == nil then return out end
  for line in f:lines() do
    if line ~= "" then table.insert(out, line) end
  end
  f:close()
  return out
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local creds, tokens, statement, introspector, proofs, bound
local i = 0
local j = 0

-- Each thread gets its own index, so it reads its own file of proofs.
local threads = 0
function setup(thread)
  thread:set("index", threads)
  threads = threads + 1
end

function init(args)
  creds = lines("creds.txt")
  tokens = lines("tokens.txt")
  statement = lines("statement.txt")[1]
  introspector = lines("introspector.txt")[1]
  if workload == "token-dpop" or workload == "verify-dpop" then
    proofs = lines("proofs." .. index)
    bound = lines("tokens-dpop.txt")
  end
  -- Threads start at different offsets so they do not hammer one client.
  i = math.random(1, 1000)
end

-- The next unused proof (once they run out they repeat, and dcr refuses them as
-- replays: the report's non-2xx count shows it).
local function next_proof()
  j = j + 1
  return proofs[((j - 1) % #proofs) + 1], j - 1
end

function request()
  i = i + 1
  if workload == "token-dpop" then
    local c = creds[(i % #creds) + 1]
    local id, secret = c:match("^(%S+) (%S+)$")
    local proof = next_proof()
    return wrk.format("POST", "/oauth2/token", {["Content-Type"] = "application/x-www-form-urlencoded", ["DPoP"] = proof},
      "grant_type=client_credentials&client_id=" .. urlencode(id) .. "&client_secret=" .. urlencode(secret))
  elseif workload == "verify-dpop" then
    -- Proof k of this thread's file is for bound token k mod n (dcr-load proofs).
    local proof, k = next_proof()
    local t = bound[(k % #bound) + 1]
    return wrk.format("GET", "/o/auth/verify", {["Authorization"] = "DPoP " .. t, ["DPoP"] = proof,
      ["X-Forwarded-Method"] = "GET", ["X-Forwarded-Uri"] = "http://api.bench/v1/configuration"}, nil)
  elseif workload == "token" then
    local c = creds[(i % #creds) + 1]
    local id, secret = c:match("^(%S+) (%S+)$")
    local path = target == "dcr" and "/oauth2/token" or "/token"
    local body = "grant_type=client_credentials&client_id=" .. urlencode(id) .. "&client_secret=" .. urlencode(secret)
    if target == "peer" then body = body .. "&scope=api%3Aclient%3Av2" end
    return wrk.format("POST", path, {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
  elseif workload == "register" then
    if target == "dcr" then
      return wrk.format("POST", "/o/client/register", {["Content-Type"] = "application/json"},
        '{"software_statement":"' .. statement .. '"}')
    end
    return wrk.format("POST", "/reg", {["Content-Type"] = "application/json"},
      '{"grant_types":["client_credentials"],"response_types":[],"redirect_uris":[],"token_endpoint_auth_method":"client_secret_post"}')
  elseif workload == "verify" and target == "dcr" then
    local t = tokens[(i % #tokens) + 1]
    return wrk.format("GET", "/o/auth/verify", {["Authorization"] = "Bearer " .. t}, nil)
  else -- introspect (and the peer's way to verify: it has no forward-auth endpoint)
    local t = tokens[(i % #tokens) + 1]
    if target == "dcr" then
      return wrk.format("POST", "/o/introspect",
        {["Content-Type"] = "application/x-www-form-urlencoded", ["Authorization"] = "Bearer " .. introspector},
        "token=" .. urlencode(t))
    end
    local id, secret = introspector:match("^(%S+) (%S+)$")
    return wrk.format("POST", "/token/introspection", {["Content-Type"] = "application/x-www-form-urlencoded"},
      "token=" .. urlencode(t) .. "&client_id=" .. urlencode(id) .. "&client_secret=" .. urlencode(secret))
  end
end

function done(summary, latency, requests)
  io.stderr:write(string.format("RESULT rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.errors.status))
end

-- `token-synthetic`: random clients among SYNTHETIC bulk-loaded ones (bench/scale.sh),
-- all sharing SECRET, so every request reads a client the caches have likely not seen.
-- SYNTHETIC_FROM (default 1) starts the range higher (bench/lifecycle.sh).
if workload == "token-synthetic" then
  local n = tonumber(os.getenv("SYNTHETIC"))
  local from = tonumber(os.getenv("SYNTHETIC_FROM") or "1")
  local secret = os.getenv("SECRET")
  init = function(args) math.randomseed(os.time() + math.random(1, 100000)) end
  request = function()
    local id = string.format("00000000-0000-4000-8000-%012x", math.random(from, n))
    return wrk.format("POST", "/oauth2/token", {["Content-Type"] = "application/x-www-form-urlencoded"},
      "grant_type=client_credentials&client_id=" .. id .. "&client_secret=" .. urlencode(secret))
  end
end
