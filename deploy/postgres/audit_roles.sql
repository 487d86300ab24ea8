-- Least privilege for the audit trail (guardrails/audit.py) on PostgreSQL 15+.
--
--   nuri_audit_writer  the API (NURI_AUDIT__URL of every replica): reads the trail, INSERTs
--                      records and moves the head forward by one; no UPDATE or DELETE of a
--                      record, no TRUNCATE, no checkpoint of its own.
--   nuri_audit_maint   `nuri audit prune` (the retention CronJob, with audit.retention_days and
--                      its own NURI_AUDIT__URL): as the writer, plus DELETE of records at or below
--                      a checkpoint and INSERT of checkpoints. Give the API audit.retention_days: 0
--                      (or let its start-time prune fail: it is logged, not fatal).
--
-- Triggers hold for every role, the tables' owner included: a record is never updated, the
-- tables are never truncated, a record is inserted only at head+1 linked to the head's hash,
-- the head only moves forward by one to a record that is there, and a record is deleted only at
-- or below a checkpoint (a prune inserts its checkpoint first). Only a superuser (who can
-- disable triggers) or the owner (who can drop them) gets past them: keep those credentials off
-- the application servers. What no role can forge without audit.chain_key is the keyed chain
-- itself (HMAC-SHA256): these grants keep the trail from being rewritten by a stolen API
-- password; the key, from being rewritten by anyone who can write the database.
--
-- Run once per audit database, as the owner of the audit tables, after the tables exist
-- (`nuri audit verify` with the owner's URL creates them), and again after an upgrade:
--
--   psql "postgresql://nuri@HOST:5432/nuri_audit" -v ON_ERROR_STOP=1 -f deploy/postgres/audit_roles.sql
--   psql ... -c "ALTER ROLE nuri_audit_writer LOGIN PASSWORD '…'"   # and nuri_audit_maint
--
-- Idempotent: roles are created when missing, grants and triggers replaced.

DO $$
BEGIN
    IF to_regclass('audit_records') IS NULL OR to_regclass('audit_head') IS NULL
       OR to_regclass('audit_checkpoints') IS NULL THEN
        RAISE EXCEPTION 'audit tables missing in database %: open the trail once as their owner first '
                        '(nuri audit verify with this URL)', current_database();
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nuri_audit_writer') THEN
        CREATE ROLE nuri_audit_writer NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'nuri_audit_maint') THEN
        CREATE ROLE nuri_audit_maint NOLOGIN;
    END IF;
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO nuri_audit_writer, nuri_audit_maint', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO nuri_audit_writer, nuri_audit_maint;
REVOKE ALL ON audit_records, audit_head, audit_checkpoints FROM PUBLIC, nuri_audit_writer, nuri_audit_maint;

-- The API: append (INSERT), read, move the head (SELECT … FOR UPDATE needs UPDATE on a column).
GRANT SELECT, INSERT ON audit_records TO nuri_audit_writer;
GRANT SELECT, UPDATE (seq, hash) ON audit_head TO nuri_audit_writer;
GRANT SELECT ON audit_checkpoints TO nuri_audit_writer;

-- Retention: the writer's rights, DELETE of records and INSERT of checkpoints.
GRANT SELECT, INSERT, DELETE ON audit_records TO nuri_audit_maint;
GRANT SELECT, UPDATE (seq, hash) ON audit_head TO nuri_audit_maint;
GRANT SELECT, INSERT ON audit_checkpoints TO nuri_audit_maint;

CREATE OR REPLACE FUNCTION nuri_audit_records_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head_seq integer;
    head_hash text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT seq, hash INTO head_seq, head_hash FROM audit_head WHERE id = 1;
        IF NEW.seq IS DISTINCT FROM head_seq + 1 OR NEW.prev_hash IS DISTINCT FROM head_hash THEN
            RAISE EXCEPTION 'audit records are appended at the head only (seq %, head %)', NEW.seq, head_seq
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN NEW;
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM audit_checkpoints WHERE seq >= OLD.seq) THEN
            RAISE EXCEPTION 'audit record % is not below a checkpoint: only pruned records are deleted', OLD.seq
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit records are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE TRIGGER nuri_audit_records_guard
    BEFORE INSERT OR UPDATE OR DELETE ON audit_records
    FOR EACH ROW EXECUTE FUNCTION nuri_audit_records_guard();
CREATE OR REPLACE TRIGGER nuri_audit_records_no_truncate
    BEFORE TRUNCATE ON audit_records
    FOR EACH STATEMENT EXECUTE FUNCTION nuri_audit_records_guard();

CREATE OR REPLACE FUNCTION nuri_audit_head_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.seq = OLD.seq + 1
       AND EXISTS (SELECT 1 FROM audit_records WHERE seq = NEW.seq AND hash = NEW.hash) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit head only moves forward by one, to an appended record: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE TRIGGER nuri_audit_head_guard
    BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION nuri_audit_head_guard();
CREATE OR REPLACE TRIGGER nuri_audit_head_no_truncate
    BEFORE TRUNCATE ON audit_head
    FOR EACH STATEMENT EXECUTE FUNCTION nuri_audit_head_guard();

CREATE OR REPLACE FUNCTION nuri_audit_checkpoints_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit checkpoints are append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE TRIGGER nuri_audit_checkpoints_guard
    BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION nuri_audit_checkpoints_guard();
CREATE OR REPLACE TRIGGER nuri_audit_checkpoints_no_truncate
    BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION nuri_audit_checkpoints_guard();
