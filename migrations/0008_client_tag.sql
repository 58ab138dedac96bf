-- A client's name and realm decide which secret `cloak token REALM/NAME` uses and which client
-- `cloak rotate` changes at the IdP, yet the sealed secrets bind only the client's row. This tag
-- binds the rest: a MAC under a vault subkey over the client's realm (row and name), name,
-- client_id, auth method, scopes, audience, rotation schedule, the realm's keep-previous period,
-- which secret versions are pending / current / previous, and its open rotation (if any).
-- Every change cloak makes re-makes it; a row whose tag does not verify is refused.
-- Rows from before this migration have no tag and are refused like edited ones until
-- `cloak client update REALM/NAME --reauthenticate` (as realms after 0007's trust tag).
-- Shipped migrations are history: never edit this file; add a new one instead.
ALTER TABLE clients ADD COLUMN trust_tag BLOB;
INSERT INTO audit_actions (name) VALUES ('client.reauthenticated');
