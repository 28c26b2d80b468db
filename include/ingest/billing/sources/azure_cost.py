"""Azure Cost Management Query API: plan a slice into chunks, page each chunk, read it back.

billing-formats.md §3.1–3.5. A slice (billing account × month) is queried per *scope*
(subscriptions or resource groups of the account) and per *window* of at most 31 days
(Daily granularity silently loses its start beyond 31 days): each (scope, window) is one
chunk. Records come grouped by ResourceId + ChargeType at subscription / resource-group
scope (SubscriptionId + ResourceType at billing-account scope, where ResourceId is
refused), with Cost and UsageQuantity per day.

Paging: ``$top`` on the first request, then every ``nextLink`` followed verbatim and POSTed
with the same body (without it Azure answers 400). Each page is landed unchanged as its
own file with its cursor saved (sources/pages.py), so a retry resumes at the next page.
Every page is checked: the columns we map must be there and every UsageDate inside the
requested window (Azure changes windows silently).

Version: the Query API has none, so the plan takes a *snapshot*: the Daily totals of every
scope for the month (one aggregate query per scope), hashed with the chunking. Same data
and plan -> same version -> a re-run is a no-op; data that moved -> a new version that
replaces the slice. The totals are also what the provider declares for reconciliation.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote, urlsplit

import pyarrow as pa

from include.ingest import landing
from include.ingest.billing.paging import Paginator
from include.ingest.billing.sources.azure_client import AzureClient
from include.ingest.billing.sources.pages import Page, land_pages, read_pages
from include.ingest.errors import PermanentError
from include.ingest.billing.store.ledger import SliceVersion

COST_TYPES = ("ActualCost", "AmortizedCost", "Usage")
MAX_WINDOW_DAYS = 31
MAX_PAGE_SIZE = 5000
AGGREGATION = {"Cost": {"name": "Cost", "function": "Sum"},
               "UsageQuantity": {"name": "UsageQuantity", "function": "Sum"}}


def scope_kind(scope: str) -> str:
    parts = [p.lower() for p in scope.strip("/").split("/")]
    if parts[:3] == ["providers", "microsoft.billing", "billingaccounts"]:
        return "billingAccount"
    if parts[:1] == ["subscriptions"]:
        return "resourceGroup" if "resourcegroups" in parts else "subscription"
    raise PermanentError(f"expected a scope like subscriptions/<id>[/resourceGroups/<rg>] or "
                         f"providers/Microsoft.Billing/billingAccounts/<id>, got {scope!r}; fix the scopes param")


def groupings(scope: str) -> list[dict]:
    names = ("SubscriptionId", "ResourceType") if scope_kind(scope) == "billingAccount" else ("ResourceId", "ChargeType")
    return [{"type": "Dimension", "name": name} for name in names]


def windows(period: str, window_days: int) -> list[tuple[dt.date, dt.date]]:
    """Inclusive [from, to] day windows of at most ``window_days`` (≤ 31) covering the month."""
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise PermanentError(f"expected window_days in 1..{MAX_WINDOW_DAYS} (Daily queries over 31 days "
                             f"silently lose their start), got {window_days}")
    first = dt.datetime.strptime(period, "%Y-%m").date()
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    out, start = [], first
    while start <= last:
        end = min(last, start + dt.timedelta(days=window_days - 1))
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out


def query_body(cost_type: str, start: dt.date, end: dt.date, grouping: list[dict] | None) -> dict:
    if cost_type not in COST_TYPES:
        raise PermanentError(f"expected cost_type one of {COST_TYPES}, got {cost_type!r}")
    dataset: dict = {"granularity": "Daily", "aggregation": AGGREGATION}
    if grouping:
        dataset["grouping"] = grouping
    return {"type": cost_type, "timeframe": "Custom", "dataset": dataset,
            "timePeriod": {"from": f"{start}T00:00:00Z", "to": f"{end}T23:59:59Z"}}


def query_url(client: AzureClient, scope: str, page_size: int | None = None) -> str:
    url = (f"{client.settings.management_url}/{quote(scope.strip('/'))}/providers/"
           f"Microsoft.CostManagement/query?api-version={client.settings.api_version}")
    return url + (f"&$top={min(int(page_size), MAX_PAGE_SIZE)}" if page_size else "")


def _parse(response) -> tuple[bytes, dict | None]:
    """(bytes as received, JSON with exact Decimals); 204 No Content is an empty last page."""
    body = response.content
    return body, (json.loads(body, parse_float=Decimal) if body.strip() else None)


def page_facts(doc: dict | None) -> tuple[list[str], list[list], str | None]:
    props = (doc or {}).get("properties") or {}
    return [c["name"] for c in props.get("columns") or []], props.get("rows") or [], props.get("nextLink") or None


def _check_page(doc: dict | None, chunk: dict, where: str) -> tuple[int, str | None]:
    names, rows, next_link = page_facts(doc)
    if doc is None:
        return 0, None
    missing = [n for n in ("UsageDate", "Cost", "Currency") if n not in names]
    if missing:
        raise PermanentError(f"{where}: expected columns {missing} in the Query API page, got {names}; "
                             "the query body or api-version changed what Azure returns")
    lo, hi = int(chunk["from"].replace("-", "")), int(chunk["to"].replace("-", ""))
    at = names.index("UsageDate")
    outside = sorted({int(r[at]) for r in rows if not lo <= int(r[at]) <= hi})
    if outside:
        raise PermanentError(f"{where}: expected UsageDate within {chunk['from']}..{chunk['to']}, got "
                             f"{outside[:5]}; Azure changed the window (Daily over 31 days / swapped dates)")
    return len(rows), next_link


def declared_totals(client: AzureClient, scopes: list[str], period: str, cost_type: str) -> dict:
    """What Azure declares for the month per scope: Daily Cost and UsageQuantity totals."""
    first, last = windows(period, MAX_WINDOW_DAYS)[0]
    body = query_body(cost_type, first, last, None)
    out: dict = {"scopes": {}, "billed_cost": Decimal(0), "quantity": Decimal(0)}
    for scope in scopes:
        days: dict[str, list[str]] = {}
        paginator = Paginator(f"azure aggregate {scope} {period}")
        while not paginator.done:
            _, doc = client.call("POST", paginator.token or query_url(client, scope), body=body, qpu=1, parse=_parse)
            rows, next_link = _check_page(doc, {"from": str(first), "to": str(last)}, scope)
            names, values, _ = page_facts(doc)
            for row in values:
                item = dict(zip(names, row))
                days[str(item["UsageDate"])] = [str(item["Cost"]), str(item.get("UsageQuantity", 0))]
                out["billed_cost"] += item["Cost"]
                out["quantity"] += item.get("UsageQuantity", 0)
            paginator.accept(next_link, rows)
        out["scopes"][scope] = days
    return {**out, "billed_cost": str(out["billed_cost"]), "quantity": str(out["quantity"])}


def plan_query(client: AzureClient, billing_account: str, period: str, scopes: list[str], window_days: int,
               cost_type: str = "ActualCost", page_size: int | None = None) -> tuple[SliceVersion, list[dict], dict]:
    """(slice version, chunk descriptors, source facts incl. the declared totals)."""
    if not scopes:
        raise PermanentError("expected at least one scope (subscriptions/<id> …) in the scopes param or the "
                             "connection extra 'scopes', got none")
    declared = declared_totals(client, scopes, period, cost_type)
    snapshot = json.dumps([scopes, window_days, cost_type, declared["scopes"]], sort_keys=True)
    version = "q-" + hashlib.sha256(snapshot.encode()).hexdigest()[:20]
    sv = SliceVersion("azure", billing_account, period, version, dt.datetime.now(dt.timezone.utc))
    chunks = [{"chunk_id": f"{s:02d}-{start:%d}-{end:%d}", "kind": "query", "scope": scope, "from": str(start),
               "to": str(end), "cost_type": cost_type, "page_size": page_size, "format": "azure-query"}
              for s, scope in enumerate(scopes) for start, end in windows(period, window_days)]
    source = {"kind": "query", "scopes": scopes, "cost_type": cost_type, "window_days": window_days,
              "declared": {"billed_cost": declared["billed_cost"], "quantity": declared["quantity"]},
              "declared_by": "Query API Daily aggregate per scope at plan time"}
    return sv, chunks, source


def fetch_query_chunk(client: AzureClient, chunk: dict, sv: SliceVersion, cursor=None) -> landing.LandedFile:
    """Land every page of one (scope, window) chunk, resuming from its cursor."""
    start, end = dt.date.fromisoformat(chunk["from"]), dt.date.fromisoformat(chunk["to"])
    body = query_body(chunk["cost_type"], start, end, groupings(chunk["scope"]))
    first_url = query_url(client, chunk["scope"], chunk.get("page_size"))

    def source(paginator: Paginator) -> Iterator[Page]:
        while not paginator.done:
            url = same_origin(paginator.token, first_url) if paginator.token else first_url
            raw, doc = client.call("POST", url, body=body, qpu=1, parse=_parse)
            rows, next_link = _check_page(doc, chunk, client.origin(url))
            yield Page(raw, rows, next_link)

    return land_pages(sv, chunk, source, reread, client.origin(first_url), cursor)


def same_origin(next_link: str, first_url: str) -> str:
    """`next_link` if it points where the first request went (scheme, host, port): it is
    POSTed with our bearer token, so a page naming another host must not receive it."""
    ours, theirs = urlsplit(first_url), urlsplit(next_link)
    if (theirs.scheme, theirs.hostname, theirs.port) != (ours.scheme, ours.hostname, ours.port):
        raise PermanentError(f"expected a nextLink on {ours.scheme}://{ours.netloc}, got one on "
                             f"{theirs.scheme}://{theirs.hostname}; refusing to send the token there — "
                             f"check the management endpoint of the connection")
    return next_link


def reread(body: bytes) -> tuple[str | None, int, dict]:
    _, rows, next_link = page_facts(json.loads(body, parse_float=Decimal) if body.strip() else None)
    return next_link, len(rows), {}


def _text(value) -> str | None:
    if value is None:
        return None
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def read_batches(path: str, fmt: str) -> Iterator[pa.RecordBatch]:
    """One Arrow batch of text columns per landed page (columns mapped by name)."""
    for _, body in read_pages(path):
        names, rows, _ = page_facts(json.loads(body, parse_float=Decimal) if body.strip() else None)
        if rows:
            yield pa.RecordBatch.from_pydict(
                {name: pa.array([_text(r[k]) for r in rows], pa.string()) for k, name in enumerate(names)})
