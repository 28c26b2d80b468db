"""FOCUS 1.2 normative rules (billing-formats.md §5.3), checked column-wise on a batch.

``find_violations(table) -> {row_index: [reason, ...]}`` -- rows not in the dict are
valid. One implementation serves both batches (normalizers, ~30 vectorized compute
calls per batch) and single rows (``validate_row`` builds a one-row table).

Two severities:

* default rules make a row unusable: a NULL where FOCUS forbids it, an empty string,
  a value outside the allowed list, a period that ends before it starts, a Tax row
  with pricing columns, a malformed Tags object... Normalizers quarantine such rows.
* ``strict=True`` adds conformance/consistency checks (Usage rows without SkuId or
  PricingCategory, ``ListUnitPrice x PricingQuantity != ListCost``, zero-length
  charge periods, Credit rows whose costs differ). Providers break these routinely
  (AWS rounds costs to ~10 places, so 514 of the 1,281 sample rows have
  ``rate x amount != publicOnDemandCost``); quarantining them would drop real
  billed money from the published slice, so they are reported, not quarantined.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing import decimal_ops
from include.ingest.billing.focus import (
    BY_NAME,
    COLUMNS,
    DATETIME,
    DECIMAL,
    INT,
    JSON,
    MONEY,
    SCHEMA,
    STRING,
)

Reasons = dict[int, list[str]]
Table = pa.Table | pa.RecordBatch
CONSISTENCY_TOLERANCE = Decimal("0.000001")  # in billing currency; far above provider rounding


def _flag(reasons: Reasons, mask: Any, message: str | Callable[[int], str]) -> None:
    """Append ``message`` to every row where ``mask`` is true (NULL counts as false)."""
    if not pc.any(mask).as_py():  # the common case: one cheap reduction, no index list
        return
    hits = pc.indices_nonzero(pc.fill_null(mask, False)).to_pylist()
    for i in hits:
        reasons.setdefault(i, []).append(message(i) if callable(message) else message)


def _check_schema(table: Table) -> None:
    if table.schema.equals(SCHEMA, check_metadata=False):
        return
    for field in SCHEMA:
        if field.name not in table.schema.names:
            raise ValueError(f"expected FOCUS column {field.name!r} in the batch, got columns {table.schema.names}")
        actual = table.schema.field(field.name).type
        if actual != field.type:
            raise ValueError(f"expected {field.name} as {field.type}, got {actual}; build batches with focus.SCHEMA")


def _column_rules(table: Table, reasons: Reasons) -> None:
    for col in COLUMNS:
        arr = table.column(col.name)
        if arr.null_count == len(arr):
            if not col.nullable:
                _flag(reasons, pc.is_null(arr), f"expected {col.name} to be set (FOCUS: not nullable), got NULL")
            continue
        if not col.nullable and arr.null_count:
            _flag(reasons, pc.is_null(arr), f"expected {col.name} to be set (FOCUS: not nullable), got NULL")
        if col.type in (STRING, JSON):
            lengths = pc.binary_length(arr)
            if pc.min(lengths).as_py() == 0:
                _flag(reasons, pc.equal(lengths, 0), f"expected NULL or a value in {col.name}, got an empty string")
        if col.allowed:
            allowed = sorted(col.allowed)
            bad = pc.invert(pc.is_in(arr, value_set=pa.array(allowed)))
            _flag(
                reasons,
                pc.and_(pc.is_valid(arr), pc.and_(bad, pc.not_equal(arr, ""))),
                lambda i, a=arr, n=col.name, ok=allowed: f"expected {n} in {ok}, got {a[i].as_py()!r}",
            )


def _distinct_check(reasons: Reasons, values: Any, ok: Callable[[str], bool], message: Callable[[str], str]) -> None:
    """Check a low-cardinality column once per distinct value (currency, period)."""
    encoded = pc.dictionary_encode(values)
    if isinstance(encoded, pa.ChunkedArray):
        encoded = encoded.combine_chunks()
    bad = [i for i, v in enumerate(encoded.dictionary.to_pylist()) if not ok(v)]
    if bad:
        in_bad = pc.is_in(encoded.indices, value_set=pa.array(bad, encoded.indices.type))
        hits = pc.indices_nonzero(pc.fill_null(in_bad, False))
        for i in hits.to_pylist():
            reasons.setdefault(i, []).append(message(encoded.dictionary[encoded.indices[i].as_py()].as_py()))


_CURRENCY = re.compile(r"[A-Z]{3}")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def _format_rules(t: Table, reasons: Reasons) -> None:
    _distinct_check(
        reasons,
        t.column("BillingCurrency"),
        lambda v: bool(_CURRENCY.fullmatch(v)),
        lambda v: f"expected BillingCurrency as an ISO 4217 code like 'USD', got {v!r}",
    )
    _distinct_check(
        reasons,
        t.column("x_billing_period"),
        lambda v: bool(_PERIOD.fullmatch(v)),
        lambda v: f"expected x_billing_period as 'YYYY-MM', got {v!r}",
    )
    # We generate the key; checking its length per row is enough (a regex costs 10x more).
    key = t.column("x_idempotency_key")
    _flag(reasons, pc.not_equal(pc.binary_length(key), 64), "expected x_idempotency_key as 64 hex chars (sha256)")
    _flag(reasons, pc.less(t.column("x_row_ordinal"), 0), "expected x_row_ordinal >= 0")
    tags = t.column("Tags")
    if tags.null_count == len(tags):
        return
    # JSON has to be parsed in Python: once per distinct Tags text (tag sets repeat on
    # every hourly line of a resource), not once per row.
    _distinct_check(reasons, tags, lambda v: v == "" or tags_problem(v) is None, lambda v: str(tags_problem(v)))


def _period_rules(t: Table, reasons: Reasons) -> None:
    bstart, bend = t.column("BillingPeriodStart"), t.column("BillingPeriodEnd")
    _flag(
        reasons,
        pc.less_equal(bend, bstart),
        lambda i: f"expected BillingPeriodEnd (exclusive) after BillingPeriodStart, got {bstart[i]} .. {bend[i]}",
    )
    cstart, cend = t.column("ChargePeriodStart"), t.column("ChargePeriodEnd")
    _flag(
        reasons,
        pc.less(cend, cstart),
        lambda i: f"expected ChargePeriodEnd (exclusive) not before ChargePeriodStart, got {cstart[i]} .. {cend[i]}",
    )


def _charge_rules(t: Table, reasons: Reasons) -> None:
    category = t.column("ChargeCategory")
    is_tax = pc.equal(category, "Tax")
    for name in ("PricingQuantity", "SkuId", "PricingCategory"):
        _flag(reasons, pc.and_(is_tax, pc.is_valid(t.column(name))), f"expected {name} NULL on a Tax row, got a value")
    _flag(
        reasons,
        pc.and_(pc.equal(category, "Purchase"), pc.equal(t.column("ChargeFrequency"), "Usage-Based")),
        "expected ChargeFrequency One-Time or Recurring on a Purchase row, got 'Usage-Based'",
    )
    _flag(
        reasons,
        pc.and_(pc.is_valid(t.column("ConsumedQuantity")), pc.not_equal(category, "Usage")),
        lambda i: f"expected ConsumedQuantity NULL unless ChargeCategory is Usage, got it on a {category[i]} row",
    )
    cd_id = t.column("CommitmentDiscountId")
    for name in ("CommitmentDiscountStatus", "CommitmentDiscountCategory", "CommitmentDiscountType"):
        _flag(
            reasons,
            pc.and_(pc.is_null(cd_id), pc.is_valid(t.column(name))),
            f"expected {name} NULL when CommitmentDiscountId is NULL, got a value",
        )
    _flag(
        reasons,
        pc.and_(pc.is_valid(cd_id), pc.is_null(t.column("CommitmentDiscountCategory"))),
        "expected CommitmentDiscountCategory when CommitmentDiscountId is set, got NULL",
    )


def _strict_rules(t: Table, reasons: Reasons) -> None:
    category = t.column("ChargeCategory")
    not_correction = pc.is_null(t.column("ChargeClass"))
    priced = pc.and_(pc.is_in(category, value_set=pa.array(["Usage", "Purchase"])), not_correction)
    for name in ("PricingQuantity", "PricingUnit", "SkuId", "PricingCategory"):
        missing = pc.and_(priced, pc.is_null(t.column(name)))
        _flag(reasons, missing, f"expected {name} on a Usage/Purchase row, got NULL")
    _flag(
        reasons,
        pc.equal(t.column("ChargePeriodEnd"), t.column("ChargePeriodStart")),
        "expected a non-empty charge period, got ChargePeriodEnd == ChargePeriodStart",
    )
    tolerance = pa.scalar(CONSISTENCY_TOLERANCE, MONEY)
    quantity = t.column("PricingQuantity")
    for unit_price, cost in (("ListUnitPrice", "ListCost"), ("ContractedUnitPrice", "ContractedCost")):
        product, _ = decimal_ops.multiply(t.column(unit_price), quantity)
        off = pc.greater(pc.abs(decimal_ops.subtract(product, t.column(cost))), tolerance)
        _flag(
            reasons,
            pc.and_(not_correction, off),
            lambda i, u=unit_price, c=cost, p=product: (
                f"expected {c} = {u} x PricingQuantity = {p[i].as_py()}, got {t.column(c)[i].as_py()}"
            ),
        )
    is_credit = pc.equal(category, "Credit")
    billed = t.column("BilledCost")
    for name in ("EffectiveCost", "ListCost", "ContractedCost"):
        differs = pc.and_(is_credit, pc.not_equal(t.column(name), billed))
        _flag(reasons, differs, f"expected {name} = BilledCost on a Credit row")


def find_violations(table: Table, *, strict: bool = False) -> Reasons:
    """``{row_index: [reasons]}`` for every row of ``table`` (which must use ``focus.SCHEMA``
    column types) that breaks a rule. Raises ``ValueError`` only for a wrong schema --
    a programming error, not a data error."""
    _check_schema(table)
    reasons: Reasons = {}
    if table.num_rows == 0:
        return reasons
    _column_rules(table, reasons)
    _format_rules(table, reasons)
    _period_rules(table, reasons)
    _charge_rules(table, reasons)
    if strict:
        _strict_rules(table, reasons)
    return reasons


def tags_problem(text: str) -> str | None:
    """Why ``text`` is not a FOCUS Tags value (JSON object of scalars), or ``None``."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"expected Tags as a JSON object, got unparseable JSON ({exc.msg})"
    if not isinstance(value, dict):
        return f"expected Tags as a JSON object, got a JSON {type(value).__name__}"
    if all(not isinstance(v, (dict, list)) for v in value.values()):
        return None
    nested = sorted(k for k, v in value.items() if isinstance(v, (dict, list)))
    if nested:
        return f"expected scalar Tags values (string/number/bool/null), got nested values for {nested}"
    return None


