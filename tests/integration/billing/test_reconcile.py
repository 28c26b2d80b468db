"""Reconciliation against what the providers declare: zero discrepancies on clean data (nightly,
Azure Query API + export + GCP), and the slice and the difference named when the provider
serves one extra row -- at publish (an Azure export part longer than its manifest's
dataRowCount) and nightly (a GCP table with a row the published slice lacks). The sandbox
has no "extra row" fault; both cases serve a crafted copy through its ``--data`` option."""
import json
import shutil
from decimal import Decimal

import pytest

from include.ingest.billing.reconcile import reconcile_published
from include.ingest.billing.reconcile_providers import azure_probe, gcp_probe
from include.ingest.billing.tasks_reconcile import summarize
from include.ingest.http.exceptions import PermanentError
from include.sandbox import Sandbox
from tests.integration.billing.cloud_env import (RELAXED, azure_client, azure_settings, cloud_env,  # noqa: F401
                                                 gcp_client, load_azure_chunk, plan_azure_query, run_azure_export,
                                                 run_gcp, scopes)

pytestmark = pytest.mark.integration
GCP_ACCOUNT = "0A1B2C-3D4E5F-6A7B8C"


def _results(checks):
    return [c.to_json() for c in checks]


def test_clean_slices_reconcile_with_zero_discrepancies(cloud_env, redis_url):
    with Sandbox(seed=51, scale=120, months=("2024-01", "2024-02"), providers=("azure", "gcp"),
                 azure_qpu_limits=RELAXED) as sb:
        azure = azure_client(azure_settings(sb, limits=RELAXED), redis_url)
        planned = plan_azure_query(azure, scopes(sb), window_days=16, page_size=50)
        for chunk in planned["chunks"]:
            load_azure_chunk(azure, chunk)
        from include.ingest.billing.reconcile import publish_reconciled
        assert publish_reconciled(planned)["status"] == "published"
        assert run_azure_export(azure, "sandbox-ea-actualcost", "2024-02")[1]["status"] == "published"
        gcp = gcp_client(sb)
        assert run_gcp(gcp, sb.endpoints["gcp"]["billing_account"])[1]["status"] == "published"
        results = {"azure": _results(reconcile_published("azure", azure_probe(azure), dag_run_id="nightly")),
                   "gcp": _results(reconcile_published("gcp", gcp_probe(gcp), dag_run_id="nightly"))}
    summary = summarize(results)
    print(f"\nnightly on clean data: {summary}")
    assert summary["discrepancy"] == 0 and summary["ok"] == summary["checked"] == 7
    measures = cloud_env.execute("SELECT billing_period, provider, measure FROM billing.reconciliation "
                                 "WHERE context = 'nightly' ORDER BY 1, 2, 3").fetchall()
    assert measures == [("2024-01", "azure", "billed_cost"), ("2024-01", "gcp", "billed_cost"),
                        ("2024-01", "gcp", "effective_cost"), ("2024-01", "gcp", "rows"),
                        ("2024-01", "gcp", "version"), ("2024-02", "azure", "rows"), ("2024-02", "azure", "version")]


def test_an_export_part_with_an_extra_row_is_named_and_not_published(cloud_env, redis_url, tmp_path):
    data = tmp_path / "data" / "azure" / "extra"
    with Sandbox(seed=52, scale=40, months=("2024-01",), providers=("azure",)) as sb:
        shutil.copytree(sb.state_dir / "azure-blobs" / "exports" / "billing" / "sandbox-ea-actualcost",
                        data / "billing" / "sandbox-ea-actualcost")
    (manifest_path,) = data.rglob("manifest.json")
    (part,) = data.rglob("part_0_0001.csv")
    lines = part.read_bytes().splitlines(keepends=True)
    part.write_bytes(b"".join(lines) + lines[-1].replace(b",Usage,", b",Purchase,"))  # one more row
    manifest = json.loads(manifest_path.read_text())
    manifest["byteCount"] = manifest["blobs"][0]["byteCount"] = part.stat().st_size  # rows still say 40
    manifest_path.write_text(json.dumps(manifest))

    with Sandbox(seed=52, scale=40, months=("2024-01",), providers=("azure",), data_dir=tmp_path / "data") as sb:
        client = azure_client(azure_settings(sb, container="extra", limits=RELAXED), redis_url)
        with pytest.raises(PermanentError) as caught:
            run_azure_export(client, "sandbox-ea-actualcost")
    message = str(caught.value)
    print(f"\nat publish: {message}")
    assert "azure:12345678:2024-01 rows: provider declares 40" in message and "difference +1" in message
    recorded = cloud_env.execute("SELECT context, status, declared, observed, difference FROM billing.reconciliation "
                                 "WHERE measure = 'rows'").fetchall()
    assert recorded == [("publish", "discrepancy", Decimal(40), Decimal(41), Decimal(1))]
    state = cloud_env.execute("SELECT state FROM billing.ledger").fetchone()[0]
    published = cloud_env.execute("SELECT count(*) FROM billing.line_items").fetchone()[0]
    assert (state, published) == ("loading", 0)


def _gcp_row(n, cost):
    return {"billing_account_id": GCP_ACCOUNT, "service": {"id": "6F81-5844-456A", "description": "Compute Engine"},
            "sku": {"id": "CF4E-A0C7-E3BF", "description": "N2 Instance Core"}, "invoice": {"month": "202403"},
            "usage_start_time": f"2024-03-0{n}T10:00:00Z", "usage_end_time": f"2024-03-0{n}T11:00:00Z",
            "export_time": "2024-03-09T06:00:00Z", "cost": cost, "currency": "USD", "cost_type": "regular",
            "project": {"id": "proj-a", "name": "Project A"}, "credits": [{"name": "SUD", "amount": "-0.1"}]}


def test_a_provider_row_missing_from_the_published_slice_is_named_nightly(cloud_env, tmp_path):
    table = GCP_ACCOUNT.replace("-", "_")
    for name, rows in (("before", 6), ("after", 7)):
        folder = tmp_path / name / "gcp"
        folder.mkdir(parents=True)
        (folder / f"{table}.jsonl").write_text("".join(json.dumps(_gcp_row(n, f"1.{n}5")) + "\n"
                                                       for n in range(1, rows + 1)))
    with Sandbox(months=(), providers=("gcp",), data_dir=tmp_path / "before") as sb:
        run_gcp(gcp_client(sb, f"gcp_billing_export_v1_{table}"), GCP_ACCOUNT, "2024-03")
    with Sandbox(months=(), providers=("gcp",), data_dir=tmp_path / "after") as sb:  # serves one row more
        checks = reconcile_published("gcp", gcp_probe(gcp_client(sb, f"gcp_billing_export_v1_{table}")))
    bad = {c.measure: c for c in checks if c.status == "discrepancy"}
    assert sorted(bad) == ["billed_cost", "effective_cost", "rows"]
    assert (bad["rows"].difference, bad["billed_cost"].difference) == (Decimal(-1), Decimal("-1.75"))
    with pytest.raises(PermanentError) as caught:
        summarize({"gcp": _results(checks)})
    print(f"\nnightly: {caught.value}")
    assert f"gcp:{GCP_ACCOUNT}:2024-03 rows: provider declares 7" in str(caught.value)
    assert "we have 6; difference -1" in str(caught.value) and "difference -1.75" in str(caught.value)
