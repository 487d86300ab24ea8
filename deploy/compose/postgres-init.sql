-- Runs once, when the postgres volume is first initialised. The key store is POSTGRES_DB
-- (nuri_keys); the audit trail and the eval history get databases of their own, so that each
-- can be backed up, kept and permissioned apart. Nuri creates its tables on first use.
CREATE DATABASE nuri_audit OWNER nuri;
CREATE DATABASE nuri_eval OWNER nuri;
