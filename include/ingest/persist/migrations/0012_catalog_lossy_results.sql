-- A record stored with text its conversion could not recover (a MARC-8 character no table
-- maps, now U+FFFD; a non-ASCII leader byte, now a blank) is flagged, not an ordinary
-- success: `lossy` on its result row (the warnings say what was lost), and each batch
-- counts them for the run summary.
ALTER TABLE catalog.record_results
    ADD COLUMN lossy boolean NOT NULL DEFAULT false;
ALTER TABLE catalog.batches
    ADD COLUMN lossy integer;
