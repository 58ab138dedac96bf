#!/usr/bin/env bash
# What `client add`'s check with the IdP costs: N adds with the check and N with --no-verify,
# interleaved, against cloak-idp on loopback, on one SQLite vault; medians in milliseconds.
# Usage: scripts/bench-client-add.sh [ROUNDS] [BIN_DIR]   (BIN_DIR: release cloak and cloak-idp,
# default .build-install/release, which scripts/install.sh builds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-30}
bin=${2:-.build-install/release}
. scripts/lib/idp.sh
work=$(mktemp -d)
trap 'stop_idp; rm -rf "$work"' EXIT
printf '{"realms":[{"realm":"bench","clients":[{"clientId":"bench-svc","secret":"fake-bench-secret"}]}]}\n' >"$work/idp.json"
start_idp "$bin/cloak-idp" "$work/idp.json"
export CLOAK_VAULT="$work/vault.db" CLOAK_KEY_FILE="$work/vault.key"
"$bin/cloak" init 2>/dev/null
"$bin/cloak" realm add bench --token-url "$IDP_URL/realms/bench/protocol/openid-connect/token" 2>/dev/null
ms() { echo $(( $(date +%s%N) / 1000000 )); }
: >"$work/verified"; : >"$work/unverified"
for i in $(seq "$rounds"); do
  for kind in verified unverified; do
    flag=(); [ "$kind" = unverified ] && flag=(--no-verify)
    start=$(ms)
    printf 'fake-bench-secret' | "$bin/cloak" client add "bench/$kind-$i" --client-id bench-svc --secret-stdin "${flag[@]}" 2>/dev/null
    echo $(( $(ms) - start )) >>"$work/$kind"
  done
done
median() { sort -n "$1" | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "client add, median of $rounds: checked with the IdP $(median "$work/verified") ms, --no-verify $(median "$work/unverified") ms"
