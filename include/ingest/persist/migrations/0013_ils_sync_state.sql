-- ILS sync state (docs/architecture.md §6, README "ILS sync"): one row per instance, holding
-- or item we own in the ILS, keyed by our identity (include/ingest/ils/mapping.py).
-- Never edit this file once applied anywhere: add a new migration.
CREATE SCHEMA IF NOT EXISTS ils;

-- synced_sha256: sha256 of our owned fields as the ILS last confirmed them (NULL: never).
-- pending_sha256: the content of a write sent (or about to be) and not yet confirmed; it is
-- set and committed *before* the request goes out, so a sync killed between the ILS's
-- answer and our commit finds it on resume and reads the record back instead of sending
-- it again. A row is in sync when synced_sha256 equals the mapping's hash of today.
CREATE TABLE ils.sync_state (
    kind            text NOT NULL CHECK (kind IN ('instances', 'holdings', 'items')),
    identity        text NOT NULL,
    ils_id          uuid NOT NULL,
    record_id       bigint NOT NULL,          -- catalog record it comes from
    batch_id        text,                     -- catalog batch whose sync wrote it last
    synced_sha256   text,
    pending_sha256  text,
    ils_version     integer,                  -- the ILS _version after our last write
    synced_at       timestamptz,
    pending_since   timestamptz,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,                     -- a write the ILS refused for good (422)
    PRIMARY KEY (kind, identity)
);
CREATE UNIQUE INDEX sync_state_ils_id ON ils.sync_state (ils_id);
CREATE INDEX sync_state_record ON ils.sync_state (record_id);
