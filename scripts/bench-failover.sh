#!/usr/bin/env bash
# Failover of a team vault, measured: a primary with a synchronous streaming standby on loopback
# (scripts/postgres-pair.sh), the vault reached by a two-host URL with
# target_session_attrs=read-write, and a cached token in it. The primary is killed (SIGKILL), the
# standby promoted at once (as a failover manager would, once it has decided), and a fresh
# `cloak token` process asks until one is served. Reported per round: the promotion, and the
# time from the kill to the first token served from the promoted standby (release cloak, fully
# static, as it ships).
# Usage: scripts/bench-failover.sh [ROUNDS]   (default 5; a new pair each round)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
scripts/bootstrap.sh
swift build -c release --static-swift-stdlib --product cloak-idp --scratch-path .build-static >/dev/null
build=(-c release --product cloak -Xswiftc -static-executable --scratch-path .build-static-exe-pg --traits PostgreSQL)
swift build "${build[@]}" >/dev/null 2>&1 || swift build "${build[@]}"
cloak="$(swift build "${build[@]}" --show-bin-path)/cloak"

. scripts/lib/idp.sh
work=$(mktemp -d)
chmod 0711 "$work"  # the servers' user must reach the pair's directory
trap 'scripts/postgres-pair.sh stop "$work/pair" 2>/dev/null || true; stop_idp; rm -rf "$work"' EXIT
umask 077
start_bench_idp .build-static/release/cloak-idp "$work"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

results=()
for round in $(seq "$rounds"); do
  rm -rf "$work/pair" "$work/key"
  mkdir -m 0711 "$work/pair"
  scripts/postgres-pair.sh start "$work/pair" 2>/dev/null
  # shellcheck source=/dev/null
  . "$work/pair/env"
  export PGPASSFILE=$PAIR_PGPASSFILE
  vault=(--vault "$PAIR_URL&sslmode=verify-full&sslrootcert=$PAIR_CA&schema=bench" --key-file "$work/key")
  $cloak init "${vault[@]}" >/dev/null 2>&1
  $cloak realm add bench --token-url "$IDP_URL/realms/bench/protocol/openid-connect/token" "${vault[@]}" 2>/dev/null
  printf 'fake-bench-secret' | $cloak client add bench/svc --client-id bench-svc --secret-stdin --no-verify "${vault[@]}" 2>/dev/null
  $cloak token bench/svc "${vault[@]}" >/dev/null
  killed=$(now_ms)
  scripts/postgres-pair.sh kill-primary "$work/pair"
  promote=$(scripts/postgres-pair.sh promote "$work/pair")
  tries=0
  until $cloak token bench/svc "${vault[@]}" >/dev/null 2>&1; do
    tries=$((tries + 1))
    ((tries < 1000)) || { echo "no token after 1000 tries" >&2; exit 1; }
  done
  served=$(now_ms)
  printf 'round %d: promotion %4d ms; kill → first token from the promoted standby %4d ms (%d failed tries before)\n' \
    "$round" "$promote" $((served - killed)) "$tries"
  results+=($((served - killed)))
  scripts/postgres-pair.sh stop "$work/pair"
done
printf '%s\n' "${results[@]}" | sort -n | awk '{a[NR]=$1} END {printf "median kill → first token: %d ms of %d rounds\n", a[int((NR+1)/2)], NR}'
