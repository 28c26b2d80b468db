-- Staging is transient (rows live there from chunk load to publish), so it skips the WAL:
-- COPY into it costs about half. A crash empties an UNLOGGED table; billing.chunk_loads
-- (logged) still records what was staged, so publish finds "expected N staged rows, got 0"
-- and refuses — the chunks are reloaded from the landing zone, nothing is lost silently.
ALTER TABLE billing.staging_line_items SET UNLOGGED;
