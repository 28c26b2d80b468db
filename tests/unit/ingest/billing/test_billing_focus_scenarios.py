"""Our FOCUS rules accept the official FOCUS 1.2 commitment-discount example rows.

The scenario files (FOCUS_Spec v1.2 ``specification/data/``, CC-BY-4.0) carry only the
columns each scenario is about; absent mandatory columns get neutral defaults here, so
what is tested is that no rule of ours is stricter than the spec's own examples
(Unused commitment rows, zero BilledCost with positive EffectiveCost, year-long
purchase periods...) and that the amortization arithmetic in them adds up.
"""

import csv
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from include.ingest.billing.focus import BY_NAME, COLUMNS, DATETIME, DECIMAL, SCHEMA
from include.ingest.billing.focus_rules import find_violations
from include.ingest.billing.normalize import arrow_parse

ROOT = Path(__file__).resolve().parents[3] / "fixtures/billing/focus-1.2-scenarios"
FILES = sorted(ROOT.glob("commitment_discount_*/*.csv")) if ROOT.exists() else []
pytestmark = pytest.mark.skipif(not FILES, reason="shared FOCUS scenario data not mounted")

DEFAULTS = {
    "BillingAccountId": "acct-1", "BillingCurrency": "USD", "InvoiceIssuerName": "Provider",
    "ProviderName": "Provider", "PublisherName": "Provider", "ServiceCategory": "Compute", "ServiceName": "VM",
    "x_provider": "test", "x_billing_account": "acct-1", "x_billing_period": "2023-01", "x_version": "v1",
    "x_chunk_id": "0", "x_idempotency_key": "0" * 64,
}  # fmt: skip


# A typo in the upstream examples (hour 30); our parser must reject it, not "fix" it.
KNOWN_BAD_TIMESTAMPS = {"2023-02-01T30:00:00Z"}


def load(path, keep_bad=False):
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = [r for r in csv.DictReader(handle) if any(v.strip() for v in r.values())]
    for row in rows:
        for key, value in list(row.items()):
            row[key] = None if value in ("", "null") else value
    if keep_bad:
        return rows
    return [r for r in rows if not KNOWN_BAD_TIMESTAMPS & set(r.values())]


def to_table(rows):
    columns = {}
    for col in COLUMNS:
        texts = [r.get(col.name, DEFAULTS.get(col.name)) for r in rows]
        if col.name in ("ListCost", "ContractedCost"):
            texts = [t if t is not None else r.get("BilledCost") for t, r in zip(texts, rows)]
        if col.name == "CommitmentDiscountCategory":  # scenarios are usage-based commitments
            texts = [t if t is not None or r.get("CommitmentDiscountId") is None else "Usage" for t, r in zip(texts, rows)]
        array = pa.array(texts, pa.string())
        if col.type == DECIMAL:
            array, problems = arrow_parse.decimals(array)
            assert not problems, (col.name, problems)
        elif col.type == DATETIME:
            array, problems = arrow_parse.timestamps(array)
            assert not problems, (col.name, problems)
        else:
            array = pa.array(texts if col.name != "x_row_ordinal" else list(range(len(rows))), col.arrow_type)
        columns[col.name] = array
    return pa.Table.from_pydict(columns, schema=SCHEMA)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_official_examples_pass_our_rules(path):
    rows = load(path)
    assert rows
    assert find_violations(to_table(rows)) == {}


def test_the_upstream_typo_is_rejected_by_our_timestamp_parser():
    bad = [v for path in FILES for r in load(path, keep_bad=True) for v in r.values() if v in KNOWN_BAD_TIMESTAMPS]
    assert bad  # still present upstream; if this fails, drop KNOWN_BAD_TIMESTAMPS
    _, problems = arrow_parse.timestamps(pa.array(bad))
    assert len(problems) == len(bad)


def test_commitment_usage_adds_up_to_the_hourly_commitment():
    """Used + Unused EffectiveCost per hour equals the hourly commitment (usage scenarios)."""
    for path in sorted(ROOT.glob("commitment_discount_scenarios/commitment_discount_usage_scenario_*.csv")):
        per_hour = defaultdict(Decimal)
        for row in load(path):
            if row["ChargeCategory"] == "Usage" and row["CommitmentDiscountStatus"] in ("Used", "Unused"):
                per_hour[row["ChargePeriodStart"]] += Decimal(row["EffectiveCost"])
        assert per_hour and set(per_hour.values()) == {Decimal("1.00")}, path.name


def test_schema_knows_every_scenario_column_we_store():
    stored = {c for path in FILES for c in load(path)[0] if c in BY_NAME}
    assert {"BilledCost", "EffectiveCost", "CommitmentDiscountId", "CommitmentDiscountStatus"} <= stored
