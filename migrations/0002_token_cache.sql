-- Cached access tokens, sealed with the vault's token subkey. The expiry stays in clear so a
-- cache check reads one row without decrypting anything; it is also bound into the seal, so
-- editing it makes the token refuse to open rather than live longer.
CREATE TABLE cached_tokens (
    id              INTEGER PRIMARY KEY,
    client_id       INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    -- The request's shape: normalised scopes and audience ("scope=a b" "\n" "audience=x").
    cache_key       TEXT NOT NULL,
    secret_version  INTEGER NOT NULL,
    issued_at       INTEGER NOT NULL,  -- Unix milliseconds: when the request was sent
    expires_at      INTEGER NOT NULL,  -- Unix milliseconds
    scope           TEXT,
    nonce           BLOB NOT NULL CHECK (length(nonce) = 24),
    sealed          BLOB NOT NULL CHECK (length(sealed) > 16),
    CHECK (expires_at > issued_at),
    UNIQUE (client_id, cache_key)
) STRICT;
