#!/usr/bin/env bash
# A first look at Cloakroom in a throwaway directory, against cloak-idp (a Keycloak stand-in on
# 127.0.0.1): create a vault, add a realm and two clients (secrets from stdin, never argv), get a
# token from the identity provider, get it again from the sealed cache, rotate a secret through
# the admin API and get a token with the new one, read the audit log, and check the vault; then
# start `cloak agent` and watch it serve a token over its socket and renew it in the background.
#   scripts/demo.sh              the vault is an SQLite file
#   scripts/demo.sh --postgres   the vault is a team vault in a throwaway PostgreSQL on 127.0.0.1
#                                (scripts/lib/postgres.sh; TLS verified, password from a pgpass
#                                file), and a second "host" with a HOME of its own shares it
set -euo pipefail
cd "$(dirname "$0")/.."
postgres=false
case "${1:-}" in
  "") ;;
  --postgres) postgres=true ;;
  *) echo "usage: $0 [--postgres]" >&2; exit 2 ;;
esac
scripts/bootstrap.sh
traits=()
$postgres && traits=(--traits PostgreSQL)
swift build "${traits[@]}" --product cloak 2>&1 | tail -n 1
swift build "${traits[@]}" --product cloak-idp 2>&1 | tail -n 1
bin="$(swift build "${traits[@]}" --show-bin-path)"
cloak="$bin/cloak"

. scripts/lib/idp.sh
. scripts/lib/postgres.sh
demo="$(mktemp -d)"
agent_pid=""
trap '[ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null; stop_idp; stop_postgres; rm -rf "$demo"' EXIT
export CLOAK_KEY_FILE="$demo/vault.key"
if $postgres; then
  start_postgres
  # The owner role makes the vault (and prints the GRANTs a runtime role would need); its
  # password comes from the pgpass file, never from the URL or argv.
  export PGPASSFILE="$CLOAK_TEST_PGPASSFILE"
  export CLOAK_VAULT="$CLOAK_TEST_POSTGRES?sslmode=verify-full&sslrootcert=$CLOAK_TEST_POSTGRES_CA&schema=demo"
else
  export CLOAK_VAULT="$demo/vault/vault.db"
fi

# The identity provider: realm "demo" with two confidential clients. Obviously fake secrets.
umask 077
cat >"$demo/idp.json" <<'JSON'
{"realms": [{"realm": "demo", "accessTokenLifespan": 300, "clients": [
  {"clientId": "orders-svc", "secret": "demo-secret-not-real"},
  {"clientId": "billing-svc", "secret": "demo-secret+not/real%either"},
  {"clientId": "cloak-admin", "secret": "demo-admin-secret-not-real",
   "serviceAccountRoles": {"clients": {"realm-management": ["manage-clients"]}}}]},
 {"realm": "fast", "accessTokenLifespan": 6, "clients": [
  {"clientId": "ticker-svc", "secret": "demo-ticker-secret-not-real"}]}]}
JSON
start_idp "$bin/cloak-idp" "$demo/idp.json"
idp_url=$IDP_URL
echo "cloak-idp (pid $IDP_PID) listening at $idp_url"

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
token_url="$idp_url/realms/demo/protocol/openid-connect/token"

step cloak init
"$cloak" init
step cloak realm add demo --token-url "$token_url"
"$cloak" realm add demo --token-url "$token_url"
step "printf 'demo-secret-not-real' | cloak client add demo/orders --client-id orders-svc --secret-stdin"
printf 'demo-secret-not-real' | "$cloak" client add demo/orders --client-id orders-svc --secret-stdin
step "printf 'demo-secret+not/real%%either' | cloak client add demo/billing --client-id billing-svc --auth post --secret-stdin"
printf 'demo-secret+not/real%%either' | "$cloak" client add demo/billing --client-id billing-svc --auth post --secret-stdin
step cloak client list
"$cloak" client list
step "cloak token demo/orders --format json    # the token client add got to check the secret: from the sealed cache"
"$cloak" token demo/orders --format json | sed -E 's/("access_token": ")([^"]{16})[^"]*"/\1\2…"/'
step "cloak token demo/orders --refresh --format json    # a new one from the identity provider"
"$cloak" token demo/orders --refresh --format json | sed -E 's/("access_token": ")([^"]{16})[^"]*"/\1\2…"/'
step "cloak token demo/billing --format header | cut -c1-40"
"$cloak" token demo/billing --format header | cut -c1-40
step cloak inspect demo/orders
"$cloak" inspect demo/orders
step cloak cache list
"$cloak" cache list

