-- Resumable fetch cursors and provider reconciliation (DESIGN.md §4, §5).
-- Never edit this file once applied anywhere: add a new migration.

-- Where a chunk's paging stands: the durable mirror of the Redis cursor (include/ingest/state.py).
-- Written after every landed page (the page file first, then this row), so a retried task --
-- after a long Retry-After, a killed worker or a Redis flush -- continues from the next page.
CREATE TABLE billing.cursors (
    cursor_key         text PRIMARY KEY,           -- "<load id>|<chunk id>"
    load_id            text NOT NULL,
    chunk_id           text NOT NULL,
    pages_landed       integer NOT NULL,
    rows_done          bigint NOT NULL,
    done               boolean NOT NULL,
    state              jsonb NOT NULL,             -- paginator state: next token, context, seen tokens
    updated_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX cursors_load ON billing.cursors (load_id);

-- One row per measure per check: what the provider declares for a slice against what we
-- loaded (at publish) or published (nightly). status 'discrepancy' names the slice and the
-- difference in `detail`; 'open' = not final yet (e.g. CUR without InvoiceId).
CREATE TABLE billing.reconciliation (
    id                 bigserial PRIMARY KEY,
    checked_at         timestamptz NOT NULL DEFAULT now(),
    context            text NOT NULL CHECK (context IN ('publish', 'nightly')),
    provider           text NOT NULL,
    billing_account    text NOT NULL,
    billing_period     text NOT NULL,
    version            text,                       -- the version we compared (ours)
    load_id            text,
    measure            text NOT NULL,              -- rows | billed_cost | effective_cost | version | files | invoice_final
    declared           numeric(38,18),             -- the provider's number (NULL when not a number)
    observed           numeric(38,18),             -- ours
    difference         numeric(38,18),             -- observed - declared
    status             text NOT NULL CHECK (status IN ('ok', 'discrepancy', 'open')),
    declared_by        text NOT NULL,              -- where the provider's number came from
    detail             text NOT NULL,
    dag_run_id         text
);
CREATE INDEX reconciliation_slice ON billing.reconciliation
    (provider, billing_account, billing_period, checked_at DESC);
CREATE INDEX reconciliation_discrepancies ON billing.reconciliation (checked_at DESC)
    WHERE status = 'discrepancy';
