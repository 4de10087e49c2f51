-- wrk script: sends the bearer token from the TOKEN environment variable with every request.
-- Used by bench/run: TOKEN=... wrk -s bench/auth.lua http://127.0.0.1:PORT/api/v1/user/list
local token = os.getenv("TOKEN")
if token == nil or token == "" then
  io.stderr:write("auth.lua: set TOKEN to an access token\n")
  os.exit(2)
end
wrk.headers["Authorization"] = "Bearer " .. token
