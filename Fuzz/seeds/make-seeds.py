#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the dotenv, oauth and validation harnesses into
Fuzz/corpus/<harness>/ (the bundle seeds are made by cloak itself: see Fuzz/README.md).
Every secret in them is fake; the signing keys are made here and thrown away."""
import base64, hashlib, json, os, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "corpus")

def put(harness, data):
    if isinstance(data, str):
        data = data.encode()
    os.makedirs(os.path.join(root, harness), exist_ok=True)
    with open(os.path.join(root, harness, "seed-" + hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
        f.write(data)

# .env files: what services really hold, and the grammar's corners.
put("dotenv", "# orders service\nexport TOKEN_URL=https://sso.example.com/realms/prod/protocol/openid-connect/token\n"
              "CLIENT_ID = orders-svc          # a comment after whitespace\nCLIENT_SECRET='fake-orders-secret'\n")
put("dotenv", "KEYCLOAK_URL=https://sso.example.com/auth/\nKEYCLOAK_REALM=prod\n"
              "ORDERS_OAUTH_CLIENT_ID=orders\nORDERS_OAUTH_CLIENT_SECRET=\"fake-\\$ecret\\n\"\n"
              "BILLING_OIDC_CLIENT_ID=billing\nBILLING_OIDC_CLIENT_SECRET=fake-billing # c\n"
              "OIDC_ISSUER=https://sso.example.com/realms/prod\n")
put("dotenv", "\ufeffA=fake#1\r\nB=\"fake\r\n2\" # c\r\nC='multi\rline'\rexport D\rE=$HOME\rF=\"${X}\"\r")
put("dotenv", "KC_ISSUER_URI=https://idp.example.com/realms/r1\nKC_CLIENT_ID=svc\nKC_CLIENT_SECRET=fake-s\n"
              "REPORTS_KEYCLOAK_SERVER_URL=http://127.0.0.1:8080/realms/r2\nREPORTS_CLIENT_ID=rep\nREPORTS_CLIENT_SECRET=fake-r\n"
              "REPORTS_TOKEN_ENDPOINT=http://127.0.0.1:8080/realms/r2/protocol/openid-connect/token\nCLIENT_ID=dup\nclient_id=dup\n")
put("dotenv", "A='never closed\nB=\"also \\\" open\n")
put("dotenv", "SSO_CLIENT_SECRET=fake-no-id\nX Y=1\n9A=2\n")

# OAuth documents: a realm's keys, tokens signed with them, and what Keycloak answers.
def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
def uint(n):
    return b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))

issuer = "https://idp.example.com/realms/prod"
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
ec_key = ec.generate_private_key(ec.SECP256R1())
rn = rsa_key.public_key().public_numbers()
en = ec_key.public_key().public_numbers()
jwks = {"keys": [
    {"kid": "rs-1", "kty": "RSA", "alg": "RS256", "use": "sig", "n": uint(rn.n), "e": uint(rn.e)},
    {"kid": "ec-1", "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig",
     "x": b64(en.x.to_bytes(32, "big")), "y": b64(en.y.to_bytes(32, "big"))},
    {"kid": "enc-1", "kty": "RSA", "alg": "RSA-OAEP", "use": "enc", "n": uint(rn.n), "e": uint(rn.e)},
]}
claims = {"exp": 1800000300, "iat": 1800000000, "jti": "fake-jti", "iss": issuer, "aud": ["account", "orders"],
          "sub": "fake-sub", "typ": "Bearer", "azp": "orders", "scope": "profile email",
          "realm_access": {"roles": ["offline_access"]}, "resource_access": {"account": {"roles": ["view-profile"]}}}
def jwt(alg, kid, key):
    head = b64(json.dumps({"alg": alg, "typ": "JWT", "kid": kid}).encode())
    body = b64(json.dumps(claims).encode())
    data = (head + "." + body).encode()
    if alg == "RS256":
        sig = key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    elif alg == "PS256":
        sig = key.sign(data, padding.PSS(padding.MGF1(hashes.SHA256()), 32), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
        sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return head + "." + body + "." + b64(sig)
rs, ps, es = jwt("RS256", "rs-1", rsa_key), jwt("PS256", "rs-1", rsa_key), jwt("ES256", "ec-1", ec_key)
put("oauth", rs)
put("oauth", json.dumps(dict(jwks, token=rs)))
put("oauth", json.dumps(dict(jwks, token=es)))
put("oauth", json.dumps({"keys": jwks["keys"][:1], "token": ps}))
put("oauth", json.dumps({"access_token": rs, "expires_in": 300, "refresh_expires_in": 0, "token_type": "Bearer",
                         "not-before-policy": 0, "scope": "profile email"}))
put("oauth", json.dumps({"access_token": es, "token_type": "bearer"}))
put("oauth", json.dumps({"access_token": "fake-opaque-token", "token_type": "Bearer", "expires_in": "3600", "scope": None}))
put("oauth", json.dumps({"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"}))
put("oauth", json.dumps({"issuer": issuer, "token_endpoint": issuer + "/protocol/openid-connect/token",
                         "jwks_uri": issuer + "/protocol/openid-connect/certs",
                         "grant_types_supported": ["client_credentials"], "token_endpoint_auth_methods_supported": ["client_secret_basic"]}))
put("oauth", json.dumps({"issuer": "http://127.0.0.1:8080/realms/r1",
                         "token_endpoint": "http://127.0.0.1:8080/realms/r1/protocol/openid-connect/token"}))
put("oauth", "120")

# Names, client references and realm URLs as they are typed.
for text in ["orders", "prod/orders", "a-b_c.d9", "x" * 63, "Prod/orders", "-x", "prod//orders",
             "https://sso.example.com/realms/prod/protocol/openid-connect/token",
             "https://sso.example.com:8443/auth/realms/prod", "http://127.0.0.1:8080/realms/r1?x=1",
             "http://[::1]:8443/realms/r1/", "http://localhost/realms/r1", "http://sso.example.com/realms/prod",
             "https://user@sso.example.com/", "https://sso.example.com/#frag", "ftp://sso.example.com/"]:
    put("validation", text)