def _python_type_problem(name: str, kind: str, value: Any) -> str | None:
    if value is None:
        return None
    if kind == DECIMAL:
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            return f"expected Decimal for {name}, got {type(value).__name__} {value!r}; parse money with Decimal(str)"
        if isinstance(value, Decimal) and not value.is_finite():
            return f"expected a finite Decimal for {name}, got {value}"
    elif kind == DATETIME:
        if not isinstance(value, dt.datetime) or value.utcoffset() != dt.timedelta(0):
            return f"expected a timezone-aware UTC datetime for {name}, got {value!r}"
    elif kind == INT:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected int for {name}, got {type(value).__name__} {value!r}"
    elif not isinstance(value, str):
        return f"expected str for {name}, got {type(value).__name__} {value!r}"
    return None


def row_to_table(row: Mapping[str, Any]) -> tuple[pa.Table | None, list[str]]:
    """A one-row ``SCHEMA`` table for ``row``, or ``(None, reasons)`` when the Python
    values cannot be stored as-is (float money, naive datetimes, unknown columns...)."""
    reasons = [
        f"unexpected column {k!r}: expected FOCUS columns or the x_ columns of focus.COLUMNS"
        for k in row
        if k not in BY_NAME
    ]
    reasons += [
        problem
        for col in COLUMNS
        if (problem := _python_type_problem(col.name, col.type, row.get(col.name))) is not None
    ]
    if reasons:
        return None, reasons
    try:
        table = pa.Table.from_pylist([{c.name: row.get(c.name) for c in COLUMNS}], schema=SCHEMA)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        return None, [f"expected values that fit the FOCUS schema (money: up to 38 integer and 38 decimal digits), got: {exc}"]
    return table, []


def validate_row(row: Mapping[str, Any], *, strict: bool = False) -> list[str]:
    """Reasons why ``row`` is not a valid stored FOCUS row; ``[]`` means valid.

    ``row`` maps column names to Python values: ``str``, ``decimal.Decimal`` (never
    float), timezone-aware UTC ``datetime``, ``int`` for the integer x_ columns, and
    ``Tags`` as a JSON string. Missing keys count as NULL. ``strict=True`` adds the
    consistency checks that normalizers report but do not quarantine on (see
    ``focus_rules``). Same rules as the batch validator -- it *is* the batch validator,
    run on a one-row table.
    """
    table, reasons = row_to_table(row)
    if table is None:
        return reasons
    return reasons + find_violations(table, strict=strict).get(0, [])