# Rotation: an admin client whose service account has realm-management/manage-clients.
step "printf 'demo-admin-secret-not-real' | cloak client add demo/admin --client-id cloak-admin --secret-stdin"
printf 'demo-admin-secret-not-real' | "$cloak" client add demo/admin --client-id cloak-admin --secret-stdin
step cloak realm update demo --admin-client demo/admin
"$cloak" realm update demo --admin-client demo/admin
step cloak rotate demo/orders
"$cloak" rotate demo/orders
step "cloak token demo/orders --format json    # a token with the new secret"
"$cloak" token demo/orders --format json | sed -E 's/("access_token": ")([^"]{16})[^"]*"/\1\2…"/'
step "curl … client_secret=demo-secret-not-real    # the old secret, straight to the IdP"
printf 'HTTP %s\n' "$(curl -s -o /dev/null -w '%{http_code}' -d grant_type=client_credentials -d client_id=orders-svc \
  -d client_secret=demo-secret-not-real "$token_url")"
step cloak log --client demo/orders
"$cloak" log --client demo/orders
step cloak doctor
"$cloak" doctor
if $postgres; then
  # Another host: its own HOME and no state of its own but the key file, the vault URL and the
  # pgpass file. It sees the rotation at once and gets the token the first host cached.
  mkdir -m 700 "$demo/host-b"
  step "HOME=$demo/host-b cloak token demo/orders --format json    # another host: the token the first cached"
  HOME="$demo/host-b" "$cloak" token demo/orders --format json | sed -E 's/("access_token": ")([^"]{16})[^"]*"/\1\2…"/'
fi
printf '\nThe IdP answered %s token request(s); every secret and token in the vault is sealed.\n' \
  "$(curl -s "$idp_url/_cloak-idp/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["by_route"].get("token", 0))')"

# The agent: unlocked once, tokens over a Unix socket, renewed before they are due. Realm "fast"
# issues 6-second tokens, so the renewal shows within the demo.
step "cloak realm add fast --token-url …; printf … | cloak client add fast/ticker --client-id ticker-svc --secret-stdin"
"$cloak" realm add fast --token-url "$idp_url/realms/fast/protocol/openid-connect/token"
printf 'demo-ticker-secret-not-real' | "$cloak" client add fast/ticker --client-id ticker-svc --secret-stdin
sock="$demo/agent/agent.sock"
step "cloak agent --socket $sock &"
"$cloak" agent --socket "$sock" 2>"$demo/agent.log" &
agent_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
ask() { curl -s --unix-socket "$sock" "http://agent/v1/tokens/fast/ticker?min_ttl=1" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print("source %-6s  token …%s  expires in %d s" % (d["source"], d["access_token"][-12:], d["expires_in"]))'; }
step "curl --unix-socket $sock http://agent/v1/tokens/fast/ticker    # the first: from the vault's cache or the IdP"
ask
step "curl … again, and every 2 s for 8 s: from memory, renewed in the background before it expires"
for _ in 1 2 3 4 5; do ask; sleep 2; done
step "curl --unix-socket $sock http://agent/v1/health"
curl -s --unix-socket "$sock" http://agent/v1/health | python3 -c 'import json,sys; d=json.load(sys.stdin); print({k: d[k] for k in ("status", "tokens_kept_fresh", "renewals", "renewal_failures")})'
step "kill -TERM \$agent_pid    # answers what it accepted, removes its socket, exits 0"
kill -TERM "$agent_pid"
wait "$agent_pid"
agent_pid=""
sed 's/^/  agent: /' "$demo/agent.log"

