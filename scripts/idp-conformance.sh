#!/usr/bin/env bash
# Conformance of cloak-idp against python-keycloak (a real third-party Keycloak client):
# builds and starts the real cloak-idp binary on 127.0.0.1, port 0, runs
# Tests/conformance/keycloak_conformance.py against it, and stops only the process it started.
# python-keycloak is installed into .venv/ (gitignored) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
if ! "$VENV/bin/python" -c 'import keycloak' 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check 'python-keycloak>=4,<8'
fi

swift build --product cloak-idp >&2
BIN="$(swift build --show-bin-path)/cloak-idp"

. scripts/lib/idp.sh
WORK="$(mktemp -d)"
trap 'stop_idp; rm -rf "$WORK"' EXIT

# Throwaway secrets for this run only, kept in a 0600 file rather than on a command line.
gen() { python3 -c 'import secrets, string; print("".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32)))'; }
BROKER_SECRET="$(gen)"
ADMIN_SECRET="$(gen)"
umask 077
cat >"$WORK/idp.json" <<JSON
{
  "realms": [
    {"realm": "r1", "accessTokenLifespan": 300, "clients": [
      {"clientId": "broker-svc", "secret": "$BROKER_SECRET"},
      {"clientId": "kc-admin", "secret": "$ADMIN_SECRET",
       "serviceAccountRoles": {"clients": {"realm-management": ["manage-clients"]}}}
    ]}
  ]
}
JSON

start_idp "$BIN" "$WORK/idp.json"
BASE_URL=$IDP_URL
echo "cloak-idp (pid $IDP_PID) at $BASE_URL" >&2

BROKER_SECRET="$BROKER_SECRET" ADMIN_SECRET="$ADMIN_SECRET" \
    "$VENV/bin/python" Tests/conformance/keycloak_conformance.py "$BASE_URL"
