"""The ``extra-row`` fault: row listings (Azure Query API with grouping, Azure export parts,
BigQuery SELECT * and tabledata.list) carry one row of the month more than the provider's
declared totals (Azure aggregate query, manifest dataRowCount, BigQuery COUNT / SUM) and
the goldens, which stay the true ones."""
from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
import requests

from sandbox.azure.records import records
from sbx_clients import azure_pages, azure_query_url, azure_token, bq_field, bq_pages, month_body

pytestmark = pytest.mark.integration
SANDBOX_OPTIONS = {"providers": ("azure", "gcp"), "azure_qpu_limits": ((10, 1000),)}
BY_TYPE = [{"type": "Dimension", "name": "SubscriptionId"}, {"type": "Dimension", "name": "ResourceType"}]
BY_RESOURCE = [{"type": "Dimension", "name": "ResourceId"}]


def _rows(sandbox, token, body, scope=None, top=5000):
    url = azure_query_url(sandbox, scope=scope, extra=f"&$top={top}")
    return [r for page in azure_pages(url, body, token) for r in page["properties"]["rows"]]


def test_azure_query_listings_carry_one_row_the_aggregate_does_not_count(sandbox):
    token = azure_token(sandbox)
    grouped = month_body("2024-01-01", "2024-01-31", grouping=BY_TYPE, name="Cost")
    clean = _rows(sandbox, token, grouped)
    sandbox.set_faults("azure.query:extra-row:period=2024-01")
    served = _rows(sandbox, token, grouped)
    assert served[:-1] == clean and len(served) == len(clean) + 1
    extra = served[-1]
    total = sum(r[0] for r in _rows(sandbox, token, month_body("2024-01-01", "2024-01-31", grouping=[], name="Cost")))
    assert total == sum(r[0] for r in clean) == Decimal(sandbox.golden("azure", "2024-01")["sums"]["Cost"])
    assert sum(r[0] for r in served) == total + extra[0] != total

    subs = sandbox.endpoints["azure"]["subscriptions"]
    owner = subs.index(extra[1])
    by_resource = month_body("2024-01-01", "2024-01-31", grouping=BY_RESOURCE, name="Cost")
    paged = _rows(sandbox, token, by_resource, scope=f"subscriptions/{subs[owner]}", top=60)  # several pages
    c = sandbox.config
    generated = [r for r in records(c.seed, c.azure_billing_account, "2024-01", 0, c.scale) if r.res.subscription == owner]
    keys = [(r[2], r[1]) for r in paged]  # (UsageDate, ResourceId)
    assert len(keys) == len(set(keys)) == len(generated) + 1 and paged[-1][1].endswith("/res-999999999")
    assert paged[-1][0] == extra[0] and paged[-1][2] == extra[3]  # same cost, same day
    other = _rows(sandbox, token, by_resource, scope=f"subscriptions/{subs[(owner + 1) % 3]}")
    february = _rows(sandbox, token, month_body("2024-02-01", "2024-02-29", grouping=BY_RESOURCE, name="Cost"),
                     scope=f"subscriptions/{subs[owner]}")
    assert not any(r[1].endswith("/res-999999999") for r in other + february)  # other scope, other period


def _blob(sandbox, name, **headers):
    e = sandbox.endpoints["azure"]
    resp = requests.get(f"{e['blob_url']}/{e['container']}/{name}", headers=headers, timeout=10)
    resp.raise_for_status()
    return resp.content


def test_azure_export_last_part_has_one_row_more_than_the_manifest_declares(sandbox):
    golden = sandbox.golden("azure-export:mca", "2024-01")
    clean = json.loads(_blob(sandbox, golden["info"]["manifest"]))
    last_clean = _blob(sandbox, clean["blobs"][-1]["blobName"])
    sandbox.set_faults("azure.blob.get:extra-row")
    manifest = json.loads(_blob(sandbox, golden["info"]["manifest"]))
    assert manifest["dataRowCount"] == clean["dataRowCount"] == golden["rows"] == 600
    parts = [_blob(sandbox, b["blobName"]) for b in manifest["blobs"]]
    assert [len(p) for p in parts] == [b["byteCount"] for b in manifest["blobs"]]  # sizes consistent
    assert sum(len(p) for p in parts) == manifest["byteCount"] > clean["byteCount"]
    rows = [list(csv.DictReader(io.StringIO(p.decode("utf-8-sig")))) for p in parts]
    assert [len(r) for r in rows] == [400, 201] and parts[-1].startswith(last_clean)
    served = sum(Decimal(r["costInBillingCurrency"]) for part in rows for r in part)
    extra = Decimal(rows[-1][-1]["costInBillingCurrency"])
    assert served - extra == Decimal(golden["sums"]["costInBillingCurrency"]) and extra != 0
    keys = [(r["date"], r["ResourceId"]) for part in rows for r in part]
    assert len(set(keys)) == len(keys)  # a new row, not a copy of one
    tail = _blob(sandbox, manifest["blobs"][-1]["blobName"], Range=f"bytes={len(last_clean) - 5}-")
    assert tail == parts[-1][len(last_clean) - 5:]  # ranges span the appended line


@pytest.fixture(scope="module")
def bq(sandbox):
    e = sandbox.endpoints["gcp"]
    api = f"{e['api_root']}/projects/{e['project']}"
    return api, f"`{e['dataset']}.{e['table']}`", f"{api}/datasets/{e['dataset']}/tables/{e['table']}"


def _select(api, sql, page_size=250):
    first = requests.post(f"{api}/queries", json={"query": sql, "useLegacySql": False, "maxResults": page_size},
                          timeout=30).json()
    rows = list(first["rows"])
    if first.get("pageToken"):
        pages = bq_pages(f"{api}/queries/{first['jobReference']['jobId']}",
                         {"pageToken": first["pageToken"], "maxResults": page_size})
        rows += [r for page in pages for r in page["rows"]]
    return first, rows


def test_bigquery_listings_carry_one_row_count_and_sum_do_not(sandbox, bq):
    api, table, table_url = bq
    golden = sandbox.golden("gcp", "2024-02")
    sandbox.set_faults("gcp.*:extra-row:period=2024-02")
    first, rows = _select(api, f"SELECT * FROM {table} WHERE invoice.month = '202402'")
    schema = first["schema"]
    assert len(rows) == int(first["totalRows"]) == golden["rows"] + 1
    cost = sum(Decimal(bq_field(r, schema, "cost")) for r in rows)
    extra = Decimal(bq_field(rows[-1], schema, "cost"))
    assert cost - extra == Decimal(golden["sums"]["cost"]) and extra > 0
    assert bq_field(rows[-1], schema, "export_time") == bq_field(rows[0], schema, "export_time")  # first partition

    totals = _select(api, f"SELECT COUNT(*) AS n, SUM(CAST(cost * 1000000 AS INT64)) AS micros FROM {table} "
                          f"WHERE invoice.month = '202402'")[1][0]["f"]
    assert (int(totals[0]["v"]), int(totals[1]["v"])) == (golden["rows"], golden["info"]["cost_micros"])
    _, january = _select(api, f"SELECT * FROM {table} WHERE invoice.month = '202401'")
    assert len(january) == sandbox.golden("gcp", "2024-01")["rows"]  # not the rule's period

    listed = list(bq_pages(f"{table_url}/data", {"maxResults": 500}))
    table_rows = int(requests.get(table_url, timeout=10).json()["numRows"])
    assert int(listed[0]["totalRows"]) == sum(len(p["rows"]) for p in listed) == table_rows + 1
    assert listed[-1]["rows"][-1] == rows[-1]
