"""The FOCUS 1.2 target schema we store, as data (billing-formats.md §5).

``COLUMNS`` is the ordered list of stored columns: every FOCUS 1.2 Mandatory column,
the Recommended/Conditional ones AWS, GCP and Azure can fill, then our ``x_`` extras
(custom columns come after all FOCUS columns and are never intermixed, per
``column_handling.md``). ``SCHEMA`` is the same list as a pyarrow schema, the contract
between normalizers, the landing zone (Parquet) and the PostgreSQL loader.

Type choices:

* Money and quantities: ``decimal256(76, 38)`` = PostgreSQL unconstrained ``numeric``.
  Providers publish more digits than any fixed 18 places: AWS CUR costs like
  ``0.078035218197112280184`` (21 places), EA amortized costs with 28, GCP quantities
  in float E-notation like ``1.1641532182693481E-10`` (26) in the same column as
  byte-seconds around ``1e17``. 38 integer and 38 decimal digits keep every such value
  exactly; only values beyond that (magnitude >= 1e38, more than 38 places) are
  quarantined, never rounded. Only *derived* products (e.g. a list price times a
  quantity) are rounded, half-to-even, at the 38th place. The loader narrows each
  batch to the smallest exact ``decimal128`` for the binary COPY (``load_tables``).
* Date/time: ``timestamp[us, tz=UTC]``. Every ``...End`` is an exclusive bound.
* JSON (``Tags``): a UTF-8 string holding a JSON object; stored as JSONB.

Allowed values come from §5.2 of the reference. Validation rules (§5.3) live in
``focus_rules.py`` (``validate_row`` for a single row), which imports this module, never
the other way round.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

FOCUS_VERSION = "1.2"
MONEY_PRECISION, MONEY_SCALE = 76, 38
MONEY = pa.decimal256(MONEY_PRECISION, MONEY_SCALE)
# values at or beyond this magnitude do not fit MONEY (38 integer digits)
MONEY_LIMIT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)
TIMESTAMP = pa.timestamp("us", tz="UTC")

STRING, DECIMAL, DATETIME, JSON, INT = "String", "Decimal", "Date/Time", "JSON", "Integer"
_ARROW = {STRING: pa.string(), DECIMAL: MONEY, DATETIME: TIMESTAMP, JSON: pa.string(), INT: pa.int64()}

CHARGE_CATEGORIES = frozenset({"Usage", "Purchase", "Tax", "Credit", "Adjustment"})
CHARGE_CLASSES = frozenset({"Correction"})
CHARGE_FREQUENCIES = frozenset({"One-Time", "Recurring", "Usage-Based"})
PRICING_CATEGORIES = frozenset({"Standard", "Dynamic", "Committed", "Other"})
COMMITMENT_DISCOUNT_CATEGORIES = frozenset({"Spend", "Usage"})
COMMITMENT_DISCOUNT_STATUSES = frozenset({"Used", "Unused"})
SERVICE_CATEGORIES = frozenset(
    {
        "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases",
        "Developer Tools", "Multicloud", "Identity", "Integration", "Internet of Things",
        "Management and Governance", "Media", "Migration", "Mobile", "Networking", "Security",
        "Storage", "Web", "Other",
    }
)  # fmt: skip


@dataclass(frozen=True)
class FocusColumn:
    name: str
    type: str  # STRING | DECIMAL | DATETIME | JSON | INT
    level: str  # Mandatory | Recommended | Conditional | Custom (x_)
    nullable: bool
    allowed: frozenset[str] | None = None

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW[self.type]


def _c(name: str, type_: str, level: str, nullable: bool, allowed: frozenset[str] | None = None) -> FocusColumn:
    return FocusColumn(name, type_, level, nullable, allowed)


M, R, C, X = "Mandatory", "Recommended", "Conditional", "Custom"

COLUMNS: tuple[FocusColumn, ...] = (
    _c("AvailabilityZone", STRING, R, True),
    _c("BilledCost", DECIMAL, M, False),
    _c("BillingAccountId", STRING, M, False),
    _c("BillingAccountName", STRING, M, True),
    _c("BillingCurrency", STRING, M, False),
    _c("BillingPeriodEnd", DATETIME, M, False),
    _c("BillingPeriodStart", DATETIME, M, False),
    _c("ChargeCategory", STRING, M, False, CHARGE_CATEGORIES),
    _c("ChargeClass", STRING, M, True, CHARGE_CLASSES),
    _c("ChargeDescription", STRING, M, True),
    _c("ChargeFrequency", STRING, R, False, CHARGE_FREQUENCIES),
    _c("ChargePeriodEnd", DATETIME, M, False),
    _c("ChargePeriodStart", DATETIME, M, False),
    _c("CommitmentDiscountCategory", STRING, C, True, COMMITMENT_DISCOUNT_CATEGORIES),
    _c("CommitmentDiscountId", STRING, C, True),
    _c("CommitmentDiscountName", STRING, C, True),
    _c("CommitmentDiscountStatus", STRING, C, True, COMMITMENT_DISCOUNT_STATUSES),
    _c("CommitmentDiscountType", STRING, C, True),
    _c("ConsumedQuantity", DECIMAL, C, True),
    _c("ConsumedUnit", STRING, C, True),
    _c("ContractedCost", DECIMAL, M, False),
    _c("ContractedUnitPrice", DECIMAL, C, True),
    _c("EffectiveCost", DECIMAL, M, False),
    _c("InvoiceId", STRING, R, True),
    _c("InvoiceIssuerName", STRING, M, False),
    _c("ListCost", DECIMAL, M, False),
    _c("ListUnitPrice", DECIMAL, C, True),
    _c("PricingCategory", STRING, C, True, PRICING_CATEGORIES),
    _c("PricingQuantity", DECIMAL, M, True),
    _c("PricingUnit", STRING, M, True),
    _c("ProviderName", STRING, M, False),
    _c("PublisherName", STRING, M, False),
    _c("RegionId", STRING, C, True),
    _c("RegionName", STRING, C, True),
    _c("ResourceId", STRING, C, True),
    _c("ResourceName", STRING, C, True),
    _c("ResourceType", STRING, C, True),
    _c("ServiceCategory", STRING, M, False, SERVICE_CATEGORIES),
    _c("ServiceName", STRING, M, False),
    _c("SkuId", STRING, C, True),
    _c("SkuPriceId", STRING, C, True),
    _c("SubAccountId", STRING, C, True),
    _c("SubAccountName", STRING, C, True),
    _c("Tags", JSON, C, True),
    # --- x_ extras: lineage and slice identity (docs/architecture.md §4) -------------------------
    _c("x_provider", STRING, X, False),  # aws | gcp | azure
    _c("x_billing_account", STRING, X, False),  # slice: billing account
    _c("x_billing_period", STRING, X, False),  # slice: "YYYY-MM"
    _c("x_version", STRING, X, False),  # delivery token: assemblyId, runId, ...
    _c("x_chunk_id", STRING, X, False),
    _c("x_row_ordinal", INT, X, False),  # position of the input row in its chunk
    _c("x_source_file", STRING, X, True),
    _c("x_source_line", INT, X, True),  # 1-based line in the source file (header = 1)
    _c("x_idempotency_key", STRING, X, False),
    # --- x_ extras: provider detail worth keeping --------------------------------------
    _c("x_line_item_type", STRING, X, True),  # AWS lineItem/LineItemType, Azure ChargeType, GCP cost_type
    _c("x_service_code", STRING, X, True),  # AWS lineItem/ProductCode, GCP service.id, ...
    _c("x_usage_type", STRING, X, True),
    _c("x_operation", STRING, X, True),
)

COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)
BY_NAME: Mapping[str, FocusColumn] = {c.name: c for c in COLUMNS}
SCHEMA: pa.Schema = pa.schema(
    [
        pa.field(
            c.name,
            c.arrow_type,
            nullable=c.nullable,
            metadata={"focus_type": c.type, "focus_level": c.level},
        )
        for c in COLUMNS
    ],
    metadata={"focus_version": FOCUS_VERSION, "money": f"decimal({MONEY_PRECISION},{MONEY_SCALE})"},
)


def empty_row() -> dict[str, Any]:
    """A row dict with every stored column set to ``None`` (handy for building rows)."""
    return dict.fromkeys(COLUMN_NAMES)
