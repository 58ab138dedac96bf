#!/usr/bin/env bash
# A team vault under load, with one throwaway PostgreSQL (scripts/lib/postgres.sh) and one release
# cloak-idp on 127.0.0.1 (cloak release, fully static, as it ships):
# 1. single flight across hosts: 3 `cloak agent`s ("hosts": each its own HOME and socket) on one
#    vault, 100 concurrent consumers each (curl on the agent's socket) asking at once for a token
#    whose cached copy has expired: how many requests the IdP gets (must be exactly 1);
# 2. scheduled rotation, side by side in one run: 1,000 clients (10 realms of 100,
# plus each realm's admin client) rotated by the schedule of 3 `cloak agent`s sharing the vault
# ("hosts": each its own HOME and socket), and by 1 agent, on two identical schemas of one
# throwaway PostgreSQL (scripts/lib/postgres.sh), against one release cloak-idp on 127.0.0.1.
# Each agent runs with the defaults (4 rotations at once, 2 per realm) and looks at the schedule
# every second. Reported per run: wall time from the agents' start until every client's current
# secret is version 2 with no rotation open, rotations/s, and the clients rotated more than once
# (a current version above 2), which must be 0.
# IDP_LATENCY_MS=N adds N ms to every IdP request (a Keycloak across a network, not on loopback).
# EVERY_MINUTES=N (default 2): the schedule; each run must end within it (see setup below).
# Usage: [IDP_LATENCY_MS=N] [EVERY_MINUTES=N] scripts/bench-team-vault.sh [CLIENTS_PER_REALM] [REALMS]
set -euo pipefail
cd "$(dirname "$0")/.."
per_realm=${1:-100}
realms=${2:-10}
latency=${IDP_LATENCY_MS:-0}
every=${EVERY_MINUTES:-2}
scripts/bootstrap.sh
swift build -c release --static-swift-stdlib --product cloak-idp --scratch-path .build-static >/dev/null
build=(-c release --product cloak -Xswiftc -static-executable --scratch-path .build-static-exe-pg --traits PostgreSQL)
swift build "${build[@]}" >/dev/null 2>&1 || swift build "${build[@]}"
cloak="$(swift build "${build[@]}" --show-bin-path)/cloak"

. scripts/lib/idp.sh
. scripts/lib/postgres.sh
work=$(mktemp -d)
agents=()
stop_agents() {
  local pid
  for pid in "${agents[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${agents[@]}"; do wait "$pid" 2>/dev/null || true; done
  agents=()
}
trap 'stop_agents; stop_idp; stop_postgres; rm -rf "$work"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
umask 077

python3 - "$work/idp.json" "$per_realm" "$realms" <<'PY'
import json, sys
path, per_realm, realms = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Realms a0… for the 3-agent run and b0… for the 1-agent run: each run rotates its own realms'
# admin clients, so neither may share them.
config = {"realms": [{"realm": f"{run}{r}", "clients":
    [{"clientId": "bench-admin", "secret": "fake-bench-admin",
      "serviceAccountRoles": {"clients": {"realm-management": ["manage-clients"]}}}] +
    [{"clientId": f"svc-{c}", "secret": f"fake-bench-{c}"} for c in range(per_realm)]} for run in "ab" for r in range(realms)] +
    [{"realm": "short", "accessTokenLifespan": 10, "clients": [{"clientId": "short-svc", "secret": "fake-short-secret"}]}]}
json.dump(config, open(path, "w"))
PY
start_idp .build-static/release/cloak-idp "$work/idp.json"
if [ "$latency" -gt 0 ]; then
  curl -sf -XPOST -H 'Content-Type: application/json' -d "{\"fault\":\"latency\",\"delay_ms\":$latency}" \
    "$IDP_URL/_cloak-idp/faults" >/dev/null
fi
start_postgres
export PGPASSFILE="$CLOAK_TEST_PGPASSFILE"
server="$CLOAK_TEST_POSTGRES?sslmode=verify-full&sslrootcert=$CLOAK_TEST_POSTGRES_CA"
sql() { psql -X -q -At -h "$CLOAK_TEST_POSTGRES_SOCKET" -p "$CLOAK_TEST_POSTGRES_PORT" -U postgres -d cloak -c "$1"; }

