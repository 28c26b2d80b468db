-- No input record's content is dropped: a record judged the same as an existing version
-- (duplicate_in_file, or unchanged under keep_existing) whose content differs from that
-- version keeps its own stored form here, in its result row — UTF-8 ISO 2709 bytes (`marc`)
-- or the JSON-LD graph (`content`). NULL when the row's record_id/version holds the content.
ALTER TABLE catalog.record_results
    ADD COLUMN marc bytea,
    ADD COLUMN content jsonb;
