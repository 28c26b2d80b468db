"""Reconciliation against what the providers declare: zero discrepancies on clean data (nightly,
Azure Query API + export + GCP), and the slice and the difference named when the provider
serves one extra row (the sandbox's ``extra-row`` fault: listings carry a row its declared
totals do not count) -- at publish (an Azure export part longer than its manifest's
dataRowCount; a BigQuery month) and nightly (the month whose newest delivery publish refused)."""
from decimal import Decimal

import pytest

from include.ingest.billing.reconcile import reconcile_published
from include.ingest.billing.providers.azure import PROVIDER as AZURE
from include.ingest.billing.providers.gcp import PROVIDER as GCP
from include.ingest.billing.tasks_reconcile import summarize
from include.ingest.errors import PermanentError
from sandbox import Sandbox
from sandbox.gcp.extra_row import extra_core
from tests.integration.billing.cloud_env import (RELAXED, azure_client, azure_settings, cloud_env,  # noqa: F401
                                                 gcp_client, load_azure_chunk, plan_azure_query, run_azure_export,
                                                 run_gcp, scopes)

pytestmark = pytest.mark.integration


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
        results = {"azure": _results(reconcile_published("azure", AZURE.probe(azure), dag_run_id="nightly")),
                   "gcp": _results(reconcile_published("gcp", GCP.probe(gcp), dag_run_id="nightly"))}
    summary = summarize(results)
    print(f"\nnightly on clean data: {summary}")
    assert summary["discrepancy"] == 0 and summary["ok"] == summary["checked"] == 7
    measures = cloud_env.execute("SELECT billing_period, provider, measure FROM billing.reconciliation "
                                 "WHERE context = 'nightly' ORDER BY 1, 2, 3").fetchall()
    assert measures == [("2024-01", "azure", "billed_cost"), ("2024-01", "gcp", "billed_cost"),
                        ("2024-01", "gcp", "effective_cost"), ("2024-01", "gcp", "rows"),
                        ("2024-01", "gcp", "version"), ("2024-02", "azure", "rows"), ("2024-02", "azure", "version")]


def test_an_export_part_with_an_extra_row_is_named_and_not_published(cloud_env, redis_url):
    # the sandbox serves the run's last part with one row more than its manifest's dataRowCount
    with Sandbox(seed=52, scale=40, months=("2024-01",), providers=("azure",),
                 faults="azure.blob.get:extra-row:period=2024-01") as sb:
        client = azure_client(azure_settings(sb, limits=RELAXED), redis_url)
        with pytest.raises(PermanentError) as caught:
            run_azure_export(client, "sandbox-ea-actualcost")
        golden = sb.golden("azure-export:ea", "2024-01")
    message = str(caught.value)
    print(f"\nat publish: {message}")
    assert f"azure:12345678:2024-01 rows: provider declares {golden['rows']}" in message
    assert f"we have {golden['rows'] + 1}; difference +1" in message
    recorded = cloud_env.execute("SELECT context, status, declared, observed, difference FROM billing.reconciliation "
                                 "WHERE measure = 'rows'").fetchall()
    assert recorded == [("publish", "discrepancy", Decimal(golden["rows"]), Decimal(golden["rows"] + 1), Decimal(1))]
    state = cloud_env.execute("SELECT state FROM billing.ledger").fetchone()[0]
    published = cloud_env.execute("SELECT count(*) FROM billing.line_items").fetchone()[0]
    assert (state, published) == ("loading", 0)


def test_one_extra_row_served_by_bigquery_is_named_at_publish_and_nightly(cloud_env):
    with Sandbox(seed=53, scale=90, months=("2024-01", "2024-02"), providers=("gcp",),
                 faults="gcp.*:extra-row:period=2024-02") as sb:
        client, account = gcp_client(sb), sb.endpoints["gcp"]["billing_account"]
        assert run_gcp(client, account, "2024-01")[1]["status"] == "published"  # not the fault's month
        with pytest.raises(PermanentError) as at_publish:
            run_gcp(client, account, "2024-02")
        checks = reconcile_published("gcp", GCP.probe(client), dag_run_id="nightly")
        golden = sb.golden("gcp", "2024-02")
        extra = extra_core(sb.servers["gcp"].tables[("billing_export", sb.config.gcp_table)], "2024-02").cost
        sb.clear_faults()
        sb.restate("gcp", "2024-02")  # a newer, consistent delivery gets published...
        assert run_gcp(client, account, "2024-02")[1]["status"] == "published"
        later = reconcile_published("gcp", GCP.probe(client), dag_run_id="nightly-2")  # ...so the refused one is past
    label = f"gcp:{account}:2024-02"
    assert f"{label} rows: provider declares {golden['rows']}" in str(at_publish.value)
    bad = {c.measure: c for c in checks if c.status == "discrepancy"}
    assert sorted(bad) == ["billed_cost", "effective_cost", "rows"]
    assert {c.slice.split(" ")[0] for c in bad.values()} == {label}
    assert (bad["rows"].difference, bad["billed_cost"].difference, bad["effective_cost"].difference) == (1, extra, extra)
    assert all(c.status == "ok" for c in checks if c.slice == f"gcp:{account}:2024-01")
    with pytest.raises(PermanentError) as caught:
        summarize({"gcp": _results(checks)})
    print(f"\nnightly: {caught.value}")
    assert f"we have {golden['rows'] + 1}; difference +1" in str(caught.value)
    assert f"difference +{format(extra.normalize(), 'f')}" in str(caught.value)
    nightly = cloud_env.execute("SELECT billing_period, measure, difference FROM billing.reconciliation WHERE context = "
                                "'nightly' AND status = 'discrepancy' ORDER BY measure").fetchall()
    assert nightly == [("2024-02", "billed_cost", extra), ("2024-02", "effective_cost", extra), ("2024-02", "rows", 1)]
    assert {c.status for c in later} == {"ok"} and len(later) == 8  # both months: rows, 2 sums, version
