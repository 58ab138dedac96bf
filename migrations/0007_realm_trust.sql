-- A realm's endpoints and trust settings decide where secrets and admin tokens are sent, and which
-- certificates are believed there. The token URL (or issuer) is bound into every sealed secret;
-- this tag binds the rest (admin URL, CA file path, plain-http opt-in, admin client) with a MAC
-- under a vault subkey, so that editing any of them outside cloak stops cloak from using the
-- realm rather than sending a secret somewhere new.
-- Shipped migrations are history: never edit this file; add a new one instead.
ALTER TABLE realms ADD COLUMN trust_tag BLOB;
