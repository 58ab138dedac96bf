#!/usr/bin/env bash
# Whole-process cost of reading a vault, side by side in one run:
#   sqlite3 VAULT 'select 1'   (the floor: a process that opens the same SQLite file)
#   cloak client list / show    (release build; dynamic and --static-swift-stdlib)
# on a vault of 10 clients and one of 10,000 clients in 50 realms, plus peak RSS.
# Usage: scripts/bench-vault.sh [CLIENTS]   (default 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
command -v hyperfine >/dev/null || { apt-get install -y -qq hyperfine >/dev/null 2>&1 || true; }
command -v hyperfine >/dev/null || { echo "bench-vault: needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

large=${1:-10000}
swift build -c release --product cloak >/dev/null
swift build -c release --product cloak-bench-fixture >/dev/null
swift build -c release --static-swift-stdlib --product cloak --scratch-path .build-static >/dev/null
dynamic=.build/release/cloak
static=.build-static/release/cloak

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "creating vaults of 10 and $large clients…" >&2
start=$(date +%s.%N)
.build/release/cloak-bench-fixture "$work/small.db" "$work/small.key" 10 1
.build/release/cloak-bench-fixture "$work/large.db" "$work/large.key" "$large" 50
end=$(date +%s.%N)
printf 'fixture: %s clients added one transaction each in %.1f s; vault of %s clients = %s bytes\n' \
  "$((large + 10))" "$(echo "$end - $start" | bc)" "$large" "$(stat -c %s "$work/large.db")"

hyperfine -N --warmup 5 --runs 60 --export-markdown "$work/small.md" \
  -n "sqlite3 'select 1'" "sqlite3 $work/small.db 'select 1'" \
  -n "cloak client list (10)" "$dynamic client list --vault $work/small.db" \
  -n "cloak client list (10, static)" "$static client list --vault $work/small.db" \
  -n "cloak client show (10, static)" "$static client show realm0/client3 --vault $work/small.db" \
  -n "cloak client show ($large, static)" "$static client show realm7/client7 --vault $work/large.db"
hyperfine -N --warmup 2 --runs 15 --export-markdown "$work/large.md" \
  -n "sqlite3 'select 1' ($large)" "sqlite3 $work/large.db 'select 1'" \
  -n "cloak client list --json ($large, static)" "$static client list --json --vault $work/large.db" \
  -n "cloak client list ($large, static)" "$static client list --vault $work/large.db"
cat "$work/small.md" "$work/large.md"

peak() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1 | awk '{ printf "%.1f MiB", $1 / 1024 }'; }
[ -x /usr/bin/time ] || apt-get install -y -qq time >/dev/null 2>&1 || true
echo "peak RSS: sqlite3 select 1: $(peak sqlite3 "$work/small.db" 'select 1');" \
  "cloak client list (10, static): $(peak $static client list --vault "$work/small.db");" \
  "cloak client list --json ($large, static): $(peak $static client list --json --vault "$work/large.db")"
