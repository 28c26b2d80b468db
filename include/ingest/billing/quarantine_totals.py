"""The money sitting in quarantine for one load: rows, Σ cost read from each raw row, reasons.

Reconciliation compares what we *published* with what the provider declares; quarantined
rows are not published, so their cost is reported on its own line (and as a warning when it
is not zero) instead of being counted as if it were in the warehouse. A raw row whose cost
cannot be read (often the very reason it is quarantined) is counted in ``unreadable``.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext

import psycopg

from include.ingest.billing.decimal_ops import EXACT

# FOCUS BilledCost of a CUR row: the net unblended cost when the report has it (legacy CUR,
# then CUR 2.0 names), else the unblended cost -- as the normalizer maps it
AWS_COSTS = ("lineItem/NetUnblendedCost", "line_item_net_unblended_cost", "lineItem/UnblendedCost",
             "line_item_unblended_cost")
REASONS_SHOWN = 3


@dataclass(frozen=True)
class QuarantineTotals:
    rows: int = 0
    billed_cost: Decimal = Decimal(0)
    effective_cost: Decimal = Decimal(0)
    unreadable: int = 0  # rows whose raw cost could not be read (counted as 0 above)
    reasons: dict[str, int] = field(default_factory=dict)  # first part of each reason -> rows

    @property
    def warning(self) -> str | None:
        """What a run summary, the ledger and the nightly reconcile show, or ``None``."""
        if not self.rows or (not self.billed_cost and not self.effective_cost and not self.unreadable):
            return None
        unread = f", {self.unreadable} of them with an unreadable cost" if self.unreadable else ""
        top = "; ".join(f"{n}× {r}" for r, n in Counter(self.reasons).most_common(REASONS_SHOWN))
        return (f"{self.rows} rows in quarantine hold BilledCost {_plain(self.billed_cost)}, EffectiveCost "
                f"{_plain(self.effective_cost)}{unread} -- not published; reasons: {top} "
                "(see billing.quarantine; fix the source or the normalizer, then replay the chunk)")

    def to_json(self) -> dict:
        return {"rows": self.rows, "billed_cost": str(self.billed_cost),
                "effective_cost": str(self.effective_cost), "unreadable": self.unreadable,
                "reasons": self.reasons, "warning": self.warning}


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def _number(value) -> Decimal:
    return Decimal(str(value).strip()) if value not in (None, "") else Decimal(0)


def raw_amounts(provider: str, raw_text: str) -> tuple[Decimal, Decimal] | None:
    """(billed, effective) of one quarantined raw row, or ``None`` when unreadable."""
    try:
        raw = json.loads(raw_text)
        if provider == "gcp":
            billed = _number(raw.get("cost"))
            credits = sum((_number(c.get("amount")) for c in json.loads(raw.get("credits") or "[]")), Decimal(0))
            return billed, billed + credits
        if provider == "azure":
            from include.ingest.billing.normalize.azure_columns import resolve

            column = resolve(list(raw)).get("cost")
            billed = _number(raw.get(column)) if column else None
            return None if billed is None else (billed, billed)
        column = next((c for c in AWS_COSTS if c in raw), None) if provider == "aws" else None
        if column:
            billed = _number(raw[column])
            return billed, billed
    except (ValueError, TypeError, ArithmeticError, AttributeError, InvalidOperation):
        pass
    return None


def _reason_kind(reason: str) -> str:
    """The reason up to the offending value: rows quarantined for one cause group together."""
    return reason.split(", got ", 1)[0][:200]


def quarantine_totals(conn: psycopg.Connection, load_id: str, provider: str) -> QuarantineTotals:
    rows = unreadable = 0
    billed = effective = Decimal(0)
    reasons: Counter = Counter()
    with localcontext(EXACT):
        for raw, reason in conn.execute("SELECT raw, reason FROM billing.quarantine WHERE load_id = %s "
                                        "ORDER BY chunk_id, row_ordinal", (load_id,)):
            rows += 1
            reasons[_reason_kind(reason)] += 1
            amounts = raw_amounts(provider, raw)
            if amounts is None:
                unreadable += 1
            else:
                billed, effective = billed + amounts[0], effective + amounts[1]
    return QuarantineTotals(rows, billed, effective, unreadable, dict(reasons))
