#!/usr/bin/env bash
# libFuzzer runs of the harnesses in Sources/Cloakroom/Fuzzing (see Fuzz/README.md). Too slow
# for CI: CI replays the committed corpora instead (FuzzCorpusTests).
#
# Usage: scripts/fuzz.sh [HARNESS|all] [SECONDS|-runs=N] [RUNS]     (default: all, 600 seconds each)
#   HARNESS: dotenv, bundle, oauth, validation
#   SECONDS and RUNS together: stop at whichever comes first (issue 9 asks for 10 M runs or an hour:
#   `scripts/fuzz.sh all 3600 10000000`).
#
# Per harness, one process at a time (the machine is shared): fuzz from Fuzz/corpus/HARNESS and
# Fuzz/regressions/HARNESS, then merge (-merge=1) what was found back into Fuzz/corpus/HARNESS so
# the committed corpus stays minimal. Crashes and violated invariants are saved to
# Fuzz/crashes/HARNESS/ (not committed): minimise one (`-minimize_crash=1`), keep it in
# Fuzz/regressions/HARNESS/, fix the library, and FuzzCorpusTests replays it from then on.
#
# CLOAK_FUZZ_SET_ASIDE=PREFIX (passed through) lets a run go on past known violations whose
# message starts with PREFIX, e.g. '[issue 9 item 3]' on a branch without that fix.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(dotenv bundle oauth validation)
which=${1:-all}
budget=${2:-600}
runs=${3:-}
if [ "$which" = all ]; then harnesses=("${all[@]}"); else harnesses=("$which"); fi
case "$budget" in
  -runs=*) limit=("$budget") ;;
  *[!0-9]*|'') echo "fuzz.sh: SECONDS must be a number, or -runs=N" >&2; exit 2 ;;
  *) limit=(-max_total_time="$budget") ;;
esac
case "$runs" in
  '') ;;
  *[!0-9]*) echo "fuzz.sh: RUNS must be a number" >&2; exit 2 ;;
  *) limit+=(-runs="$runs") ;;
esac

# The sanitizer flags reach every Swift module of the product (that is where coverage comes from);
# -DFUZZING makes cloak-fuzz run libFuzzer's driver instead of replaying files. lld, because gold
# aborts ("internal error in format_file_lineno") linking the sanitized build-tool MigrationEmbedder.
build=(swift build --product cloak-fuzz -c release --scratch-path .build-fuzz
       -Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xswiftc -use-ld=lld)
"${build[@]}" >&2
fuzzer="$("${build[@]}" --show-bin-path)/cloak-fuzz"

# Swift's runtime keeps caches for the life of the process: not leaks.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0}
# Swift's backtracer would catch the trap first and can take minutes per crash; libFuzzer saves the input.
export SWIFT_BACKTRACE=enable=no
status=0
for harness in "${harnesses[@]}"; do
  corpus=Fuzz/corpus/$harness
  mkdir -p "$corpus" "Fuzz/regressions/$harness" "Fuzz/crashes/$harness"
  work=$(mktemp -d)
  mkdir "$work/new" "$work/merged"
  echo "== $harness: ${limit[*]}" >&2
  fuzz_status=0
  CLOAK_FUZZ_HARNESS=$harness "$fuzzer" "${limit[@]}" -timeout=20 -print_final_stats=1 \
    -artifact_prefix="Fuzz/crashes/$harness/" \
    "$work/new" "$corpus" "Fuzz/regressions/$harness" 2>"$work/log" || fuzz_status=$?
  grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)|^==[0-9]+==|Fatal error|invariant violated|Test unit written' "$work/log" >&2 || true
  if [ "$fuzz_status" -ne 0 ]; then
    echo "$harness: the fuzzer stopped with status $fuzz_status; see Fuzz/crashes/$harness/ (log: $work/log)" >&2
    status=1
  fi
  CLOAK_FUZZ_HARNESS=$harness "$fuzzer" -merge=1 "$work/merged" "$corpus" "$work/new" 2>"$work/merge.log" \
    || { echo "$harness: merge failed (log: $work/merge.log)" >&2; status=1; continue; }
  rm -f "$corpus"/*
  cp "$work/merged"/* "$corpus"/ 2>/dev/null || true
  echo "$harness: corpus $(ls "$corpus" | wc -l) files, $(du -sb "$corpus" | cut -f1) bytes" >&2
  [ "$fuzz_status" -ne 0 ] || rm -rf "$work"
done
exit $status
