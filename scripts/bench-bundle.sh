#!/usr/bin/env bash
# Sealed bundles, whole processes of a release-built cloak, timed with hyperfine:
#   cloak export of CLIENTS clients in 50 realms (bundle key file)
#   cloak import bundle of them into an empty vault (bundle key file; and a passphrase at the
#     default Argon2id cost, to show what the KDF adds)
#   cloak client list --json over the CLIENTS clients the import wrote
# plus the bundle's size and the import's peak RSS.
# Usage: scripts/bench-bundle.sh [CLIENTS]   (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null 2>&1 || true; }
command -v hyperfine >/dev/null || { echo "bench-bundle: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null 2>&1 || true

clients=${1:-10000}
swift build -c release --product cloak >/dev/null
swift build -c release --product cloak-bench-fixture >/dev/null
cloak=$PWD/.build/release/cloak

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "creating a vault of $clients clients in 50 realms…" >&2
.build/release/cloak-bench-fixture "$work/source.db" "$work/source.key" "$clients" 50
source=(--vault "$work/source.db" --key-file "$work/source.key")
"$cloak" export "$work/all.bundle" "${source[@]}" --bundle-key-file "$work/bundle.key"
printf 'correct horse battery staple\n' > "$work/passphrase"
"$cloak" export "$work/all-passphrase.bundle" "${source[@]}" --bundle-passphrase-fd 3 3<"$work/passphrase"
"$cloak" init --vault "$work/empty.db" --key-file "$work/target.key" 2>/dev/null
echo "bundle of $clients clients: $(stat -c %s "$work/all.bundle") bytes (vault: $(stat -c %s "$work/source.db") bytes)"

# Each import starts from a copy of the same empty vault.
fresh="cp $work/empty.db $work/target.db && rm -f $work/target.db-wal $work/target.db-shm"
target="--vault $work/target.db --key-file $work/target.key"
hyperfine --warmup 1 --runs 10 --export-markdown "$work/bundle.md" \
  -n "cloak export ($clients clients, key file)" \
  --prepare "rm -f $work/out.bundle" "$cloak export $work/out.bundle ${source[*]} --bundle-key-file $work/bundle.key" \
  -n "cloak import bundle ($clients clients, key file)" \
  --prepare "$fresh" "$cloak import bundle $work/all.bundle $target --bundle-key-file $work/bundle.key --json >/dev/null" \
  -n "cloak import bundle ($clients clients, passphrase, moderate Argon2id)" \
  --prepare "$fresh" "$cloak import bundle $work/all-passphrase.bundle $target --bundle-passphrase-fd 3 3<$work/passphrase --json >/dev/null"

eval "$fresh"
"$cloak" import bundle "$work/all.bundle" $target --bundle-key-file "$work/bundle.key" >/dev/null 2>&1
hyperfine -N --warmup 2 --runs 15 --export-markdown "$work/list.md" \
  -n "sqlite3 'select 1'" "sqlite3 $work/target.db 'select 1'" \
  -n "cloak client list --json ($clients imported clients, 50 realms)" "$cloak client list --json --vault $work/target.db"
cat "$work/bundle.md" "$work/list.md"

eval "$fresh"
peak=$(/usr/bin/time -f '%M' "$cloak" import bundle "$work/all.bundle" $target --bundle-key-file "$work/bundle.key" 2>&1 >/dev/null | tail -n 1)
echo "peak RSS of cloak import bundle ($clients clients): $(awk -v k="$peak" 'BEGIN { printf "%.1f MiB", k / 1024 }')"
