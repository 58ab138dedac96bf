"""Drives a running cloak-idp with python-keycloak, a real third-party Keycloak client.

Usage: keycloak_conformance.py BASE_URL  (secrets come from the environment, never argv:
BROKER_SECRET for r1/broker-svc, ADMIN_SECRET for r1/kc-admin with manage-clients).

Checks: a client-credentials token (verified against the JWKS), the client found by clientId,
its secret read, regenerated, then set to a chosen value with an update; each new secret gets a
token while the previous one is refused. Prints no secret and no token.
"""

import os
import re
import secrets
import string
import sys

from keycloak import KeycloakAdmin, KeycloakOpenID, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakAuthenticationError

REALM = "r1"
CLIENT = "broker-svc"
ADMIN = "kc-admin"
GENERATED = re.compile(r"^[A-Za-z0-9]{32}$|^[A-Za-z0-9]{86}$")

results = {"passed": 0, "failed": 0}


def check(name, condition):
    results["passed" if condition else "failed"] += 1
    print(("PASS " if condition else "FAIL ") + name, flush=True)


def openid(base, secret):
    return KeycloakOpenID(server_url=base, realm_name=REALM, client_id=CLIENT, client_secret_key=secret)


def token_works(base, secret):
    try:
        token = openid(base, secret).token(grant_type="client_credentials")
        return "access_token" in token
    except KeycloakAuthenticationError:
        return False


def main():
    base = sys.argv[1].rstrip("/") + "/"
    broker_secret = os.environ["BROKER_SECRET"]
    admin_secret = os.environ["ADMIN_SECRET"]

    client = openid(base, broker_secret)
    discovery = client.well_known()
    check("discovery names the token endpoint", discovery["token_endpoint"] == base + f"realms/{REALM}/protocol/openid-connect/token")
    token = client.token(grant_type="client_credentials")
    check("client-credentials token", token.get("token_type") == "Bearer" and token.get("expires_in", 0) > 0)
    claims = client.decode_token(token["access_token"])  # verified with the JWKS, key chosen by kid
    check("token verifies against the JWKS", claims.get("azp") == CLIENT and claims.get("preferred_username") == f"service-account-{CLIENT}")

    connection = KeycloakOpenIDConnection(server_url=base, realm_name=REALM, client_id=ADMIN, client_secret_key=admin_secret, verify=True)
    admin = KeycloakAdmin(connection=connection)
    uuid = admin.get_client_id(CLIENT)
    check("client found by clientId", uuid is not None and len(uuid) == 36)
    check("client not found by a different case", admin.get_client_id(CLIENT.upper()) is None)
    check("secret read", admin.get_client_secrets(uuid).get("value") == broker_secret)

    generated = admin.generate_client_secrets(uuid)["value"]
    check("regenerated secret has Keycloak's format", GENERATED.match(generated) is not None)
    check("token with the regenerated secret", token_works(base, generated))
    check("old secret refused after regeneration", not token_works(base, broker_secret))

    chosen = "Chosen-" + "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(24))
    representation = admin.get_client(uuid)
    representation["secret"] = chosen
    admin.update_client(uuid, representation)
    check("secret set by update is readable", admin.get_client_secrets(uuid).get("value") == chosen)
    check("token with the chosen secret", token_works(base, chosen))
    check("regenerated secret refused after the update", not token_works(base, generated))

    print(f"{results['passed']} passed, {results['failed']} failed", flush=True)
    return 0 if results["failed"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
