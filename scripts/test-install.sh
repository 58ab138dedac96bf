#!/usr/bin/env bash
# The quick start's install step, checked: scripts/install.sh into a throwaway PREFIX, then the
# installed programs as a new user meets them — on PATH, with no options: the version, a man page
# per command, completion scripts, and a vault whose key file is made in its default place, a
# realm at the installed cloak-idp (127.0.0.1 only), a client and a token (from the IdP, then
# from the cache). Called by scripts/test.sh; needs nothing running.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib/idp.sh
work=$(mktemp -d)
trap 'stop_idp; rm -rf "$work"' EXIT
fail() { echo "test-install: $*" >&2; exit 1; }

scripts/install.sh "$work/prefix" | tail -n 1
export PATH="$work/prefix/bin:$PATH" HOME="$work/home"
unset CLOAK_VAULT CLOAK_KEY_FILE XDG_CONFIG_HOME XDG_DATA_HOME
mkdir -m 0700 "$HOME"
[ "$(command -v cloak)" = "$work/prefix/bin/cloak" ] || fail "cloak is not the installed one"
cloak --version >/dev/null
pages=$(find "$work/prefix/share/man/man1" -name 'cloak*.1' | wc -l)
[ "$pages" -ge 40 ] || fail "only $pages man pages"
man -l "$work/prefix/share/man/man1/cloak.token.1" 2>/dev/null | grep -q 'cached when it can' || [ ! -x /usr/bin/man ] ||
  fail "man cloak.token does not read as the command's help"
for file in bash-completion/completions/cloak zsh/site-functions/_cloak fish/vendor_completions.d/cloak.fish; do
  grep -q -- '---completion' "$work/prefix/share/$file" || fail "no completion script $file"
done

printf '{"realms":[{"realm":"r1","clients":[{"clientId":"orders-svc","secret":"fake-install-secret"}]}]}\n' >"$work/idp.json"
start_idp "$work/prefix/bin/cloak-idp" "$work/idp.json"
cloak init 2>/dev/null
[ -f "$HOME/.config/cloakroom/vault.key" ] || fail "init made no default key file"
cloak realm add r1 --token-url "$IDP_URL/realms/r1/protocol/openid-connect/token" 2>/dev/null
printf 'fake-install-secret' | cloak client add r1/orders --client-id orders-svc --secret-stdin 2>/dev/null
# `client add` asked the IdP for a token to check the secret, and cached it.
[ "$(cloak token r1/orders --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["source"])')" = cache ] || fail "no token from the cache"
[ "$(cloak token r1/orders --refresh --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["source"])')" = idp ] || fail "no token from the IdP"
echo "test-install: installed cloak and cloak-idp work from PATH ($pages man pages)"
