-- Money in quarantine is shown, never reported as "ok": reconciliation compares what was
-- published with what the provider declares, and quarantined rows are not published.
-- * billing.reconciliation gets status 'warning': a shortfall that the quarantined rows
--   account for exactly, or a quarantine line (measure 'quarantined_cost') holding money.
-- * billing.ledger records, per published load, the quarantined rows' Σ cost and the
--   warning text the run summary showed.
ALTER TABLE billing.reconciliation DROP CONSTRAINT reconciliation_status_check;
ALTER TABLE billing.reconciliation ADD CONSTRAINT reconciliation_status_check
    CHECK (status IN ('ok', 'warning', 'discrepancy', 'open'));

ALTER TABLE billing.ledger ADD COLUMN quarantined_billed_cost numeric;
ALTER TABLE billing.ledger ADD COLUMN quarantined_effective_cost numeric;
ALTER TABLE billing.ledger ADD COLUMN warning text;  -- NULL: nothing of value in quarantine
