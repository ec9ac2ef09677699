-- The admin console (issue #14): whether a tenant's console opens only to admins who sign in with a
-- second factor (TOTP); 0 or 1. Same text on both backends.
ALTER TABLE tenant_settings ADD COLUMN console_second_factor BIGINT NOT NULL DEFAULT 0;
