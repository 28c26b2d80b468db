-- Money and quantities keep every digit the provider publishes: numeric(38,18) becomes
-- unconstrained numeric. Real exports carry more than 18 decimal places (AWS CUR costs with
-- 21, EA amortized costs with 28, GCP quantities like 1.1641532182693481E-10 beside
-- byte-seconds near 1e17); under numeric(38,18) their rows were quarantined. numeric sums
-- stay exact. Dropping the typmod needs no table rewrite.
--
-- Covers billing.line_items (its attached partitions follow), every load table not attached
-- yet (a load still `loading`), and the ledger, chunk and reconciliation amounts.

DO $migrate$
DECLARE
    focus_view text := pg_get_viewdef('billing.focus'::regclass);
    col record;
BEGIN
    DROP VIEW billing.focus;  -- a view pins its columns' types; recreated unchanged below
    FOR col IN
        SELECT c.table_name, c.column_name
        FROM information_schema.columns c
        JOIN pg_class t ON t.relname = c.table_name
        JOIN pg_namespace n ON n.oid = t.relnamespace AND n.nspname = c.table_schema
        WHERE c.table_schema = 'billing' AND c.data_type = 'numeric'
          AND c.numeric_precision IS NOT NULL
          AND t.relkind IN ('r', 'p') AND NOT t.relispartition
        ORDER BY c.table_name, c.ordinal_position
    LOOP
        EXECUTE format('ALTER TABLE billing.%I ALTER COLUMN %I TYPE numeric',
                       col.table_name, col.column_name);
    END LOOP;
    EXECUTE 'CREATE VIEW billing.focus AS ' || focus_view;
END
$migrate$;
