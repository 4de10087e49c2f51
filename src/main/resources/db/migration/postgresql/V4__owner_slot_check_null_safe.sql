-- V1's check let an owner row with a NULL owner_slot through: with a NULL operand the expression is
-- UNKNOWN, and a CHECK passes on UNKNOWN. Every operand is now known, so the row is refused, and a
-- second owner cannot slip past the unique index on owner_slot (NULLs never collide there).
ALTER TABLE users DROP CONSTRAINT users_owner_slot;
ALTER TABLE users ADD CONSTRAINT users_owner_slot CHECK (
    (role = 'owner' AND owner_slot IS NOT NULL AND owner_slot = 1)
    OR (role <> 'owner' AND owner_slot IS NULL));
