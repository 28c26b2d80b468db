"""Evaluate a parsed key/aggregate query (gcp/sql.py) over table cores.

Sums run on integer micros, so every total is exact; results are REST strings (FLOAT as
exact decimal text, NUMERIC as plain decimal, INTEGER, TIMESTAMP in E notation). Without
ORDER BY, rows come sorted by their keys (deterministic paging).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from sandbox.gcp.rows import bq_micros, bq_timestamp
from sandbox.gcp.sql import Item, ParsedQuery


def aggregate(query: ParsedQuery, cores: Any) -> list[list[str | None]]:
    """Evaluate a key/aggregate query over cores; rows as lists of REST strings."""
    keys = [i for i in query.items if i.key]
    groups: dict[tuple[str, ...], dict[str, int]] = {}
    for core in cores:
        group = tuple(i.key(core) for i in keys)
        acc = groups.get(group)
        if acc is None:
            acc = groups[group] = {"count": 0, "cost": 0, "credits": 0, "max_export": core.export_us, "min_export": core.export_us}
        acc["count"] += 1
        acc["cost"] += core.cost_micros
        acc["credits"] += core.credits_micros
        acc["max_export"] = max(acc["max_export"], core.export_us)
        acc["min_export"] = min(acc["min_export"], core.export_us)
    if not groups and not keys:
        groups[()] = {"count": 0, "cost": 0, "credits": 0, "max_export": None, "min_export": None}
    rows = []
    for group, acc in groups.items():
        row, key_values = [], iter(group)
        for item in query.items:
            row.append(next(key_values) if item.key else _render(item, acc))
        rows.append(row)
    order = query.order or [(k, False) for k, i in enumerate(query.items) if i.key]
    for index, desc in reversed(order):
        rows.sort(key=lambda r: _sort_key(query.items[index], r[index]), reverse=desc)
    return rows[: query.limit] if query.limit is not None else rows


def _render(item: Item, acc: dict[str, Any]) -> str | None:
    if item.measures[0] in ("max_export", "min_export"):
        us = acc[item.measures[0]]
        return None if us is None else bq_timestamp(us)
    if item.measures[0] == "count":
        return str(acc["count"])
    micros = sum(acc[m] for m in item.measures)
    if item.type == "INTEGER":
        return str(micros)
    if item.type == "NUMERIC":
        return format(Decimal(micros).scaleb(-6).normalize(), "f")
    return bq_micros(micros)


def _sort_key(item: Item, value: str | None) -> Any:
    if value is None:
        return (0, 0)
    if item.type in ("INTEGER", "FLOAT", "NUMERIC", "TIMESTAMP"):
        return (1, float(value))
    return (1, value)
