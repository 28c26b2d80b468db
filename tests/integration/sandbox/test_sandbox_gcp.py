"""BigQuery billing-export emulator: tabledata.list, jobs.query + getQueryResults, corrections."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from sbx_clients import bq_credits, bq_field, bq_pages

pytestmark = pytest.mark.integration
SANDBOX_OPTIONS = {"providers": ("gcp",)}


@pytest.fixture(scope="module")
def api(sandbox):
    e = sandbox.endpoints["gcp"]
    return f"{e['api_root']}/projects/{e['project']}"


@pytest.fixture(scope="module")
def table_url(sandbox, api):
    e = sandbox.endpoints["gcp"]
    return f"{api}/datasets/{e['dataset']}/tables/{e['table']}"


def _query(api, sql, **extra):
    resp = requests.post(f"{api}/queries", json={"query": sql, "useLegacySql": False, **extra}, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _fq(sandbox):
    e = sandbox.endpoints["gcp"]
    return f"`{e['project']}.{e['dataset']}.{e['table']}`"


def test_tabledata_paging_returns_every_row_exactly_once(sandbox, table_url):
    schema = requests.get(table_url, timeout=10).json()["schema"]
    assert [f["name"] for f in schema["fields"]][:3] == ["billing_account_id", "service", "sku"]
    pages = list(bq_pages(f"{table_url}/data", {"maxResults": 170}))
    rows = [r for p in pages for r in p["rows"]]
    total = int(pages[0]["totalRows"])
    assert total == 1200 and len(rows) == total and len(pages) == 8 and "pageToken" not in pages[-1]
    whole = requests.get(f"{table_url}/data", params={"maxResults": total}, timeout=30).json()["rows"]
    assert [json.dumps(r, sort_keys=True) for r in rows] == [json.dumps(r, sort_keys=True) for r in whole]
    exports = [Decimal(bq_field(r, schema, "export_time")) for r in rows]
    assert exports == sorted(exports)  # append order = export order


def test_query_results_paging_and_golden_totals(sandbox, api):
    first = _query(api, f"SELECT * FROM {_fq(sandbox)} WHERE invoice.month = '202401'", maxResults=250)
    job = first["jobReference"]["jobId"]
    schema, rows, token = first["schema"], list(first["rows"]), first.get("pageToken")
    while token:
        page = requests.get(f"{api}/queries/{job}", params={"pageToken": token, "maxResults": 250}, timeout=30).json()
        assert page["kind"] == "bigquery#getQueryResultsResponse" and page["jobComplete"] is True
        rows += page["rows"]
        token = page.get("pageToken")
    golden = sandbox.golden("gcp", "2024-01")
    assert len(rows) == int(first["totalRows"]) == golden["rows"] == 600
    cost = sum((Decimal(bq_field(r, schema, "cost")) for r in rows), Decimal(0))
    credits = sum((bq_credits(r, schema) for r in rows), Decimal(0))
    assert cost == Decimal(golden["sums"]["cost"]) and credits == Decimal(golden["sums"]["credits"])
    assert {bq_field(r, schema, "invoice.month") for r in rows} == {"202401"}


def test_invoice_reconciliation_query_matches_goldens(sandbox, api):
    sql = f"""SELECT invoice.month,
                SUM(cost) + SUM(IFNULL((SELECT SUM(c.amount) FROM UNNEST(credits) c), 0)) AS total,
                (SUM(CAST(cost AS NUMERIC)) + SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC)) FROM UNNEST(credits) AS c), 0))) AS total_exact,
                SUM(CAST(cost * 1000000 AS INT64)) AS cost_micros
              FROM {_fq(sandbox)} GROUP BY 1 ORDER BY 1 ASC"""
    result = _query(api, sql)
    assert [f["name"] for f in result["schema"]["fields"]] == ["month", "total", "total_exact", "cost_micros"]
    by_month = {r["f"][0]["v"]: r for r in result["rows"]}
    for month in ("2024-01", "2024-02"):
        golden = sandbox.golden("gcp", month)
        row = by_month[month.replace("-", "")]["f"]
        assert Decimal(row[1]["v"]) == Decimal(row[2]["v"]) == Decimal(golden["sums"]["cost_plus_credits"])
        assert int(row[3]["v"]) == golden["info"]["cost_micros"]


def test_partition_version_probe(sandbox, api):
    sql = (f"SELECT DATE(_PARTITIONTIME) AS partition_date, MAX(export_time) AS max_export_time, COUNT(*) AS n "
           f"FROM {_fq(sandbox)} WHERE _PARTITIONTIME >= TIMESTAMP('2024-02-27') GROUP BY 1 ORDER BY 1")
    rows = _query(api, sql)["rows"]
    dates = [r["f"][0]["v"] for r in rows]
    assert dates == sorted(dates) and dates[0] == "2024-02-27" and dates[-1] == "2024-03-01"
    assert all(r["f"][1]["v"].endswith(tuple(f"E{k}" for k in range(9, 10))) for r in rows)


def test_restatement_appends_negating_corrections(sandbox, api, table_url):
    before = sandbox.golden("gcp", "2024-02")
    after = sandbox.restate("gcp", "2024-02")
    assert after["version_number"] == 1 and after["version"] > before["version"]  # max export_time grows
    assert after["rows"] == before["rows"] + 24  # 12 originals corrected: a negation and a re-monetized row each
    result = _query(api, f"SELECT * FROM {_fq(sandbox)} WHERE export_time >= TIMESTAMP('{after['version'][:19]}')")
    schema, rows = result["schema"], result["rows"]
    assert len(rows) == 24
    adjustment = bq_field(rows[0], schema, "adjustment_info")
    assert [c["v"] for c in adjustment["f"][2:]] == ["COMPLETE_NEGATION_WITH_REMONETIZATION", "USAGE_CORRECTION"]
    usage = [Decimal(bq_field(r, schema, "usage")["f"][0]["v"]) for r in rows]
    assert usage[0::2] == [-u for u in usage[1::2]]  # each negation mirrors its re-monetized row
    totals = _query(api, f"SELECT invoice.month, SUM(cost) AS cost FROM {_fq(sandbox)} WHERE invoice.month = '202402' GROUP BY 1")
    assert Decimal(totals["rows"][0]["f"][1]["v"]) == Decimal(after["sums"]["cost"])


def test_restate_fault_between_two_tabledata_pages(sandbox, table_url):
    first = requests.get(f"{table_url}/data", params={"maxResults": 500}, timeout=30).json()
    sandbox.set_faults("gcp.tabledata:restate:first=1")
    second = requests.get(f"{table_url}/data", params={"maxResults": 500, "pageToken": first["pageToken"]}, timeout=30).json()
    assert int(second["totalRows"]) == int(first["totalRows"]) + 24


def test_repeat_token_and_incomplete_job_faults(sandbox, api, table_url):
    first = requests.get(f"{table_url}/data", params={"maxResults": 100}, timeout=30).json()
    sandbox.set_faults("gcp.tabledata:repeat-token:first=1")
    second = requests.get(f"{table_url}/data", params={"maxResults": 100, "pageToken": first["pageToken"]}, timeout=30).json()
    assert second["pageToken"] == first["pageToken"]
    sandbox.set_faults("gcp.query:incomplete:first=1")
    pending = _query(api, f"SELECT COUNT(*) AS n FROM {_fq(sandbox)}")
    assert pending["jobComplete"] is False and "rows" not in pending
    done = requests.get(f"{api}/queries/{pending['jobReference']['jobId']}", timeout=30).json()
    assert done["jobComplete"] is True
    assert done["rows"][0]["f"][0]["v"] == requests.get(table_url, timeout=10).json()["numRows"]


@pytest.mark.parametrize("rule, status", [("gcp.tabledata:429:first=1", 429), ("gcp.tabledata:503:first=1", 503),
                                          ("gcp.tabledata:502:first=1", 502)])
def test_status_faults(sandbox, table_url, rule, status):
    sandbox.set_faults(rule)
    resp = requests.get(f"{table_url}/data", params={"maxResults": 1}, timeout=10)
    assert resp.status_code == status
    if status in (429, 503):
        assert resp.headers["Retry-After"] == "1" and resp.json()["error"]["status"] in ("RESOURCE_EXHAUSTED", "UNAVAILABLE")
    assert requests.get(f"{table_url}/data", params={"maxResults": 1}, timeout=10).status_code == 200


def test_reset_slow_and_truncated_json(sandbox, table_url):
    sandbox.set_faults("gcp.tabledata:reset:first=1")
    with pytest.raises(requests.exceptions.RequestException):
        requests.get(f"{table_url}/data", params={"maxResults": 50}, timeout=10).json()
    sandbox.set_faults("gcp.tabledata:truncate:first=1")
    with pytest.raises(ValueError):
        requests.get(f"{table_url}/data", params={"maxResults": 50}, timeout=10).json()
    sandbox.set_faults("gcp.tabledata:slow:delay=0.3:first=1")
    resp = requests.get(f"{table_url}/data", params={"maxResults": 1}, timeout=10)
    assert resp.status_code == 200 and resp.elapsed.total_seconds() >= 0.3
    log = sandbox.requests("gcp", "gcp.tabledata")
    assert [e["fault"] for e in log[-3:]] == ["reset", "truncate", "slow"]


def test_errors_are_google_shaped(sandbox, api):
    legacy = requests.post(f"{api}/queries", json={"query": f"SELECT * FROM {_fq(sandbox)}"}, timeout=10)
    assert legacy.status_code == 400 and legacy.json()["error"]["errors"][0]["reason"] == "invalidQuery"
    unsupported = requests.post(f"{api}/queries", json={"query": f"SELECT sku.id FROM {_fq(sandbox)}", "useLegacySql": False}, timeout=10)
    assert unsupported.status_code == 400 and "supported query shapes" in unsupported.json()["error"]["message"]
    missing = requests.post(f"{api}/queries", json={"query": "SELECT * FROM `billing_export.nope`", "useLegacySql": False}, timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["status"] == "NOT_FOUND"
