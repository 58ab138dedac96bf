-- Rotation: a schedule per client, the IdP's id for it, how long a replaced secret is kept,
-- and the journal that makes a rotation survive a crash at any step.
-- Shipped migrations are history: never edit this file; add a later one instead.

-- How often `cloak rotate --due` replaces this client's secret (seconds); NULL = never by schedule.
ALTER TABLE clients ADD COLUMN rotate_every INTEGER CHECK (rotate_every IS NULL OR rotate_every > 0);
-- The client's `id` at the Keycloak admin API (a UUID), learnt on its first rotation.
ALTER TABLE clients ADD COLUMN idp_uuid TEXT;
-- How long a replaced secret stays 'previous' (for `cloak rotate --rollback`) before it is
-- retired (its ciphertext dropped). Default: 7 days.
ALTER TABLE realms ADD COLUMN keep_previous INTEGER NOT NULL DEFAULT 604800 CHECK (keep_previous >= 0);

-- One row per rotation attempt. An open row (prepared, pushed) means the IdP may hold
-- either the client's current secret or its pending one: the next command that touches the
-- client tests which, and finishes (promote) or undoes (retire the pending version) the rotation.
CREATE TABLE rotations (
    id            INTEGER PRIMARY KEY,
    client_id     INTEGER NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    from_version  INTEGER NOT NULL,
    to_version    INTEGER NOT NULL CHECK (to_version > from_version),
    -- chosen: we generate the secret and PUT it; server-generated: POST …/client-secret;
    -- rollback: the previous secret is pushed back as a new version.
    mode          TEXT NOT NULL CHECK (mode IN ('chosen', 'server-generated', 'rollback')),
    state         TEXT NOT NULL CHECK (state IN ('prepared', 'pushed', 'done', 'undone', 'failed')),
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    -- What happened, for `cloak rotate` reports and the audit log; never a secret.
    detail        TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE UNIQUE INDEX one_open_rotation ON rotations (client_id) WHERE state IN ('prepared', 'pushed');
CREATE INDEX rotations_by_client ON rotations (client_id, id);
