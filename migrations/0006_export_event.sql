-- `cloak export` takes secrets out of the vault (sealed under another key): the audit log says so.
-- Shipped migrations are history: never edit this file; add a new one instead.
INSERT INTO audit_actions (name) VALUES ('export');
