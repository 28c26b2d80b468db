"""User-supplied GCP billing export rows (``--data DIR/gcp/*.jsonl|*.json|*.csv``) as a table.

Rows follow the export schema (rows.STANDARD_SCHEMA): nested JSON objects (``bq query
--format=json`` / JSON lines), or CSV with dotted headers (``service.description``,
``invoice.month``) whose REPEATED fields (``credits``, ``labels``) hold JSON text. Missing
fields are null. FLOAT values keep their exact text; TIMESTAMPs may be ISO strings, epoch
seconds or BigQuery's E-notation. The golden sums cost and credits exactly (Decimal); query
aggregates use per-row micros, as ``CAST(x * 1000000 AS INT64)`` does in BigQuery.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

from sandbox.gcp.rows import STANDARD_SCHEMA, Core, bq_timestamp
from sandbox.gcp.table import GOLDEN_COLUMNS, PROVIDER, StaticTable
from sandbox.golden import GoldenSlice


def read_rows(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix == ".csv":
        return [_nest(row) for row in csv.DictReader(text.splitlines())]
    stripped = text.lstrip()
    if stripped.startswith("["):
        return json.loads(text, parse_float=Decimal)
    return [json.loads(line, parse_float=Decimal) for line in text.splitlines() if line.strip()]


def _nest(flat: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in flat.items():
        target = out
        *parents, leaf = key.split(".")
        for p in parents:
            target = target.setdefault(p, {})
        if value and value.lstrip()[:1] in "[{":
            target[leaf] = json.loads(value, parse_float=Decimal)
        else:
            target[leaf] = value if value != "" else None
    return out


def _micros_of_time(value: Any) -> int:
    if value is None or value == "":
        return 0
    text = str(value)
    try:
        return int((Decimal(text) * 1_000_000).to_integral_value())  # epoch seconds, E-notation too
    except ArithmeticError:
        parsed = dt.datetime.fromisoformat(text.replace(" UTC", "+00:00").replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.timezone.utc)
        return int(parsed.timestamp()) * 1_000_000 + parsed.microsecond


def _micros(value: Any) -> int:
    return int((Decimal(str(value or 0)) * 1_000_000).quantize(Decimal(1), ROUND_HALF_UP))


def _encode(value: Any, field: dict[str, Any]) -> dict[str, Any]:
    if field.get("mode") == "REPEATED":
        items = value or []
        return {"v": [_encode(item, {**field, "mode": "NULLABLE"}) for item in items]}
    if value is None:
        return {"v": None}
    if field["type"] == "RECORD":
        return {"v": {"f": [_encode(value.get(f["name"]), f) for f in field["fields"]]}}
    if field["type"] == "TIMESTAMP":
        return {"v": bq_timestamp(_micros_of_time(value))}
    if isinstance(value, bool):
        return {"v": "true" if value else "false"}
    return {"v": format(value, "f") if isinstance(value, Decimal) else str(value)}


def build_table(account: str, paths: list[Path]) -> tuple[StaticTable, list[GoldenSlice]]:
    cores, encoded, exact = [], [], []
    for path in paths:
        for row in read_rows(path):
            invoice = row.get("invoice") or {}
            credits = row.get("credits") or []
            cores.append(Core(str(invoice.get("month") or ""), _micros_of_time(row.get("usage_start_time")),
                              _micros_of_time(row.get("export_time")), _micros(row.get("cost")),
                              tuple((0, _micros(c.get("amount"))) for c in credits), 0,
                              str(row.get("cost_type") or "regular"), 0, 0, 0, ()))
            encoded.append([_encode(row.get(f["name"]), f) for f in STANDARD_SCHEMA["fields"]])
            exact.append((cores[-1].month, Decimal(str(row.get("cost") or 0)),
                          sum((Decimal(str(c.get("amount") or 0)) for c in credits), Decimal(0))))
    table = StaticTable(account, cores, encoded, STANDARD_SCHEMA)
    goldens = []
    for month in sorted({m for m, _, _ in exact}):
        rows = [(c, k) for m, c, k in exact if m == month]
        period = f"{month[:4]}-{month[4:]}"
        g = GoldenSlice(PROVIDER, account, period, "user-data", 0, GOLDEN_COLUMNS)
        for cost, credit in rows:
            g.add({"cost": cost, "credits": credit, "cost_plus_credits": cost + credit})
        g.info = {"sources": [str(p) for p in paths]}
        goldens.append(g)
    return table, goldens
