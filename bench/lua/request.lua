-- The one wrk script of the benchmarks. Options come after `--` as key=value:
--   method=GET|POST|PATCH  path=/x        the request (a fixed path)
--   ids=FILE prefix=/x/    a random line of FILE appended to prefix, per request
--   body=FILE              the request body (JSON)
--   apikey=K token=T       the apikey header and a Bearer token
--   mode=refresh tokens=F  POST {"refresh_token"} taking each token from the answer
--                          of the one before (a queue seeded from F, one per connection)
--   mode=patch             a body {"score": random}
--   delay=MS               wait MS between requests on a connection (a paced probe)
-- done() prints one line: BENCHJSON {...} with counts and latency percentiles (us).

local opts = {}
local ids = nil
local tokens = {}

local function read_lines(path)
  local items = {}
  for line in io.lines(path) do
    if #line > 0 then items[#items + 1] = line end
  end
  return items
end

local function read_file(path)
  local fh = assert(io.open(path, "rb"))
  local text = fh:read("*a")
  fh:close()
  return text
end

-- wrk decides whether to keep answers by whether `response` exists when the script
-- loads, so it is defined for every mode and returns at once unless refreshing.
function response(status, headers, body)
  if opts.mode ~= "refresh" then return end
  local token = body and body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then tokens[#tokens + 1] = token end
end

-- delay=MS paces a probe (e.g. /health during logins) instead of saturating the server.
function delay()
  return tonumber(opts.delay or "0")
end

function init(args)
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key then opts[key] = value end
  end
  wrk.method = opts.method or "GET"
  wrk.path = opts.path or wrk.path
  wrk.headers["Content-Type"] = "application/json"
  if opts.apikey then wrk.headers["apikey"] = opts.apikey end
  if opts.token then wrk.headers["Authorization"] = "Bearer " .. opts.token end
  if opts.body then wrk.body = read_file(opts.body) end
  if opts.ids then ids = read_lines(opts.ids) end
  if opts.tokens then tokens = read_lines(opts.tokens) end
  math.randomseed(os.time() + tonumber(opts.seed or "0"))
end

local calls = 0

function request()
  calls = calls + 1
  -- wrk calls request() once before the run to check it (and sends nothing): that
  -- call must not spend a refresh token.
  if calls == 1 then return wrk.format(nil, wrk.path, nil, wrk.body) end
  local path = wrk.path
  if ids then path = opts.prefix .. ids[math.random(#ids)] end
  local body = wrk.body
  if opts.mode == "refresh" then
    body = '{"refresh_token":"' .. (table.remove(tokens) or "none-left") .. '"}'
  elseif opts.mode == "patch" then
    body = '{"score":' .. math.random(0, 999) .. '}'
  end
  return wrk.format(nil, path, nil, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,' ..
    '"write":%d,"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max))
end
