-- Write every row once (DESIGN.md §4, issue 4): each load of a slice version gets its own
-- table, billing.line_items_load_<load_seq>; chunks are COPYed into it (delete-then-COPY per
-- chunk, as staging was), and publish builds its indexes and ATTACHes it as a partition of
-- billing.line_items, detaching and dropping the version it replaces, in one transaction.
-- Before, rows went to staging and were copied again by INSERT … SELECT at publish.
--
-- Uniqueness: UNIQUE (x_load_seq, x_idempotency_key) per partition. The key hashes provider,
-- account, period, version, chunk and ordinal, and the load is slice + version, so two rows of
-- different loads never share a key: per-load uniqueness is global uniqueness.
--
-- Existing data moves: each published load's rows become its partition, each loading load's
-- staged rows its load table; a row that belongs to no published load stops the migration.

ALTER TABLE billing.ledger ADD COLUMN load_seq bigint GENERATED ALWAYS AS IDENTITY;
ALTER TABLE billing.ledger ADD CONSTRAINT ledger_load_seq_key UNIQUE (load_seq);

DO $migrate$
DECLARE
    focus_view text := pg_get_viewdef('billing.focus'::regclass);
    cols text;
    load record;
    moved bigint := 0;
    total bigint;
BEGIN
    DROP VIEW billing.focus;
    ALTER TABLE billing.line_items RENAME TO line_items_v1;
    ALTER INDEX billing.line_items_idempotency_key RENAME TO line_items_v1_idempotency_key;
    ALTER INDEX billing.line_items_slice RENAME TO line_items_v1_slice;
    ALTER INDEX billing.line_items_charge_period RENAME TO line_items_v1_charge_period;

    CREATE TABLE billing.line_items (
        LIKE billing.line_items_v1 INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
        x_load_seq bigint NOT NULL
    ) PARTITION BY LIST (x_load_seq);
    CREATE UNIQUE INDEX line_items_idempotency_key ON billing.line_items (x_load_seq, x_idempotency_key);
    CREATE INDEX line_items_slice ON billing.line_items (x_provider, x_billing_account, x_billing_period);
    CREATE INDEX line_items_charge_period ON billing.line_items (charge_period_start);
    EXECUTE 'CREATE VIEW billing.focus AS ' || focus_view;

    SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) INTO cols
    FROM information_schema.columns WHERE table_schema = 'billing' AND table_name = 'line_items_v1';

    FOR load IN SELECT * FROM billing.ledger WHERE state IN ('published', 'loading') LOOP
        EXECUTE format('CREATE TABLE billing.%I (LIKE billing.line_items INCLUDING DEFAULTS '
                       'INCLUDING CONSTRAINTS, CHECK (x_load_seq = %s))',
                       'line_items_load_' || load.load_seq, load.load_seq);
        EXECUTE format('ALTER TABLE billing.%I ALTER COLUMN x_load_seq SET DEFAULT %s',
                       'line_items_load_' || load.load_seq, load.load_seq);
        IF load.state = 'published' THEN
            EXECUTE format('INSERT INTO billing.%I (%s) SELECT %s FROM billing.line_items_v1 '
                           'WHERE x_provider = %L AND x_billing_account = %L AND x_billing_period = %L',
                           'line_items_load_' || load.load_seq, cols, cols, load.provider,
                           load.billing_account, load.billing_period);
            GET DIAGNOSTICS total = ROW_COUNT;
            moved := moved + total;
            EXECUTE format('ALTER TABLE billing.line_items ATTACH PARTITION billing.%I FOR VALUES IN (%s)',
                           'line_items_load_' || load.load_seq, load.load_seq);
        ELSE
            EXECUTE format('INSERT INTO billing.%I (%s) SELECT %s FROM billing.staging_line_items '
                           'WHERE x_load_id = %L', 'line_items_load_' || load.load_seq, cols, cols,
                           load.load_id);
        END IF;
    END LOOP;

    SELECT count(*) INTO total FROM billing.line_items_v1;
    IF total <> moved THEN
        RAISE EXCEPTION 'expected every row of billing.line_items to belong to a published load '
            'in billing.ledger, got % of % rows without one; move or delete them, then migrate '
            'again (nothing was changed)', total - moved, total;
    END IF;
    DROP TABLE billing.line_items_v1;
    DROP TABLE billing.staging_line_items;
END
$migrate$;
