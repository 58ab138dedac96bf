#!/usr/bin/env bash
# Builds the library's DocC documentation (Sources/Cloakroom/Cloakroom.docc and the symbols' ///
# comments) with swift-docc-plugin, and prints how many warnings DocC gave.
#
#   scripts/docs.sh                 # → .build-docs/Cloakroom.doccarchive
#   scripts/docs.sh --static        # → .build-docs/site, a static website (open site/documentation/cloakroom/index.html
#                                   #   through a web server; the base path is /)
#
# The plugin is not a dependency of the package: CI, and everyone who only builds, would fetch
# and build it for nothing. So this script appends it to Package.swift for the length of one
# run and puts the original back from a copy outside the tree when it exits — on success, on
# failure and on Ctrl-C alike. Do not edit Package.swift while it runs.
#
# It builds in .build, beside `swift build`'s own products, so only the plugin and the symbol
# graph are new work (a scratch path of its own would rebuild every dependency: half an hour on
# two cores). The next `swift build` resolves the package without the plugin again.
# Environment: DOCS_OUT (output directory, default .build-docs), DOCC_PLUGIN_VERSION (default 1.5.0).
set -euo pipefail
cd "$(dirname "$0")/.."

static=false
case "${1:-}" in
  --static) static=true ;;
  "") ;;
  *) echo "usage: scripts/docs.sh [--static]" >&2; exit 2 ;;
esac

out="${DOCS_OUT:-.build-docs}"
version="${DOCC_PLUGIN_VERSION:-1.5.0}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

# The original Package.swift, kept outside the tree; restored by the trap whatever happens.
scratch="$(mktemp -d "${TMPDIR:-/tmp}/cloakroom-docs.XXXXXX")"
cp -p Package.swift "$scratch/Package.swift"
restore() {
  cp -p "$scratch/Package.swift" Package.swift
  rm -rf "$scratch"
}
trap restore EXIT
trap 'exit 130' INT TERM

if grep -q 'swift-docc-plugin' Package.swift; then
  echo "Package.swift names swift-docc-plugin already; leaving it as it is." >&2
else
  printf '\n// Added by scripts/docs.sh for one run; removed when it exits.\npackage.dependencies.append(.package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "%s"))\n' \
    "$version" >>Package.swift
fi

if $static; then
  dest="$out/site"
  extra=(--transform-for-static-hosting)
else
  dest="$out/Cloakroom.doccarchive"
  extra=()
fi
rm -rf "$dest"

log="$scratch/docs.log"
start=$SECONDS
status=0
swift package --allow-writing-to-directory "$out" \
  generate-documentation --target Cloakroom --output-path "$dest" "${extra[@]}" 2>&1 | tee "$log" || status=$?
# DocC's own warnings: those after the plugin starts docc (the build before it may warn too).
warnings=$(awk '/(Building|Generating) documentation for/ { docc = 1 } docc && /warning:/ { n++ } END { print n + 0 }' "$log")
if ((status == 0)); then
  echo "docs.sh: ${warnings} DocC warning(s) in $((SECONDS - start)) s; output: $dest"
else
  echo "docs.sh: failed (exit $status) after $((SECONDS - start)) s; Package.swift is restored" >&2
fi
exit "$status"
