-- Consumers of the agent's loopback TCP listener (`cloak agent consumer add NAME --clients GLOB`):
-- each presents a bearer credential, shown once. The vault keeps only its BLAKE2b digest, and a
-- tag (a MAC under a vault subkey) over the name, the client globs and that digest, so that
-- neither a credential nor what it may ask for can be added or widened by editing the file.
-- Shipped migrations are history: never edit this file; add a new one instead.
CREATE TABLE agent_consumers (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    clients TEXT NOT NULL,
    credential_digest BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    tag BLOB NOT NULL
);
INSERT INTO audit_actions (name) VALUES ('consumer.added');
INSERT INTO audit_actions (name) VALUES ('consumer.removed');
