-- Every catalog commit (store.commit_batch, rollback.rollback_batch) takes the next value
-- under the catalog write lock. A batch reads the value before its Bloom filter call, made
-- outside the lock while it parses; if its own nextval is not the very next number, another
-- batch committed in between (possibly keys the filter answered "new" for), so it looks
-- every record up in PostgreSQL instead of trusting those misses (screen.py).
CREATE SEQUENCE catalog.commit_seq;
