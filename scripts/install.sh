#!/usr/bin/env bash
# Builds cloak and cloak-idp for release and installs them under PREFIX (default ~/.local):
#   PREFIX/bin/cloak, PREFIX/bin/cloak-idp                   stripped, Swift's runtime linked in
#   PREFIX/share/man/man1/cloak*.1                           one page per command (`man cloak.token`)
#   PREFIX/share/bash-completion/completions/cloak           bash
#   PREFIX/share/zsh/site-functions/_cloak                   zsh
#   PREFIX/share/fish/vendor_completions.d/cloak.fish        fish
#
#   scripts/install.sh [PREFIX]
#   CLOAK_TRAITS=PostgreSQL scripts/install.sh [PREFIX]      with team vaults on PostgreSQL
#
# At run time the binaries need libsodium23 and libsqlite3-0 beside what every Debian has. The
# build has its own scratch directory, so it never disturbs a development build in .build.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-$HOME/.local}
case "$prefix" in /*) ;; *) prefix="$PWD/$prefix" ;; esac
scripts/bootstrap.sh

scratch=.build-install
build=(-c release --scratch-path "$scratch" --static-swift-stdlib)
[ -z "${CLOAK_TRAITS:-}" ] || build+=(--traits "$CLOAK_TRAITS")
for product in cloak cloak-idp; do
  swift build "${build[@]}" --product "$product" 2>&1 | tail -n 1
done
bin=$(swift build "${build[@]}" --show-bin-path)

install -d "$prefix/bin" "$prefix/share/man/man1" "$prefix/share/bash-completion/completions" \
  "$prefix/share/zsh/site-functions" "$prefix/share/fish/vendor_completions.d"
install -m 0755 -s "$bin/cloak" "$bin/cloak-idp" "$prefix/bin/"

# Man pages from the commands' own help, by swift-argument-parser's generate-manual (the tool
# behind its generate-manual plugin, run directly: the plugin would rebuild every product
# without --static-swift-stdlib).
swift build "${build[@]}" --product generate-manual 2>&1 | tail -n 1
"$bin/generate-manual" "$prefix/bin/cloak" --multi-page --output-directory "$prefix/share/man/man1"
"$bin/generate-manual" "$prefix/bin/cloak-idp" --output-directory "$prefix/share/man/man1"

# Completion scripts, from the installed binary. Realm and client names complete from the vault's
# metadata (`cloak ---completion …` runs at Tab; it needs no key).
"$prefix/bin/cloak" --generate-completion-script bash >"$prefix/share/bash-completion/completions/cloak"
"$prefix/bin/cloak" --generate-completion-script zsh >"$prefix/share/zsh/site-functions/_cloak"
"$prefix/bin/cloak" --generate-completion-script fish >"$prefix/share/fish/vendor_completions.d/cloak.fish"

echo "installed cloak and cloak-idp in $prefix/bin, $(find "$prefix/share/man/man1" -name 'cloak*.1' | wc -l) man pages, and bash, zsh and fish completions"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "add $prefix/bin to PATH (e.g. in ~/.profile: export PATH=\"$prefix/bin:\$PATH\")" ;; esac
