"""Billing-period arithmetic shared by the generators (all UTC, end bounds exclusive)."""
from __future__ import annotations

import calendar
import datetime as dt
import re

UTC = dt.timezone.utc
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(month: str) -> tuple[int, int]:
    """'2024-01' -> (2024, 1); raises ValueError naming the expected form."""
    m = _MONTH.match(month)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise ValueError(f"expected a billing month as YYYY-MM (e.g. 2024-01), got {month!r}")
    return int(m.group(1)), int(m.group(2))


def month_start(month: str) -> dt.datetime:
    year, mon = parse_month(month)
    return dt.datetime(year, mon, 1, tzinfo=UTC)


def month_end(month: str) -> dt.datetime:
    """Exclusive end: the first instant of the next month."""
    year, mon = parse_month(month)
    return dt.datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=UTC)


def next_month(month: str) -> str:
    end = month_end(month)
    return f"{end.year:04d}-{end.month:02d}"


def days_in(month: str) -> int:
    year, mon = parse_month(month)
    return calendar.monthrange(year, mon)[1]


def hours_in(month: str) -> int:
    return days_in(month) * 24


def compact(month: str) -> str:
    """'2024-01' -> '202401' (GCP invoice.month)."""
    return month.replace("-", "")


def cur_folder(month: str) -> str:
    """Legacy CUR period folder: '20240101-20240201'."""
    return f"{month_start(month):%Y%m%d}-{month_end(month):%Y%m%d}"


def iso_ms(ts: dt.datetime) -> str:
    """CUR timestamp with milliseconds: 2024-01-01T00:00:00.000Z."""
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def iso_s(ts: dt.datetime) -> str:
    return ts.strftime("%Y-%m-%dT%H:%M:%SZ")


def months_between(start: dt.date, end: dt.date) -> int:
    """Number of calendar months touched by the inclusive date range [start, end]."""
    return (end.year - start.year) * 12 + end.month - start.month + 1
