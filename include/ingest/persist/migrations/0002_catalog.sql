-- Library catalog store (DESIGN.md §6): versioned records, batches, per-record results, DLQ.
-- Never edit this file once applied anywhere: add a new migration.
CREATE SCHEMA IF NOT EXISTS catalog;

-- One row per planned batch (a byte range of one landed file). State machine:
-- staged (planned) → committed (records + results written in one transaction)
-- → synced (pushed to the ILS) ; committed/synced → rolled_back.
CREATE TABLE catalog.batches (
    batch_id           text PRIMARY KEY,
    run_id             text NOT NULL,
    batch_no           integer NOT NULL,
    source             text NOT NULL,            -- the landed file (URL / path)
    source_sha256      text NOT NULL,
    format             text NOT NULL CHECK (format IN ('marc21', 'marcxml', 'jsonld')),
    byte_start         bigint NOT NULL,
    byte_end           bigint NOT NULL,
    first_ordinal      bigint NOT NULL,
    records_planned    integer NOT NULL,
    overlay_policy     text NOT NULL CHECK (overlay_policy IN ('replace', 'keep_existing', 'create_new')),
    descriptor         jsonb NOT NULL,
    state              text NOT NULL DEFAULT 'staged'
                       CHECK (state IN ('staged', 'committed', 'synced', 'rolled_back')),
    records_in         integer,
    created            integer,
    updated            integer,
    unchanged          integer,
    duplicate_in_file  integer,
    errors             integer,
    attempts           integer NOT NULL DEFAULT 0,
    last_error         text,
    staged_at          timestamptz NOT NULL DEFAULT now(),
    committed_at       timestamptz,
    synced_at          timestamptz,
    rolled_back_at     timestamptz,
    rollback_report    jsonb,
    UNIQUE (run_id, batch_no)
);
CREATE INDEX batches_source ON catalog.batches (source_sha256);

-- A catalog record: a stable id whose content lives in versions. current_version NULL =
-- deleted (the batch that created it was rolled back); last_version numbers new versions.
CREATE TABLE catalog.records (
    record_id          bigserial PRIMARY KEY,
    kind               text NOT NULL CHECK (kind IN ('marc', 'bibframe')),
    current_version    integer,
    last_version       integer NOT NULL,
    created_batch      text NOT NULL,
    updated_batch      text NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

-- Every version ever written, with the batch that wrote it and the version it replaced
-- (previous_version NULL: the batch created the record). Rollback restores previous_version.
-- No foreign keys on the high-volume tables below: their rows are written only by
-- store.commit_batch / rollback, inside one transaction with the rows they point to, and a
-- per-row FK trigger would cost more than the rest of the insert.
CREATE TABLE catalog.record_versions (
    record_id          bigint NOT NULL,
    version            integer NOT NULL,
    previous_version   integer,
    batch_id           text NOT NULL,
    source_ordinal     bigint NOT NULL,
    content            jsonb NOT NULL,           -- MARC-in-JSON, or an expanded JSON-LD graph
    content_sha256     text NOT NULL,
    fingerprint        text NOT NULL,            -- sha256(001 + 005), else content_sha256
    keys               jsonb NOT NULL,           -- [[kind, value], …] match keys of this version
    encoding           text NOT NULL,            -- input encoding: utf-8, marc-8, ascii, …
    encoding_guessed   boolean NOT NULL DEFAULT false,
    warnings           jsonb,                    -- char errors, repairs, ISO 2709 limits
    written_at         timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (record_id, version)
);
CREATE INDEX record_versions_batch ON catalog.record_versions (batch_id);
CREATE INDEX record_versions_fingerprint ON catalog.record_versions (fingerprint);

-- Match keys of every record's *current* version (kind: ocn, isbn, control, content).
CREATE TABLE catalog.record_keys (
    kind               text NOT NULL,
    value              text NOT NULL,
    record_id          bigint NOT NULL,
    PRIMARY KEY (kind, value, record_id)
);
CREATE INDEX record_keys_record ON catalog.record_keys (record_id);

-- Per-record result log (like FOLIO's recordProcessingLogDto): one row per input record.
CREATE TABLE catalog.record_results (
    batch_id           text NOT NULL,
    source_ordinal     bigint NOT NULL,          -- position in the file, bad records included
    byte_offset        bigint NOT NULL,
    status             text NOT NULL
                       CHECK (status IN ('created', 'updated', 'unchanged', 'duplicate_in_file', 'error')),
    record_id          bigint,
    version            integer,
    match_on           text,
    detail             text,
    PRIMARY KEY (batch_id, source_ordinal)
);
CREATE INDEX record_results_record ON catalog.record_results (record_id);

-- Records that could not be read: raw bytes, where they were, why. Never dropped.
CREATE TABLE catalog.dlq (
    dlq_id             bigserial PRIMARY KEY,
    batch_id           text NOT NULL,
    source             text NOT NULL,
    source_ordinal     bigint NOT NULL,
    byte_offset        bigint NOT NULL,
    format             text NOT NULL,
    reason             text NOT NULL,
    raw                bytea NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (batch_id, source_ordinal)
);
