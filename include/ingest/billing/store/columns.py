"""FOCUS column names ↔ warehouse column names (snake_case of the FOCUS name; `x_` kept)."""
from __future__ import annotations

import re

from include.ingest.billing.focus import COLUMN_NAMES


def sql_name(focus_name: str) -> str:
    """`BilledCost` → `billed_cost`; `x_` extras keep their name."""
    if focus_name.startswith("x_"):
        return focus_name
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", focus_name).lower()


SQL_COLUMNS: tuple[str, ...] = tuple(sql_name(name) for name in COLUMN_NAMES)
