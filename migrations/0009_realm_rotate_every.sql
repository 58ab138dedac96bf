-- A realm-wide rotation schedule (`cloak realm update R --rotate-every 30d`): clients without a
-- schedule of their own are due once this long has passed since their secret changed. Covered by
-- each client's tag (as keep_previous is) only when set, so the tags made before stay valid.
-- Shipped migrations are history: never edit this file; add a new one instead.
ALTER TABLE realms ADD COLUMN rotate_every INTEGER CHECK (rotate_every IS NULL OR rotate_every > 0);
