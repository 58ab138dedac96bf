#!/usr/bin/env bash
# The PostgreSQL trait, side by side in one run (release, fully static, as cloak ships):
#   what the trait costs the SQLite path: a cached `cloak token` on an SQLite vault by the cloak
#   built without the trait (the default) and with it, and `sqlite3 VAULT 'select 1'`;
#   a cached `cloak token` on a team vault vs `psql -Atc 'select 1'` against the same throwaway
#   server (scripts/lib/postgres.sh), both over TCP to 127.0.0.1 with TLS verified (verify-full)
#   and the same SCRAM password from the same password file;
#   peak RSS of each.
# Usage: scripts/bench-postgres.sh [RUNS]   (interleaved runs per pair, default 200)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}
scripts/bootstrap.sh
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null 2>&1 || true
swift build -c release --static-swift-stdlib --product cloak-idp --scratch-path .build-static >/dev/null
plain=(-c release --product cloak -Xswiftc -static-executable --scratch-path .build-static-exe)
traits=(-c release --product cloak -Xswiftc -static-executable --scratch-path .build-static-exe-pg --traits PostgreSQL)
swift build "${plain[@]}" >/dev/null 2>&1 || swift build "${plain[@]}"
swift build "${traits[@]}" >/dev/null 2>&1 || swift build "${traits[@]}"
cloak="$(swift build "${plain[@]}" --show-bin-path)/cloak"
cloak_pg="$(swift build "${traits[@]}" --show-bin-path)/cloak"
ls -l "$cloak" "$cloak_pg" | awk '{printf "%s: %.1f MiB\n", $NF, $5 / 1048576}'

. scripts/lib/idp.sh
. scripts/lib/postgres.sh
work=$(mktemp -d)
trap 'stop_idp; stop_postgres; rm -rf "$work"' EXIT
umask 077
start_bench_idp .build-static/release/cloak-idp "$work"
token_url="$IDP_URL/realms/bench/protocol/openid-connect/token"
start_postgres

# An SQLite vault, made by the default cloak.
sqlite=(--vault "$work/vault.db" --key-file "$work/key")
$cloak init "${sqlite[@]}" 2>/dev/null
$cloak realm add bench --token-url "$token_url" "${sqlite[@]}" 2>/dev/null
printf 'fake-bench-secret' | $cloak client add bench/svc --client-id bench-svc --secret-stdin --no-verify "${sqlite[@]}" 2>/dev/null
$cloak token bench/svc "${sqlite[@]}" >/dev/null

# A team vault on the throwaway server, as its owner role, over TCP with TLS verified.
export PGPASSFILE="$CLOAK_TEST_PGPASSFILE"
server="postgresql://cloak_owner@127.0.0.1:$CLOAK_TEST_POSTGRES_PORT/cloak?sslmode=verify-full&sslrootcert=$CLOAK_TEST_POSTGRES_CA"
team=(--vault "$server&schema=bench" --key-file "$work/team.key")
$cloak_pg init "${team[@]}" >/dev/null 2>&1
$cloak_pg realm add bench --token-url "$token_url" "${team[@]}" 2>/dev/null
printf 'fake-bench-secret' | $cloak_pg client add bench/svc --client-id bench-svc --secret-stdin --no-verify "${team[@]}" 2>/dev/null
$cloak_pg token bench/svc "${team[@]}" >/dev/null

hyperfine -N --warmup 10 --runs 100 \
  -n "sqlite3 VAULT 'select 1'" "sqlite3 $work/vault.db 'select 1'" \
  -n "cloak token (cached, SQLite), default build" "$cloak token bench/svc ${sqlite[*]}" \
  -n "cloak token (cached, SQLite), PostgreSQL trait" "$cloak_pg token bench/svc ${sqlite[*]}" \
  -n "psql -Atc 'select 1' (TCP, TLS, SCRAM)" "psql $server -Atc 'select 1'" \
  -n "cloak token (cached, team vault)" "$cloak_pg token bench/svc ${team[*]}"
# Alternating each pair spreads the machine's drift evenly over both.
python3 scripts/lib/interleave.py "$runs" \
  "cloak token, SQLite, default build" "$cloak token bench/svc ${sqlite[*]}" \
  "cloak token, SQLite, PostgreSQL trait" "$cloak_pg token bench/svc ${sqlite[*]}"
python3 scripts/lib/interleave.py "$runs" \
  "psql -Atc 'select 1'" "psql $server -Atc 'select 1'" \
  "cloak token, team vault" "$cloak_pg token bench/svc ${team[*]}"
rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
printf 'peak RSS (KiB): sqlite3 %s; cached token, SQLite, default %s, trait %s; psql %s; cached token, team vault %s\n' \
  "$(rss sqlite3 "$work/vault.db" 'select 1')" "$(rss $cloak token bench/svc "${sqlite[@]}")" \
  "$(rss $cloak_pg token bench/svc "${sqlite[@]}")" "$(rss psql "$server" -Atc 'select 1')" \
  "$(rss $cloak_pg token bench/svc "${team[@]}")"
