-- wrk script: client_credentials token requests (client_secret_post) over keep-alive.
-- The secret comes from the environment so it is not on wrk's command line.
local secret = os.getenv("BENCH_CLIENT_SECRET") or error("BENCH_CLIENT_SECRET is not set")
local client = os.getenv("BENCH_CLIENT_ID") or "broker-svc"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "grant_type=client_credentials&client_id=" .. client .. "&client_secret=" .. secret

local bad = 0
function response(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
    io.write(string.format("requests: %d, errors (connect/read/write/timeout/status): %d/%d/%d/%d/%d\n",
        summary.requests, summary.errors.connect, summary.errors.read, summary.errors.write,
        summary.errors.timeout, summary.errors.status))
end
