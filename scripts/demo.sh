#!/usr/bin/env bash
# A first look at Cloakroom in a throwaway directory: create a vault, add a realm and a client
# (its secret from stdin, never argv), list and inspect them, and let `cloak doctor` check it all.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
swift build --product cloak 2>&1 | tail -n 1
cloak="$(swift build --show-bin-path)/cloak"

demo="$(mktemp -d)"
trap 'rm -rf "$demo"' EXIT
export CLOAK_VAULT="$demo/vault/vault.db" CLOAK_KEY_FILE="$demo/vault.key"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

step cloak init
"$cloak" init
step cloak realm add prod --token-url https://idp.example.com/realms/prod/protocol/openid-connect/token
"$cloak" realm add prod --token-url https://idp.example.com/realms/prod/protocol/openid-connect/token
step "printf 'demo-secret-not-real' | cloak client add prod/orders --client-id orders-svc --secret-stdin --scope orders:read"
printf 'demo-secret-not-real' | "$cloak" client add prod/orders --client-id orders-svc --secret-stdin --scope orders:read
step "printf 'demo-secret-not-real-either' | cloak client add prod/billing --client-id billing-svc --auth post --secret-stdin"
printf 'demo-secret-not-real-either' | "$cloak" client add prod/billing --client-id billing-svc --auth post --secret-stdin
step cloak client list
"$cloak" client list
step cloak client show prod/orders --json
"$cloak" client show prod/orders --json
step cloak keyslot list
"$cloak" keyslot list
step cloak doctor
"$cloak" doctor
printf '\nThe vault (%s) holds both secrets sealed; no command above printed them.\n' "$CLOAK_VAULT"
