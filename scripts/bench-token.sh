#!/usr/bin/env bash
# Tokens, side by side in one run, against a release cloak-idp on 127.0.0.1:
#   cached `cloak token` (whole process, key file) vs `sqlite3 VAULT 'select 1'`: the cloak that
#   ships (a fully static executable) and the same code with only a static Swift stdlib (a PIE
#   the dynamic loader must relocate: what shipped up to issue 10)
#   `cloak token --refresh` (a real request to the IdP) vs curl making the same request
#   the same cached token on a vault of 100,000 clients
#   peak RSS of the cached path, and an in-process cache hit through the library
# The "one request per expiry" figures come from the tests (TokenTests, BrokerTests), which read
# cloak-idp's counters.  Usage: scripts/bench-token.sh [BASELINE-REV]
# With BASELINE-REV (e.g. ff98e49), that commit's cloak is built too (in the worktree
# .build-baseline-src, scratch path .build-baseline) and its cached token is timed in the same hyperfine run, on a
# vault of its own making: the side-by-side "no slower than before" check.
set -euo pipefail
cd "$(dirname "$0")/.."
baseline_rev=${1:-}
scripts/bootstrap.sh
command -v hyperfine >/dev/null || apt-get install -y -qq hyperfine >/dev/null 2>&1 || true
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null 2>&1 || true
# Everything from one static release build of its own, so a debug build in .build can go on meanwhile.
for product in cloak-idp cloak-bench-fixture cloak; do
  swift build -c release --static-swift-stdlib --product $product --scratch-path .build-static >/dev/null
done
release=.build-static/release
pie=$release/cloak
static=(-c release --product cloak -Xswiftc -static-executable --scratch-path .build-static-exe)
swift build "${static[@]}" >/dev/null 2>&1 || swift build "${static[@]}"
cloak="$(swift build "${static[@]}" --show-bin-path)/cloak"
baseline=""
if [ -n "$baseline_rev" ]; then
  # A worktree that stays (ignored, like every .build-*), so a second run builds incrementally.
  tree="$PWD/.build-baseline-src"
  if [ -d "$tree" ]; then git -C "$tree" checkout -q --detach "$baseline_rev"; else git worktree add -q --detach "$tree" "$baseline_rev"; fi
  swift build --package-path "$tree" -c release --static-swift-stdlib --product cloak --scratch-path "$PWD/.build-baseline" >/dev/null
  baseline=.build-baseline/release/cloak
fi

. scripts/lib/idp.sh
work=$(mktemp -d)
trap 'stop_idp; rm -rf "$work"' EXIT
umask 077
start_bench_idp "$release/cloak-idp" "$work"
token_url="$IDP_URL/realms/bench/protocol/openid-connect/token"

export CLOAK_VAULT="$work/vault.db" CLOAK_KEY_FILE="$work/key"
$cloak init 2>/dev/null
$cloak realm add bench --token-url "$token_url" 2>/dev/null
printf 'fake-bench-secret' | $cloak client add bench/svc --client-id bench-svc --secret-stdin --no-verify 2>/dev/null
$cloak token bench/svc >/dev/null

"$release/cloak-bench-fixture" "$work/large.db" "$work/large.key" 100000 100
CLOAK_VAULT="$work/large.db" CLOAK_KEY_FILE="$work/large.key" $cloak realm add bench --token-url "$token_url" 2>/dev/null
printf 'fake-bench-secret' | CLOAK_VAULT="$work/large.db" CLOAK_KEY_FILE="$work/large.key" $cloak client add bench/svc --client-id bench-svc --secret-stdin --no-verify 2>/dev/null
CLOAK_VAULT="$work/large.db" CLOAK_KEY_FILE="$work/large.key" $cloak token bench/svc >/dev/null

baseline_runs=()
if [ -n "$baseline" ]; then
  CLOAK_VAULT="$work/base.db" CLOAK_KEY_FILE="$work/base.key" $baseline init 2>/dev/null
  CLOAK_VAULT="$work/base.db" CLOAK_KEY_FILE="$work/base.key" $baseline realm add bench --token-url "$token_url" 2>/dev/null
  printf 'fake-bench-secret' | CLOAK_VAULT="$work/base.db" CLOAK_KEY_FILE="$work/base.key" $baseline client add bench/svc --client-id bench-svc --secret-stdin 2>/dev/null
  CLOAK_VAULT="$work/base.db" CLOAK_KEY_FILE="$work/base.key" $baseline token bench/svc >/dev/null
  baseline_runs=(-n "cloak token (cached, 2 clients) at $baseline_rev" "$baseline token bench/svc --vault $work/base.db --key-file $work/base.key")
fi

printf 'grant_type=client_credentials&client_id=bench-svc&client_secret=fake-bench-secret' >"$work/form"
hyperfine -N --warmup 10 --runs 100 --export-markdown "$work/cached.md" \
  -n "sqlite3 VAULT 'select 1'" "sqlite3 $work/vault.db 'select 1'" \
  "${baseline_runs[@]}" \
  -n "cloak token (cached, 2 clients)" "$cloak token bench/svc --vault $work/vault.db --key-file $work/key" \
  -n "cloak token (cached, 2 clients), PIE with static stdlib" "$pie token bench/svc --vault $work/vault.db --key-file $work/key" \
  -n "cloak token (cached, 100,002 clients)" "$cloak token bench/svc --vault $work/large.db --key-file $work/large.key"
hyperfine -N --warmup 3 --runs 40 --export-markdown "$work/miss.md" \
  -n "curl (the same token request)" "curl -s -o /dev/null -d @$work/form $token_url" \
  -n "cloak token --refresh" "$cloak token bench/svc --refresh --vault $work/vault.db --key-file $work/key"
cat "$work/cached.md" "$work/miss.md"
# The budget is a ratio to sqlite3; alternating the two gives it without hyperfine's batch drift.
python3 scripts/lib/interleave.py 300 \
  "sqlite3 VAULT 'select 1'" "sqlite3 $work/vault.db 'select 1'" \
  "cloak token (cached)" "$cloak token bench/svc --vault $work/vault.db --key-file $work/key"
python3 scripts/lib/interleave.py 300 \
  "cloak token (cached), PIE + static stdlib" "$pie token bench/svc --vault $work/vault.db --key-file $work/key" \
  "cloak token (cached), static executable" "$cloak token bench/svc --vault $work/vault.db --key-file $work/key"
if [ -n "$baseline" ]; then
  # hyperfine runs one command's runs, then the other's; alternating them spreads drift evenly.
  python3 scripts/lib/interleave.py 300 \
    "cloak token (cached) at $baseline_rev" "$baseline token bench/svc --vault $work/base.db --key-file $work/base.key" \
    "cloak token (cached) now" "$cloak token bench/svc --vault $work/vault.db --key-file $work/key"
fi
printf 'peak RSS: sqlite3 %s KiB; cloak token (cached) %s KiB; cloak token --refresh %s KiB\n' \
  "$(/usr/bin/time -f %M sqlite3 "$work/vault.db" 'select 1' 2>&1 >/dev/null | tail -1)" \
  "$(/usr/bin/time -f %M $cloak token bench/svc 2>&1 >/dev/null | tail -1)" \
  "$(/usr/bin/time -f %M $cloak token bench/svc --refresh 2>&1 >/dev/null | tail -1)"
"$release/cloak-bench-fixture" hit "$work/vault.db" "$work/key" bench/svc 200000
