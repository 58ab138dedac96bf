-- What a realm's issuer said about itself (OIDC Discovery 1.0), kept for realms added by issuer.
-- Shipped migrations are history: never edit this file; add a new one instead.
--
-- Client secrets stay sealed for realms.issuer (the trust anchor): the token endpoint here is
-- whatever the issuer's validated discovery document named, so it is NOT written to
-- realms.token_url (that would change the URL every secret of the realm is sealed for).
-- `seal` is an XChaCha20-Poly1305 tag over the row's values (vault, realm row, issuer, token
-- endpoint, jwks_uri, time), so editing this row outside cloak cannot send a secret elsewhere:
-- a row whose seal does not open is ignored and the issuer is asked again.
CREATE TABLE realm_discovery (
    realm_id        INTEGER PRIMARY KEY REFERENCES realms(id) ON DELETE CASCADE,
    issuer          TEXT NOT NULL,
    token_endpoint  TEXT NOT NULL,
    jwks_uri        TEXT,
    discovered_at   INTEGER NOT NULL,
    nonce           BLOB NOT NULL CHECK (length(nonce) = 24),
    seal            BLOB NOT NULL CHECK (length(seal) = 16)
) STRICT;
