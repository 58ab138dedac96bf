#!/usr/bin/env bash
# `cloak agent` under load, side by side in one run with nginx serving a static file of a token's
# size on a Unix socket (what HTTP on a socket costs with nothing behind it), with the same clients
# (issue 11's table):
#   one token by a whole `curl --unix-socket` process (hyperfine), agent vs nginx     ≤ 1.3×
#   keep-alive requests on one connection (agent-load latency): p50 vs nginx ≤ 2×, p99 < 2 ms
#   64 connections sending back to back (agent-load throughput), agent vs nginx       ≥ 0.5×
#   the agent's RSS with 10,000 clients in the vault and 1,000 tokens cached          < 48 MiB
#   responses with "source": "idp" after warm-up, 20 tokens of a 6 s life asked for
#   every 100 ms for 20 s while the agent renews them in the background               0
# The first three run interleaved, ROUNDS times (default 3; who goes first alternates), and the
# summary gives each one's median over the rounds. agent-load (Benchmarks/AgentLoad, a package of
# its own) is an HTTP/1.1 client on SwiftNIO; nginx is installed with apt when missing.
# Every server listens on a Unix socket in a temporary directory, or on 127.0.0.1 (cloak-idp).
# Usage: ROUNDS=N scripts/bench-agent.sh
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
scripts/bootstrap.sh
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
if ! command -v nginx >/dev/null; then
  # The package's scripts would start the distribution's nginx on port 80: while it installs,
  # policy-rc.d forbids starting services (unless the machine has a policy-rc.d of its own).
  guard=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    guard=/usr/sbin/policy-rc.d
    printf '#!/bin/sh\nexit 101\n' >"$guard"
    chmod 755 "$guard"
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light >/dev/null 2>&1 ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
  [ -z "$guard" ] || rm -f "$guard"
fi
PATH="$PATH:/usr/sbin"

# Release builds in the default scratch path (.build), as the other bench scripts do;
# SWIFT_SCRATCH=DIR builds cloak's products there instead (e.g. while a debug build uses .build).
scratch=()
[ -z "${SWIFT_SCRATCH:-}" ] || scratch=(--scratch-path "$SWIFT_SCRATCH")
for product in cloak-idp cloak-bench-fixture cloak; do
  swift build -c release "${scratch[@]}" --product $product >/dev/null
done
release="$(swift build -c release "${scratch[@]}" --show-bin-path)"
cloak="$release/cloak"
swift build -c release --package-path Benchmarks/AgentLoad >/dev/null
load="$(swift build -c release --package-path Benchmarks/AgentLoad --show-bin-path)/agent-load"

