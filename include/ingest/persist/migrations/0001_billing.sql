-- Billing warehouse, FOCUS 1.2 (DESIGN.md §4). Column list = include/ingest/billing/focus.py
-- COLUMNS in snake_case (tests/integration/persist/test_migrations.py keeps them equal);
-- the view billing.focus exposes the exact FOCUS column names for FOCUS tooling.
-- Never edit this file once applied anywhere: add a new migration.
CREATE SCHEMA IF NOT EXISTS billing;

-- Published rows: one slice (provider, billing account, period) holds exactly one version.
CREATE TABLE billing.line_items (
    availability_zone                text,
    billed_cost                      numeric(38,18) NOT NULL,
    billing_account_id               text NOT NULL,
    billing_account_name             text,
    billing_currency                 text NOT NULL,
    billing_period_end               timestamptz NOT NULL,
    billing_period_start             timestamptz NOT NULL,
    charge_category                  text NOT NULL,
    charge_class                     text,
    charge_description               text,
    charge_frequency                 text NOT NULL,
    charge_period_end                timestamptz NOT NULL,
    charge_period_start              timestamptz NOT NULL,
    commitment_discount_category     text,
    commitment_discount_id           text,
    commitment_discount_name         text,
    commitment_discount_status       text,
    commitment_discount_type         text,
    consumed_quantity                numeric(38,18),
    consumed_unit                    text,
    contracted_cost                  numeric(38,18) NOT NULL,
    contracted_unit_price            numeric(38,18),
    effective_cost                   numeric(38,18) NOT NULL,
    invoice_id                       text,
    invoice_issuer_name              text NOT NULL,
    list_cost                        numeric(38,18) NOT NULL,
    list_unit_price                  numeric(38,18),
    pricing_category                 text,
    pricing_quantity                 numeric(38,18),
    pricing_unit                     text,
    provider_name                    text NOT NULL,
    publisher_name                   text NOT NULL,
    region_id                        text,
    region_name                      text,
    resource_id                      text,
    resource_name                    text,
    resource_type                    text,
    service_category                 text NOT NULL,
    service_name                     text NOT NULL,
    sku_id                           text,
    sku_price_id                     text,
    sub_account_id                   text,
    sub_account_name                 text,
    tags                             jsonb,
    x_provider                       text NOT NULL,
    x_billing_account                text NOT NULL,
    x_billing_period                 text NOT NULL,
    x_version                        text NOT NULL,
    x_chunk_id                       text NOT NULL,
    x_row_ordinal                    bigint NOT NULL,
    x_source_file                    text,
    x_source_line                    bigint,
    x_idempotency_key                text NOT NULL,
    x_line_item_type                 text,
    x_service_code                   text,
    x_usage_type                     text,
    x_operation                      text
);
CREATE UNIQUE INDEX line_items_idempotency_key ON billing.line_items (x_idempotency_key);
CREATE INDEX line_items_slice ON billing.line_items (x_provider, x_billing_account, x_billing_period);
CREATE INDEX line_items_charge_period ON billing.line_items (charge_period_start);

-- Staging: rows of one load, keyed by (load id, chunk id); a chunk load deletes its key
-- and COPYs in one transaction, so a retried or duplicated chunk changes nothing.
CREATE TABLE billing.staging_line_items (
    x_load_id                        text NOT NULL,
    LIKE billing.line_items
);
CREATE INDEX staging_load_chunk ON billing.staging_line_items (x_load_id, x_chunk_id);

-- Ledger: one row per slice version load (state machine: loading → published → superseded;
-- loading → stale when a newer version is already published).
CREATE TABLE billing.ledger (
    load_id            text PRIMARY KEY,
    provider           text NOT NULL,
    billing_account    text NOT NULL,
    billing_period     text NOT NULL,
    version            text NOT NULL,
    version_at         timestamptz NOT NULL,
    state              text NOT NULL CHECK (state IN ('loading', 'published', 'superseded', 'stale')),
    chunks_expected    integer,
    rows_in            bigint,
    rows_published     bigint,
    rows_quarantined   bigint,
    billed_cost        numeric(38,18),
    effective_cost     numeric(38,18),
    source             jsonb NOT NULL DEFAULT '{}',
    dag_run_id         text,
    started_at         timestamptz NOT NULL DEFAULT now(),
    published_at       timestamptz,
    superseded_at      timestamptz,
    UNIQUE (provider, billing_account, billing_period, version)
);
CREATE UNIQUE INDEX ledger_one_published_per_slice ON billing.ledger
    (provider, billing_account, billing_period) WHERE state = 'published';

