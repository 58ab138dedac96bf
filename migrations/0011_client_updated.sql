-- `cloak client update` changes a client's name, client_id, auth method, scopes, audience,
-- secret or rotation schedule: each change is an event of its own in the audit log.
-- Shipped migrations are history: never edit this file; add a new one instead.
INSERT INTO audit_actions (name) VALUES ('client.updated');
