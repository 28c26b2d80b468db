-- No query reads catalog.record_versions by fingerprint (matching goes through
-- catalog.record_keys, rollback through batch_id, and the Bloom filter holds match keys
-- only), yet every version written paid for a random 64-character entry in this index.
-- The column stays: it records which version of a record (001 + 005) a row is.
DROP INDEX IF EXISTS catalog.record_versions_fingerprint;
