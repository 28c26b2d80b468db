"""Service -> FOCUS ServiceCategory lookup tables (CSV files next to this module).

Sources and licences: README.md in this folder. Each table is read once per process
(``functools.cache``) and validated against the FOCUS allowed values, so a bad edit
to a CSV fails loudly at first use instead of producing invalid rows.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from include.ingest.billing.focus import SERVICE_CATEGORIES

LOOKUP_DIR = Path(__file__).resolve().parent
FALLBACK_CATEGORY = "Other"

# provider -> (file, key column)
_TABLES = {
    "aws": ("aws_category_mapping.csv", "product_code"),
    "gcp": ("gcp_category_mapping.csv", "ConsumedService"),
    "azure": ("azure_category_mapping.csv", "ConsumedService"),
}


@cache
def service_categories(provider: str) -> Mapping[str, str]:
    """Read-only ``{service key: ServiceCategory}`` for ``provider`` (aws | gcp | azure).

    Keys are as in the CSV; ``service_category`` also matches them case-insensitively.
    """
    if provider not in _TABLES:
        raise ValueError(f"expected provider in {sorted(_TABLES)}, got {provider!r}")
    filename, key_column = _TABLES[provider]
    path = LOOKUP_DIR / filename
    mapping: dict[str, str] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            key, category = (row.get(key_column) or "").strip(), (row.get("ServiceCategory") or "").strip()
            if category not in SERVICE_CATEGORIES:
                raise ValueError(
                    f"{path}:{line}: expected a FOCUS ServiceCategory, got {category!r}; fix the lookup CSV"
                )
            if key:
                mapping[key] = category
    return MappingProxyType(mapping)


@cache
def _case_folded(provider: str) -> Mapping[str, str]:
    return MappingProxyType({k.casefold(): v for k, v in service_categories(provider).items()})


def service_category(provider: str, key: str | None) -> str:
    """ServiceCategory for one service key; ``Other`` when unknown or empty."""
    if not key:
        return FALLBACK_CATEGORY
    exact = service_categories(provider).get(key)
    if exact is not None:
        return exact
    return _case_folded(provider).get(key.casefold(), FALLBACK_CATEGORY)
