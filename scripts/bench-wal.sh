#!/usr/bin/env bash
# A vault that has lived, side by side in one run: each build makes its own vault of one client,
# fetches N tokens from a release cloak-idp on 127.0.0.1 (`cloak token --refresh`: one
# process and one write each, as a day of cron jobs and cache misses would), then times a
# cached `cloak token` on it (hyperfine), and reports the size of its `-wal` file.
# Up to stop 26 every command's write was appended to a WAL that never restarted (SQLite's
# recovery, run by the first process to open the vault, forgets what was already copied into
# the main file), and every command's open read all of it again.
# Usage: BASELINE=PATH scripts/bench-wal.sh [REFRESHES]   (default 1000; BASELINE: another cloak,
# say a release build of main kept aside; without it only this build is measured)
set -euo pipefail
cd "$(dirname "$0")/.."
refreshes=${1:-1000}
scripts/bootstrap.sh
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
swift build -c release --product cloak-idp >/dev/null
swift build -c release --product cloak >/dev/null
release="$(swift build -c release --show-bin-path)"

. scripts/lib/idp.sh
work=$(mktemp -d)
trap 'stop_idp; rm -rf "$work"' EXIT
umask 077
start_bench_idp "$release/cloak-idp" "$work"

builds=(this "$release/cloak")
[ -z "${BASELINE:-}" ] || builds+=(baseline "$BASELINE")
runs=()
for ((i = 0; i < ${#builds[@]}; i += 2)); do
  name=${builds[i]} cloak=${builds[i + 1]}
  export CLOAK_VAULT="$work/$name/vault.db" CLOAK_KEY_FILE="$work/$name/key"
  mkdir -p "$work/$name"
  $cloak init 2>/dev/null
  $cloak realm add bench --token-url "$IDP_URL/realms/bench/protocol/openid-connect/token" 2>/dev/null
  printf 'fake-bench-secret' | $cloak client add bench/svc --client-id bench-svc --secret-stdin --no-verify 2>/dev/null
  start=$(date +%s.%N)
  for _ in $(seq "$refreshes"); do $cloak token bench/svc --refresh >/dev/null; done
  end=$(date +%s.%N)
  printf '%-9s %d refreshes in %.1f s; vault.db %s bytes, vault.db-wal %s bytes\n' "$name" "$refreshes" \
    "$(echo "$end - $start" | bc)" "$(stat -c %s "$CLOAK_VAULT")" "$(stat -c %s "$CLOAK_VAULT-wal" 2>/dev/null || echo 0)"
  runs+=(-n "cached token, $name" "$cloak token bench/svc --vault $CLOAK_VAULT --key-file $CLOAK_KEY_FILE")
done
hyperfine -N --warmup 10 --runs 200 "${runs[@]}"