-- Per-chunk record of a load, committed with the chunk's staged rows.
CREATE TABLE billing.chunk_loads (
    load_id            text NOT NULL REFERENCES billing.ledger (load_id),
    chunk_id           text NOT NULL,
    rows_in            bigint NOT NULL,
    rows_staged        bigint NOT NULL,
    rows_quarantined   bigint NOT NULL,
    billed_cost        numeric(38,18) NOT NULL,
    source_file        text,
    normalized_file    text,
    loaded_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (load_id, chunk_id)
);

-- Rows that could not be normalized: raw row + reason + location. Never dropped.
CREATE TABLE billing.quarantine (
    load_id            text NOT NULL,
    chunk_id           text NOT NULL,
    provider           text NOT NULL,
    billing_account    text NOT NULL,
    billing_period     text NOT NULL,
    version            text NOT NULL,
    source_file        text,
    row_ordinal        bigint NOT NULL,   -- position in the chunk (always known)
    source_line        bigint,            -- line in the source file (CSV; NULL for Parquet)
    reason             text NOT NULL,
    raw                text NOT NULL,
    quarantined_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (load_id, chunk_id, row_ordinal)
);

-- Chunks that failed for good: descriptor, error, attempts; replayed by billing_dlq_replay.
CREATE TABLE billing.dlq (
    id                 bigserial PRIMARY KEY,
    dag_id             text NOT NULL,
    task_id            text NOT NULL,
    chunk_key          text NOT NULL,
    descriptor         jsonb NOT NULL,
    error              text NOT NULL,
    attempts           integer NOT NULL DEFAULT 1,
    state              text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'replaying', 'resolved')),
    dag_run_id         text,
    first_failed_at    timestamptz NOT NULL DEFAULT now(),
    last_failed_at     timestamptz NOT NULL DEFAULT now(),
    resolved_at        timestamptz,
    resolution         text,
    UNIQUE (dag_id, task_id, chunk_key)
);

CREATE VIEW billing.focus AS SELECT
    availability_zone AS "AvailabilityZone",
    billed_cost AS "BilledCost",
    billing_account_id AS "BillingAccountId",
    billing_account_name AS "BillingAccountName",
    billing_currency AS "BillingCurrency",
    billing_period_end AS "BillingPeriodEnd",
    billing_period_start AS "BillingPeriodStart",
    charge_category AS "ChargeCategory",
    charge_class AS "ChargeClass",
    charge_description AS "ChargeDescription",
    charge_frequency AS "ChargeFrequency",
    charge_period_end AS "ChargePeriodEnd",
    charge_period_start AS "ChargePeriodStart",
    commitment_discount_category AS "CommitmentDiscountCategory",
    commitment_discount_id AS "CommitmentDiscountId",
    commitment_discount_name AS "CommitmentDiscountName",
    commitment_discount_status AS "CommitmentDiscountStatus",
    commitment_discount_type AS "CommitmentDiscountType",
    consumed_quantity AS "ConsumedQuantity",
    consumed_unit AS "ConsumedUnit",
    contracted_cost AS "ContractedCost",
    contracted_unit_price AS "ContractedUnitPrice",
    effective_cost AS "EffectiveCost",
    invoice_id AS "InvoiceId",
    invoice_issuer_name AS "InvoiceIssuerName",
    list_cost AS "ListCost",
    list_unit_price AS "ListUnitPrice",
    pricing_category AS "PricingCategory",
    pricing_quantity AS "PricingQuantity",
    pricing_unit AS "PricingUnit",
    provider_name AS "ProviderName",
    publisher_name AS "PublisherName",
    region_id AS "RegionId",
    region_name AS "RegionName",
    resource_id AS "ResourceId",
    resource_name AS "ResourceName",
    resource_type AS "ResourceType",
    service_category AS "ServiceCategory",
    service_name AS "ServiceName",
    sku_id AS "SkuId",
    sku_price_id AS "SkuPriceId",
    sub_account_id AS "SubAccountId",
    sub_account_name AS "SubAccountName",
    tags AS "Tags",
    x_provider AS "x_provider",
    x_billing_account AS "x_billing_account",
    x_billing_period AS "x_billing_period",
    x_version AS "x_version",
    x_chunk_id AS "x_chunk_id",
    x_row_ordinal AS "x_row_ordinal",
    x_source_file AS "x_source_file",
    x_source_line AS "x_source_line",
    x_idempotency_key AS "x_idempotency_key",
    x_line_item_type AS "x_line_item_type",
    x_service_code AS "x_service_code",
    x_usage_type AS "x_usage_type",
    x_operation AS "x_operation"
FROM billing.line_items;
