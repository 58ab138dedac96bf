#!/usr/bin/env bash
# Writes the bundle harness's seeds into Fuzz/corpus/bundle/: real bundles made by cloak export,
# sealed with the fuzz key file (the 32 public bytes of FuzzBundle.keyBytes), and their
# decrypted payloads. Needs `swift build` first (.build/debug/cloak and cloak-fuzz). Fake secrets.
set -euo pipefail
cd "$(dirname "$0")/../.."
cloak=$PWD/.build/debug/cloak
replay=$PWD/.build/debug/cloak-fuzz
out=$PWD/Fuzz/corpus/bundle
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf 'cloakroom-fuzz-key-not-a-secret!' > "$work/fuzz.key"
chmod 600 "$work/fuzz.key"
export CLOAK_VAULT=$work/vault.db CLOAK_KEY_FILE=$work/vault.key
"$cloak" init >/dev/null
"$cloak" realm add prod --token-url https://sso.example.com/realms/prod/protocol/openid-connect/token >/dev/null
"$cloak" realm add r1 --token-url http://127.0.0.1:8080/realms/r1/protocol/openid-connect/token --admin-url http://127.0.0.1:8080/admin/realms/r1 >/dev/null
printf 'fake-orders-secret' | "$cloak" client add prod/orders --client-id orders-svc --scope profile --scope email --audience api --secret-stdin >/dev/null
printf 'fake-billing-secret-%%+&=' | "$cloak" client add prod/billing --client-id billing-svc --auth post --rotate-every 30d --secret-stdin >/dev/null
printf 'fake-admin-secret' | "$cloak" client add r1/admin --client-id admin-cli --secret-stdin >/dev/null
"$cloak" realm update r1 --admin-client r1/admin --keep-previous 2d >/dev/null
"$cloak" export "$work/all.bundle" --bundle-key-file "$work/fuzz.key" >/dev/null
"$cloak" export "$work/r1.bundle" --realm r1 --bundle-key-file "$work/fuzz.key" >/dev/null
for bundle in all r1; do
  cp "$work/$bundle.bundle" "$out/seed-$bundle-bundle"
  "$replay" payload "$work/$bundle.bundle" "$out/seed-$bundle-payload"
done
ls -l "$out"
