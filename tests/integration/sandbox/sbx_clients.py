"""Minimal protocol clients used by the sandbox tests (money parsed as Decimal, never float)."""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Iterator

import requests


def azure_token(sb: Any, tenant: str | None = None) -> str:
    e = sb.endpoints["azure"]
    resp = requests.post(f"{e['url']}/{tenant or e['tenant']}/oauth2/v2.0/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": e["client_id"], "client_secret": e["client_secret"],
        "scope": "https://management.azure.com/.default"})
    resp.raise_for_status()
    return resp.json()["access_token"]


def azure_query_url(sb: Any, scope: str | None = None, extra: str = "") -> str:
    e = sb.endpoints["azure"]
    return f"{e['url']}/{scope or e['scope']}/providers/Microsoft.CostManagement/query?api-version=2023-11-01{extra}"


def azure_pages(url: str, body: dict[str, Any], token: str) -> Iterator[dict[str, Any]]:
    """Every page, following nextLink verbatim with the same body."""
    while url:
        resp = requests.post(url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert resp.status_code == 200, resp.text
        page = json.loads(resp.text, parse_float=Decimal)
        yield page
        url = page["properties"]["nextLink"]


def month_body(month_from: str, month_to: str, granularity: str = "Daily", grouping: list | None = None,
               name: str = "PreTaxCost") -> dict[str, Any]:
    return {"type": "ActualCost", "timeframe": "Custom",
            "timePeriod": {"from": f"{month_from}T00:00:00Z", "to": f"{month_to}T23:59:59Z"},
            "dataset": {"granularity": granularity, "aggregation": {name: {"name": name, "function": "Sum"}},
                        "grouping": grouping if grouping is not None else [{"type": "Dimension", "name": "ResourceGroup"}]}}


def bq_pages(url: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
    """tabledata.list / getQueryResults pages until no pageToken."""
    params = dict(params or {})
    while True:
        resp = requests.get(url, params=params, timeout=30)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        yield page
        if not page.get("pageToken"):
            return
        params["pageToken"] = page["pageToken"]


def bq_field(row: dict[str, Any], schema: dict[str, Any], name: str) -> Any:
    """Value of a top-level field (dotted for one RECORD level: 'invoice.month')."""
    top, _, sub = name.partition(".")
    names = [f["name"] for f in schema["fields"]]
    cell = row["f"][names.index(top)]["v"]
    if not sub:
        return cell
    field = schema["fields"][names.index(top)]
    return cell["f"][[f["name"] for f in field["fields"]].index(sub)]["v"]


def bq_credits(row: dict[str, Any], schema: dict[str, Any]) -> Decimal:
    cell = bq_field(row, schema, "credits")
    return sum((Decimal(item["v"]["f"][1]["v"]) for item in cell), Decimal(0))
