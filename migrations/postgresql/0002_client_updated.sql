-- SQLite's migration 0011: `cloak client update` is recorded as 'client.updated'.
-- Shipped migrations are history: never edit this file; add a new one instead.
INSERT INTO audit_actions (name) VALUES ('client.updated');
