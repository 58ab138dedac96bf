-- The first schema of a Cloakroom vault.
-- Shipped migrations are history: never edit this file; add 0002_*.sql instead.
-- Times are Unix seconds (UTC). Names follow [a-z0-9][a-z0-9._-]{0,62}.

-- Exactly one row: the vault's identity, bound into every sealed value.
CREATE TABLE vault (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    vault_id    BLOB NOT NULL CHECK (length(vault_id) = 16),
    created_at  INTEGER NOT NULL
) STRICT;

-- One way to unlock the vault: the vault key sealed under a key-encryption key (KEK).
-- A passphrase slot stores its Argon2id parameters so they can be raised later.
CREATE TABLE keyslots (
    id            INTEGER PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('key-file', 'passphrase')),
    label         TEXT NOT NULL DEFAULT '',
    fingerprint   TEXT,
    kdf_opslimit  INTEGER,
    kdf_memlimit  INTEGER,
    kdf_salt      BLOB,
    nonce         BLOB NOT NULL CHECK (length(nonce) = 24),
    wrapped_key   BLOB NOT NULL CHECK (length(wrapped_key) = 48),
    created_at    INTEGER NOT NULL,
    CHECK ((kind = 'passphrase') = (kdf_salt IS NOT NULL AND kdf_opslimit IS NOT NULL AND kdf_memlimit IS NOT NULL)),
    CHECK ((kind = 'key-file') = (fingerprint IS NOT NULL))
) STRICT;

CREATE TABLE realms (
    id               INTEGER PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE
                     CHECK (length(name) BETWEEN 1 AND 63 AND name GLOB '[a-z0-9]*' AND name NOT GLOB '*[^a-z0-9._-]*'),
    issuer           TEXT,
    token_url        TEXT,
    admin_url        TEXT,
    ca_file          TEXT,
    admin_client_id  INTEGER REFERENCES clients(id) ON DELETE SET NULL,
    -- Plain-http token URLs to hosts other than loopback are refused unless the realm opts in.
    allow_http       INTEGER NOT NULL DEFAULT 0 CHECK (allow_http IN (0, 1)),
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    CHECK (issuer IS NOT NULL OR token_url IS NOT NULL)
) STRICT;

CREATE TABLE clients (
    id           INTEGER PRIMARY KEY,
    realm_id     INTEGER NOT NULL REFERENCES realms(id) ON DELETE CASCADE,
    name         TEXT NOT NULL
                 CHECK (length(name) BETWEEN 1 AND 63 AND name GLOB '[a-z0-9]*' AND name NOT GLOB '*[^a-z0-9._-]*'),
    client_id    TEXT NOT NULL CHECK (length(client_id) BETWEEN 1 AND 255),
    auth_method  TEXT NOT NULL CHECK (auth_method IN ('client_secret_basic', 'client_secret_post')),
    scopes       TEXT NOT NULL DEFAULT '',
    audience     TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    UNIQUE (realm_id, name)
) STRICT;
CREATE INDEX clients_by_realm ON clients (realm_id, name);

-- Every secret a client has had. Only 'pending' and 'current' ever sign a request; a retired
-- version keeps its history but not its ciphertext.
CREATE TABLE secret_versions (
    id                INTEGER PRIMARY KEY,
    client_id         INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    version           INTEGER NOT NULL CHECK (version >= 1),
    state             TEXT NOT NULL CHECK (state IN ('pending', 'current', 'previous', 'retired')),
    nonce             BLOB CHECK (nonce IS NULL OR length(nonce) = 24),
    sealed            BLOB CHECK (sealed IS NULL OR length(sealed) >= 16),
    created_at        INTEGER NOT NULL,
    state_changed_at  INTEGER NOT NULL,
    UNIQUE (client_id, version),
    CHECK ((state = 'retired') = (sealed IS NULL)),
    CHECK ((nonce IS NULL) = (sealed IS NULL))
) STRICT;
CREATE UNIQUE INDEX one_current_secret ON secret_versions (client_id) WHERE state = 'current';
CREATE UNIQUE INDEX one_pending_secret ON secret_versions (client_id) WHERE state = 'pending';
