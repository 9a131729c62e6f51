-- Least-privilege database roles for erasure-worker (README, "Deploying").
--
--   erasure_migrator  owns the schema's objects: `erasure migrate` (the migration Job) logs in
--                     as it. It may create, alter and drop (DDL).
--   erasure_runtime   every `erasure run` process: reads and writes rows, never changes the
--                     schema (no CREATE on the schema, owns nothing, so no ALTER or DROP).
--
-- Run once per database, as its owner or an administrator, connected to the erasure database:
--   psql "postgres://admin@db:5432/erasure?sslmode=require" -v ON_ERROR_STOP=1 -f deploy/sql/roles.sql
-- then give each role a password (`\password erasure_migrator`, `\password erasure_runtime`)
-- or your provider's IAM login. Safe to run again (after an upgrade that added tables, it grants
-- on them too). Both roles get LOGIN; nothing here is a secret.

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'erasure_migrator') THEN
        CREATE ROLE erasure_migrator LOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'erasure_runtime') THEN
        CREATE ROLE erasure_runtime LOGIN;
    END IF;
END
$$;

-- PostgreSQL 15+ gives PUBLIC no CREATE on `public`; older versions did: take it back.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO erasure_migrator;
GRANT USAGE ON SCHEMA public TO erasure_runtime;

-- What the migrator creates from now on, the runtime may use (rows only).
ALTER DEFAULT PRIVILEGES FOR ROLE erasure_migrator IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO erasure_runtime;
ALTER DEFAULT PRIVILEGES FOR ROLE erasure_migrator IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO erasure_runtime;

-- What exists already (a schema migrated before these roles, by whoever ran it).
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO erasure_runtime;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO erasure_runtime;

-- The audit log is append-only (a trigger refuses UPDATE and DELETE); the grants say so too.
DO $$
BEGIN
    IF to_regclass('public.audit_log') IS NOT NULL THEN
        REVOKE UPDATE, DELETE ON public.audit_log FROM erasure_runtime;
    END IF;
END
$$;
