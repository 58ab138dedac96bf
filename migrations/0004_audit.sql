-- The audit log: one row per event (a realm, client or keyslot change, a rekey, a token fetched
-- from the identity provider, each rotation step). Who, where, what, to which realm/client, and
-- how it went. Never a secret: detail is a short human note written by cloak itself.
-- Shipped migrations are history: never edit this file; add a new one instead.

-- The actions an event may name. A lookup table rather than a CHECK list, so that a later
-- migration adds an action with one INSERT instead of rebuilding an append-only table.
CREATE TABLE audit_actions (
    name  TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 40 AND name NOT GLOB '*[^a-z.-]*')
) STRICT;
INSERT INTO audit_actions (name) VALUES
    ('token.fetched'),
    ('realm.added'), ('realm.updated'), ('realm.removed'),
    ('client.added'), ('client.removed'),
    ('keyslot.added'), ('keyslot.removed'),
    ('vault.rekeyed'),
    ('rotation.prepared'), ('rotation.pushed'), ('rotation.verified'), ('rotation.promoted'),
    ('rotation.rolled-back'), ('rotation.failed'), ('rotation.resumed'),
    ('secret.retired'),
    ('import');

-- Realm and client are names, not row ids: the log outlives the realms and clients it mentions.
-- mac = keyed BLAKE2b-256 under the vault's audit subkey over the previous event's mac and every
-- field of this one (seq and the vault id included): an edited, deleted or reordered row breaks
-- the chain, and only a holder of the vault key can mend it.
CREATE TABLE events (
    seq      INTEGER PRIMARY KEY CHECK (seq >= 1),
    time     INTEGER NOT NULL,                       -- Unix milliseconds
    os_user  TEXT NOT NULL CHECK (length(os_user) <= 256),
    host     TEXT NOT NULL CHECK (length(host) <= 256),
    command  TEXT NOT NULL CHECK (length(command) <= 1024),   -- the command line as typed
    action   TEXT NOT NULL REFERENCES audit_actions (name),
    realm    TEXT,
    client   TEXT,
    outcome  TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
    detail   TEXT NOT NULL DEFAULT '' CHECK (length(detail) <= 512),
    mac      BLOB NOT NULL CHECK (length(mac) = 32),
    CHECK (client IS NULL OR realm IS NOT NULL)
) STRICT;
CREATE INDEX events_by_subject ON events (realm, client, seq);
CREATE INDEX events_by_time ON events (time);

-- The end of the chain: how many events there are and the last one's mac, itself MAC'd.
-- Without it, deleting the newest events would leave a shorter chain that still verifies.
-- Exactly one row once anything was recorded (or the vault was created by a cloak that has
-- this table); updated in the same transaction as every append.
CREATE TABLE audit_head (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    count      INTEGER NOT NULL CHECK (count >= 0),  -- the seq of the last event; 0 when none
    last_mac   BLOB NOT NULL CHECK (length(last_mac) = 32),
    mac        BLOB NOT NULL CHECK (length(mac) = 32)
) STRICT;

-- Append-only, as far as SQL can say so: events are never edited or deleted, and the head is
-- never deleted. Only `mac` may change, because `cloak rekey` re-MACs the chain under the new
-- key. These triggers stop mistakes and casual edits, not an attacker: anyone who can write the
-- file can drop them. That is why every row is MAC'd and chained, and why `cloak doctor`
-- verifies the chain rather than trusting these triggers.
CREATE TRIGGER events_are_append_only
BEFORE UPDATE OF seq, time, os_user, host, command, action, realm, client, outcome, detail ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: events cannot be changed');
END;
CREATE TRIGGER events_are_never_deleted
BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only: events cannot be deleted');
END;
CREATE TRIGGER audit_head_is_never_deleted
BEFORE DELETE ON audit_head
BEGIN
    SELECT RAISE(ABORT, 'the audit log''s head cannot be deleted');
END;