# Two identical vaults, one per run, made with an EVERY_MINUTES schedule (the shortest is 1
# minute): every client is due that long after it was stored, and a run must end before its
# first rotations are due again (else they would be rotated twice, and counted below).
setup() {  # setup SCHEMA REALM_PREFIX
  local vault=(--vault "$server&schema=$1" --key-file "$work/key") realm
  $cloak init "${vault[@]}" >/dev/null 2>&1
  for r in $(seq 0 $((realms - 1))); do
    realm=$2$r
    $cloak realm add "$realm" --token-url "$IDP_URL/realms/$realm/protocol/openid-connect/token" "${vault[@]}" 2>/dev/null
    printf 'fake-bench-admin' | $cloak client add "$realm/admin" --client-id bench-admin --secret-stdin --no-verify "${vault[@]}" 2>/dev/null
    $cloak realm update "$realm" --admin-client "$realm/admin" --rotate-every "${every}m" "${vault[@]}" 2>/dev/null
    for c in $(seq 0 $((per_realm - 1))); do
      printf 'fake-bench-%s' "$c" | $cloak client add "$realm/svc-$c" --client-id "svc-$c" --secret-stdin --no-verify "${vault[@]}" 2>/dev/null
    done
  done
}
# 1. Single flight: realm "short" issues 10-second tokens; one is fetched and cached, then left
# to expire, then 300 consumers ask at once (with min_ttl=1: the default, 30 s, is longer than
# these tokens live, so each would go to the IdP; see issue 13).
single_flight() {
  local vault=(--vault "$server&schema=flight" --key-file "$work/key") i pids=() codes
  $cloak init "${vault[@]}" >/dev/null 2>&1
  $cloak realm add short --token-url "$IDP_URL/realms/short/protocol/openid-connect/token" "${vault[@]}" 2>/dev/null
  printf 'fake-short-secret' | $cloak client add short/svc --client-id short-svc --secret-stdin --no-verify "${vault[@]}" 2>/dev/null
  $cloak token short/svc "${vault[@]}" >/dev/null
  for i in 1 2 3; do
    mkdir -p "$work/flight-host$i"
    HOME="$work/flight-host$i" $cloak agent "${vault[@]}" --socket "$work/flight-host$i/agent.sock" --no-rotate \
      2>"$work/flight-host$i/agent.log" &
    agents+=($!)
  done
  for i in 1 2 3; do
    for _ in $(seq 100); do [ -S "$work/flight-host$i/agent.sock" ] && break; sleep 0.1; done
  done
  sleep 11  # the cached token expires
  curl -s -XDELETE "$IDP_URL/_cloak-idp/stats" >/dev/null
  for i in 1 2 3; do
    seq 100 | xargs -P 100 -I{} curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$work/flight-host$i/agent.sock" \
      'http://agent/v1/tokens/short/svc?min_ttl=1' >"$work/flight-codes$i" &
    pids+=($!)
  done
  wait "${pids[@]}"
  codes=$(cat "$work"/flight-codes? | sort | uniq -c | tr -s ' ' | tr '\n' ';')
  stop_agents
  printf '1. 3 hosts x 100 concurrent consumers on one expired token: %s IdP token request(s); answers: %s\n' \
    "$(curl -s "$IDP_URL/_cloak-idp/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_route"].get("token", 0))')" "$codes"
}
single_flight

total=$((realms * (per_realm + 1)))
printf '\n2. storing %d clients twice (schemas three and one) in PostgreSQL at 127.0.0.1:%s\n' "$total" "$CLOAK_TEST_POSTGRES_PORT"
setup three a
setup one b
stored=$(date +%s)

run() {  # run SCHEMA AGENTS
  local schema=$1 count=$2 i start end current open twice
  curl -s -XDELETE "$IDP_URL/_cloak-idp/stats" >/dev/null
  start=$(date +%s.%N)
  for i in $(seq "$count"); do
    mkdir -p "$work/$schema-host$i"
    HOME="$work/$schema-host$i" $cloak agent --vault "$server&schema=$schema" --key-file "$work/key" \
      --socket "$work/$schema-host$i/agent.sock" --schedule-check 1 2>"$work/$schema-host$i/agent.log" &
    agents+=($!)
  done
  # Progress is polled on one psql session (a new psql every poll would cost the server a
  # backend each time, CPU the agents being measured share).
  coproc POLL { psql -X -q -At -F ' ' -h "$CLOAK_TEST_POSTGRES_SOCKET" -p "$CLOAK_TEST_POSTGRES_PORT" -U postgres -d cloak; }
  while :; do
    printf "SELECT (SELECT count(*) FROM %s.secret_versions WHERE state = 'current' AND version >= 2), (SELECT count(*) FROM %s.rotations WHERE state IN ('prepared', 'pushed'));\n" \
      "$schema" "$schema" >&"${POLL[1]}"
    read -r current open <&"${POLL[0]}"
    [ "$current" -ge "$total" ] && [ "$open" -eq 0 ] && break
    if (($(date +%s) - ${start%.*} > 600)); then echo "$schema: only $current of $total rotated after 10 minutes" >&2; exit 1; fi
    sleep 0.2
  done
  end=$(date +%s.%N)
  eval "exec ${POLL[1]}>&-"
  wait "$POLL_PID" 2>/dev/null || true
  stop_agents
  twice=$(sql "SELECT count(*) FROM $schema.secret_versions WHERE state = 'current' AND version > 2")
  requests=$(curl -s "$IDP_URL/_cloak-idp/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  python3 - "$count" "$start" "$end" "$total" "$twice" "$requests" "$work/results" <<'PY'
import sys
count, start, end, total, twice, requests, results = sys.argv[1:]
wall = float(end) - float(start)
print(f"{count} agent{'s' if count != '1' else ' '}  {wall:8.2f} s  {int(total) / wall:8.1f} rotations/s  {int(requests):6d} IdP requests  rotated twice: {twice}")
open(results, "a").write(f"{count} {wall}\n")
PY
}

wait_due=$((stored + every * 60 + 1 - $(date +%s)))
if ((wait_due > 0)); then echo "waiting ${wait_due} s until every client is due"; sleep "$wait_due"; fi
printf '\nIdP latency added: %s ms\n' "$latency"
run three 3
run one 1
python3 - "$work/results" <<'PY'
import sys
walls = dict(line.split() for line in open(sys.argv[1]))
print(f"\n3 agents vs 1: {float(walls['1']) / float(walls['3']):.2f}x faster")
PY