. scripts/lib/idp.sh
work=$(mktemp -d)
agent_pid=""
nginx_pid=""
stop_pid() {  # stop_pid PID: SIGTERM to that process (one this script started), then reap it
  [ -z "$1" ] || { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
}
trap 'stop_pid "$agent_pid"; stop_pid "$nginx_pid"; stop_idp; rm -rf "$work"' EXIT
umask 077

# One cloak-idp: r1 for the latency rows, realm0 for the RSS row (1,000 of the fixture's 10,000
# clients, which ask for the scope "read"), short (6 s tokens) for the background renewals.
python3 - "$work/idp.json" <<'PY'
import json, sys
config = {"realms": [
    {"realm": "r1", "accessTokenLifespan": 300, "clients": [{"clientId": "svc-0", "secret": "fake-bench-0"}]},
    {"realm": "realm0", "accessTokenLifespan": 300, "clients": [
        {"clientId": f"client-{i}", "secret": f"fake-bench-secret-{i}", "optionalClientScopes": ["read"]} for i in range(1000)]},
    {"realm": "short", "accessTokenLifespan": 6, "clients": [
        {"clientId": f"svc-{i}", "secret": f"fake-bench-{i}"} for i in range(20)]},
]}
json.dump(config, open(sys.argv[1], "w"))
PY
start_idp "$release/cloak-idp" "$work/idp.json"
token_url() { echo "$IDP_URL/realms/$1/protocol/openid-connect/token"; }

# The small vault: r1/svc-0, and short/svc-0 … svc-19.
export CLOAK_VAULT="$work/vault.db" CLOAK_KEY_FILE="$work/key"
$cloak init 2>/dev/null
$cloak realm add r1 --token-url "$(token_url r1)" 2>/dev/null
printf 'fake-bench-0' | $cloak client add r1/svc-0 --client-id svc-0 --secret-stdin --no-verify 2>/dev/null
$cloak realm add short --token-url "$(token_url short)" 2>/dev/null
for i in $(seq 0 19); do
  printf 'fake-bench-%s' "$i" | $cloak client add "short/svc-$i" --client-id "svc-$i" --secret-stdin --no-verify 2>/dev/null
done

mkdir -m 700 "$work/run"
start_agent() {  # start_agent VAULT KEYFILE SOCKET: sets agent_pid once the agent answers
  CLOAK_VAULT=$1 CLOAK_KEY_FILE=$2 "$cloak" agent --socket "$3" 2>>"$work/agent.log" &
  agent_pid=$!
  for _ in $(seq 300); do
    curl -sf --unix-socket "$3" http://x/v1/health >/dev/null && return 0
    kill -0 "$agent_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "cloak agent did not start:" >&2
  cat "$work/agent.log" >&2
  return 1
}
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }  # field LINE KEY: KEY's value in agent-load's line
rss() { awk -v k="$2:" '$1 == k { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }  # rss PID VmRSS|VmHWM, MiB

path="/v1/tokens/r1/svc-0?min_ttl=1"
agent_sock="$work/run/agent.sock"
nginx_sock="$work/run/nginx.sock"
start_agent "$work/vault.db" "$work/key" "$agent_sock"

# nginx's file is the agent's own answer for the same path: a real token document, same size.
mkdir -p "$work/www/v1/tokens/r1" "$work/nginx"
# (Asked twice: the first answer says "source": "idp", every later one "memory", 3 bytes more.)
curl -sf --unix-socket "$agent_sock" "http://x$path" -o /dev/null
curl -sf --unix-socket "$agent_sock" "http://x$path" >"$work/www/v1/tokens/r1/svc-0"
cat >"$work/nginx.conf" <<NGINX
daemon off;
master_process off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $work/nginx/body;
  proxy_temp_path $work/nginx/proxy;
  fastcgi_temp_path $work/nginx/fastcgi;
  uwsgi_temp_path $work/nginx/uwsgi;
  scgi_temp_path $work/nginx/scgi;
  types { }
  default_type application/json;
  keepalive_requests 1000000000;
  keepalive_timeout 600s;
  server {
    listen unix:$nginx_sock;
    root $work/www;
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work/nginx" -e "$work/nginx/error.log" &
nginx_pid=$!
for _ in $(seq 100); do [ -S "$nginx_sock" ] && break; sleep 0.1; done
curl -sf --unix-socket "$nginx_sock" "http://x$path" -o /dev/null || { echo "nginx does not answer:" >&2; cat "$work/nginx/error.log" >&2; exit 1; }
printf 'agent (pid %s) and nginx (pid %s) on Unix sockets; %s answers %s bytes, nginx %s\n\n' "$agent_pid" "$nginx_pid" "$path" \
  "$(curl -s --unix-socket "$agent_sock" "http://x$path" | wc -c)" "$(curl -s --unix-socket "$nginx_sock" "http://x$path" | wc -c)"

results="$work/results"
: >"$results"
declare -A sock=([agent]="$agent_sock" [nginx]="$nginx_sock")
for round in $(seq "$rounds"); do
  servers=(agent nginx)
  ((round % 2)) || servers=(nginx agent)  # who goes first alternates
  # (a) one token, a whole curl process each
  commands=()
  for s in "${servers[@]}"; do commands+=(-n "$s" "curl -s --unix-socket ${sock[$s]} http://x$path -o /dev/null"); done
  hyperfine -N --style none --warmup 20 --runs 200 --export-json "$work/curl.json" "${commands[@]}"
  python3 - "$work/curl.json" "$round" "$results" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
with open(sys.argv[3], "a") as out:
    for r in results:
        print(f"round {sys.argv[2]}  curl process    {r['command']:<5}  median {r['median'] * 1000:6.2f} ms  (mean {r['mean'] * 1000:.2f} ± {r['stddev'] * 1000:.2f})")
        out.write(f"curl {r['command']} {r['median'] * 1000}\n")
PY
  # (b) sequential keep-alive requests on one connection
  for s in "${servers[@]}"; do
    line=$("$load" latency --socket "${sock[$s]}" --path "$path" --requests 20000 --warmup 2000)
    printf 'round %s  keep-alive      %-5s  %s\n' "$round" "$s" "$line"
    printf 'p50 %s %s\np99 %s %s\n' "$s" "$(field "$line" p50_us)" "$s" "$(field "$line" p99_us)" >>"$results"
  done
  # (c) 64 connections, back to back
  for s in "${servers[@]}"; do
    line=$("$load" throughput --socket "${sock[$s]}" --path "$path" --connections 64 --duration 5 --warmup-seconds 1)
    printf 'round %s  64 connections  %-5s  %s\n' "$round" "$s" "$line"
    printf 'rps %s %s\n' "$s" "$(field "$line" rps)" >>"$results"
  done
done
stop_pid "$nginx_pid"; nginx_pid=""
stop_pid "$agent_pid"; agent_pid=""

# RSS: a vault of 10,000 clients in one realm, 1,000 of them asked for a token once (each a
# request to the IdP), then once more (from the agent's memory).
"$release/cloak-bench-fixture" "$work/big.db" "$work/big.key" 10000 1 >/dev/null
CLOAK_VAULT="$work/big.db" CLOAK_KEY_FILE="$work/big.key" $cloak realm update realm0 --token-url "$(token_url realm0)" 2>/dev/null
for i in $(seq 0 999); do echo "/v1/tokens/realm0/client$i"; done >"$work/paths-1000"
start_agent "$work/big.db" "$work/big.key" "$work/run/big.sock"
rss_idle=$(rss "$agent_pid" VmRSS)
first=$("$load" sweep --socket "$work/run/big.sock" --paths-file "$work/paths-1000" --connections 8)
again=$("$load" sweep --socket "$work/run/big.sock" --paths-file "$work/paths-1000" --connections 8)
rss_now=$(rss "$agent_pid" VmRSS)
rss_peak=$(rss "$agent_pid" VmHWM)
kept=$(curl -s --unix-socket "$work/run/big.sock" http://x/v1/health | python3 -c 'import json,sys; print(json.load(sys.stdin)["tokens_kept_fresh"])')
printf '\n10,000 clients: agent VmRSS %s MiB after start\n  1,000 tokens:    %s\n  the same again:  %s\n' "$rss_idle" "$first" "$again"
printf '  agent VmRSS %s MiB, VmHWM (peak) %s MiB, %s tokens kept fresh\n' "$rss_now" "$rss_peak" "$kept"
printf 'rss agent %s\nhwm agent %s\n' "$rss_now" "$rss_peak" >>"$results"
stop_pid "$agent_pid"; agent_pid=""

# Background renewal: 20 tokens of a 6 s life, asked for (min_ttl=1) every 100 ms for 20 s (3+
# lifetimes) after one warm-up round that fetches them; no answer may come from the IdP.
for i in $(seq 0 19); do echo "/v1/tokens/short/svc-$i?min_ttl=1"; done >"$work/paths-short"
start_agent "$work/vault.db" "$work/key" "$work/run/refresh.sock"
warm=$("$load" sweep --socket "$work/run/refresh.sock" --paths-file "$work/paths-short")
steady=$("$load" sweep --socket "$work/run/refresh.sock" --paths-file "$work/paths-short" --rounds 200 --interval 0.1)
health=$(curl -s --unix-socket "$work/run/refresh.sock" http://x/v1/health)
printf '\n6 s tokens:\n  warm-up:     %s\n  20 s after:  %s\n  agent health: %s\n' "$warm" "$steady" \
  "$(python3 -c 'import json,sys; h=json.loads(sys.argv[1]); print(", ".join(f"{k} {h[k]}" for k in ("tokens_kept_fresh", "renewals", "renewal_failures")))' "$health")"
printf 'idp agent %s\nidp_of agent %s\nrenewals agent %s\n' "$(field "$steady" source_idp)" "$(field "$steady" requests)" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["renewals"])' "$health")" >>"$results"
stop_pid "$agent_pid"; agent_pid=""

python3 - "$results" "$rounds" <<'PY'
import collections, statistics, sys
values = collections.defaultdict(list)
for line in open(sys.argv[1]):
    row, server, value = line.split()
    values[(row, server)].append(float(value))
med = lambda row, server: statistics.median(values[(row, server)])
rounds = lambda row, server: ", ".join(f"{v:.0f}" if row == "rps" else f"{v:.2f}" if row == "curl" else f"{v:.1f}" for v in values[(row, server)])
def verdict(ok): return "met" if ok else "MISSED"
rows = []
a, n = med("curl", "agent"), med("curl", "nginx")
rows.append(("one token, whole curl process, median ms", f"{a:.2f}", f"{n:.2f}", f"{a / n:.2f}×", "≤ 1.3×", verdict(a / n <= 1.3)))
a, n = med("p50", "agent"), med("p50", "nginx")
rows.append(("keep-alive, one connection: p50 µs", f"{a:.1f}", f"{n:.1f}", f"{a / n:.2f}×", "≤ 2×", verdict(a / n <= 2)))
a, n = med("p99", "agent"), med("p99", "nginx")
rows.append(("keep-alive, one connection: p99 µs", f"{a:.1f}", f"{n:.1f}", f"{a / n:.2f}×", "< 2000 µs", verdict(a < 2000)))
a, n = med("rps", "agent"), med("rps", "nginx")
rows.append(("64 connections: requests/s", f"{a:.0f}", f"{n:.0f}", f"{a / n:.2f}×", "≥ 0.5×", verdict(a / n >= 0.5)))
r, h = med("rss", "agent"), med("hwm", "agent")
rows.append(("agent RSS, 10,000 clients, 1,000 tokens, MiB", f"{r:.1f} (peak {h:.1f})", "-", "-", "< 48 MiB", verdict(r < 48)))
i, of, ren = med("idp", "agent"), med("idp_of", "agent"), med("renewals", "agent")
rows.append((f'"source": "idp" after warm-up ({ren:.0f} renewals)', f"{i:.0f} of {of:.0f}", "-", "-", "0", verdict(i == 0)))
print(f"\nthe first four rows: medians of {sys.argv[2]} interleaved round(s); per round:")
for s in ("agent", "nginx"):
    print(f"  {s:<5}  curl {rounds('curl', s)} ms;  p50 {rounds('p50', s)} µs;  p99 {rounds('p99', s)} µs;  {rounds('rps', s)} requests/s")
ratios = lambda row: ", ".join(f"{a / n:.2f}" for a, n in zip(values[(row, "agent")], values[(row, "nginx")]))
print(f"  ratio  curl {ratios('curl')};  p50 {ratios('p50')};  p99 {ratios('p99')};  requests/s {ratios('rps')}")
print()
header = ("measure", "agent", "nginx static", "ratio", "required", "")
widths = [max(len(str(r[c])) for r in rows + [header]) for c in range(6)]
for r in [header, tuple("-" * w for w in widths)] + rows:
    print("| " + " | ".join(str(v).ljust(w) for v, w in zip(r, widths)) + " |")
PY
