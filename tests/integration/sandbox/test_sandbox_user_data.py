"""--data: a user's Azure export files and GCP rows served through the protocols."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
import requests

from sandbox import Sandbox
from sbx_clients import bq_pages

pytestmark = pytest.mark.integration
ROWS = [
    {"billing_account_id": "AAAAAA-BBBBBB-CCCCCC", "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
     "usage_start_time": "2024-03-01T00:00:00Z", "export_time": "2024-03-01T06:00:00Z", "cost": 1.123456789,
     "credits": [{"name": "SUD", "amount": -0.1, "type": "SUSTAINED_USAGE_DISCOUNT"}],
     "invoice": {"month": "202403"}, "cost_type": "regular"},
    {"billing_account_id": "AAAAAA-BBBBBB-CCCCCC", "service": {"id": "95FF-2EF5-5EA1", "description": "Cloud Storage"},
     "usage_start_time": "2024-03-02T00:00:00Z", "export_time": "2024-03-02T06:00:00Z", "cost": 2.5, "credits": [],
     "invoice": {"month": "202403"}, "cost_type": "tax"},
]


@pytest.fixture(scope="module")
def user_sandbox(tmp_path_factory):
    data = tmp_path_factory.mktemp("data")
    (data / "gcp").mkdir()
    (data / "gcp" / "customer.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    part = data / "azure" / "costexports" / "daily" / "run-1"
    part.mkdir(parents=True)
    (part / "part_0_0001.csv").write_bytes("\ufeffSubscriptionGuid,PreTaxCost\nabc,1.5\n".encode())
    (part / "manifest.json").write_text(json.dumps({"blobCount": 1, "dataRowCount": 1}))
    with Sandbox(seed=3, scale=10, months=(), providers=("azure", "gcp"), data_dir=data) as sb:
        yield sb


def test_user_gcp_rows_are_a_queryable_table(user_sandbox):
    e = user_sandbox.endpoints["gcp"]
    url = f"{e['api_root']}/projects/{e['project']}/datasets/{e['dataset']}/tables/gcp_billing_export_v1_customer/data"
    rows = [r for p in bq_pages(url) for r in p["rows"]]
    assert len(rows) == 2 and rows[0]["f"][10]["v"] == "1.123456789"  # FLOAT text kept exact
    golden = user_sandbox.golden("gcp", "2024-03")
    assert golden["rows"] == 2 and Decimal(golden["sums"]["cost_plus_credits"]) == Decimal("3.523456789")
    sql = "SELECT invoice.month, COUNT(*) AS n, SUM(cost) AS cost FROM `billing_export.gcp_billing_export_v1_customer` GROUP BY 1"
    result = requests.post(f"{e['api_root']}/projects/{e['project']}/queries", json={"query": sql, "useLegacySql": False}, timeout=10).json()
    assert [c["v"] for c in result["rows"][0]["f"]] == ["202403", "2", "3.623457"]  # per-row micros, as BigQuery casts


def test_user_azure_export_files_are_served_as_blobs(user_sandbox):
    e = user_sandbox.endpoints["azure"]
    listing = requests.get(f"{e['blob_url']}/costexports", params={"restype": "container", "comp": "list"}, timeout=10).text
    assert "daily/run-1/manifest.json" in listing and "daily/run-1/part_0_0001.csv" in listing
    body = requests.get(f"{e['blob_url']}/costexports/daily/run-1/part_0_0001.csv", timeout=10).content
    assert body.startswith(b"\xef\xbb\xbfSubscriptionGuid")
    ranged = requests.get(f"{e['blob_url']}/costexports/daily/run-1/part_0_0001.csv", headers={"Range": "bytes=3-18"}, timeout=10)
    assert ranged.status_code == 206 and ranged.content == b"SubscriptionGuid"


def test_missing_data_dir_warns_and_serves_generated_data(tmp_path, capsys):
    with Sandbox(seed=3, scale=10, providers=("gcp",), data_dir=tmp_path / "not-there") as sb:
        assert sb.golden("gcp", "2024-01")["rows"] == 10
    assert "does not exist yet" in capsys.readouterr().err
