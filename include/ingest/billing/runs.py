"""What a billing DAG run works on: its slice (provider, account, period) from params or
the schedule, and whether the previous month still needs daily refreshes."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from include.ingest.persist.db import connect

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def resolve_period(param: str | None, logical_date: datetime | None) -> str:
    """The billing period of a run: the `billing_period` param when set (manual runs,
    backfills with conf), else the month of the run's logical date (daily schedule)."""
    if param:
        if not PERIOD.match(param):
            raise ValueError(f"expected billing_period as YYYY-MM, got {param!r}")
        return param
    if logical_date is None:
        raise ValueError("expected a billing_period param or a scheduled logical date, got "
                         "neither; set billing_period (YYYY-MM) when triggering")
    return f"{logical_date:%Y-%m}"


def previous_period(period: str) -> str:
    first = datetime.strptime(period, "%Y-%m")
    return f"{first - timedelta(days=1):%Y-%m}"


def needs_refresh(provider: str, account: str, period: str) -> bool:
    """True while the slice is not final: never published, or some published row has no
    InvoiceId yet (AWS leaves it blank until the month is invoiced)."""
    with connect() as conn:
        published, open_rows = conn.execute(
            "SELECT count(*) > 0, count(*) FILTER (WHERE coalesce(invoice_id, '') = '') "
            "FROM billing.line_items WHERE x_provider = %s AND x_billing_account = %s "
            "AND x_billing_period = %s", (provider, account, period)).fetchone()
    return not published or open_rows > 0
