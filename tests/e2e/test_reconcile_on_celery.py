"""`billing_reconcile` on the real stack (issue 5 §5): zero discrepancies on clean Azure and
GCP slices; with the sandbox serving one extra row (its ``extra-row`` fault: the export's
last part has a row its manifest's dataRowCount does not count), the publish-time check
refuses the slice and the nightly run names the slice and the difference."""
import psycopg
import pytest

from tests.e2e.billing_helpers import golden, run, sandbox, slice_snapshot, states
from tests.e2e.cloud_helpers import (AZURE_ACCOUNT, AZURE_DAG, GCP_DAG, RECONCILE_DAG, forget_slice,
                                     unpause_idle)

pytestmark = pytest.mark.e2e
EXPORT = "sandbox-ea-actualcost"


def _checks(env, dag_run_id):
    """billing.reconciliation rows a DAG run recorded: (context, provider, period, measure,
    status, declared, observed, difference, detail)."""
    with psycopg.connect(env["INGEST_DB_URL"]) as conn:
        return conn.execute(
            "SELECT context, provider, billing_period, measure, status, declared, observed, difference, detail "
            "FROM billing.reconciliation WHERE dag_run_id = %s ORDER BY provider, measure", (dag_run_id,)).fetchall()


def test_reconcile_on_clean_azure_and_gcp_slices_finds_no_discrepancy(stack, airflow):
    _, env = stack
    for dag in (AZURE_DAG, GCP_DAG):  # published now, or already (the stack keeps its data)
        unpause_idle(airflow, dag)
        run_id, result = run(airflow, {"billing_period": "2024-01"}, 900, dag=dag)
        assert result["state"] == "success", states(airflow, run_id, dag)
        assert airflow.xcom(dag, run_id, "publish")["status"] in ("published", "already_published")
    unpause_idle(airflow, RECONCILE_DAG)
    run_id, result = run(airflow, {"providers": ["azure", "gcp"], "periods": ["2024-01"]}, 600, dag=RECONCILE_DAG)
    assert result["state"] == "success", states(airflow, run_id, RECONCILE_DAG)
    summary, checks = airflow.xcom(RECONCILE_DAG, run_id, "summary"), _checks(env, run_id)
    print(f"\nreconcile on clean data: {summary}")
    assert summary["discrepancy"] == 0 and summary["ok"] == summary["checked"] == len(checks)
    assert {(c[1], c[3]) for c in checks} >= {("azure", "billed_cost"), ("gcp", "rows"), ("gcp", "billed_cost"),
                                              ("gcp", "effective_cost"), ("gcp", "version")}
    assert {c[4] for c in checks} == {"ok"} and {c[0] for c in checks} == {"nightly"}


def test_an_extra_row_is_refused_at_publish_and_named_by_the_reconcile_run(stack, airflow):
    _, env = stack
    period, label = "2024-02", f"azure:{AZURE_ACCOUNT}:2024-02"
    forget_slice(env, "azure", AZURE_ACCOUNT, period)
    unpause_idle(airflow, AZURE_DAG)
    unpause_idle(airflow, RECONCILE_DAG)
    sandbox(env, "POST", "faults", server="azure",
            json={"rules": [{"endpoint": "azure.blob.get", "fault": "extra-row", "period": period}]})
    try:
        load_id, loaded = run(airflow, {"billing_period": period, "source": "export", "export_name": EXPORT}, 900,
                              dag=AZURE_DAG)
        nightly_id, nightly = run(airflow, {"providers": ["azure"], "periods": [period]}, 600, dag=RECONCILE_DAG)
    finally:
        sandbox(env, "DELETE", "faults", server="azure")
    declared = golden(env, f"azure-export:{EXPORT.split('-')[1]}", period, AZURE_ACCOUNT)["rows"]

    tasks = states(airflow, load_id, AZURE_DAG)
    assert loaded["state"] == "failed" and tasks[("publish", -1)] == tasks[("finalize", -1)] == "failed"
    assert slice_snapshot(env, period, AZURE_ACCOUNT, "azure")[0] == []  # nothing published
    at_publish = [c for c in _checks(env, load_id) if c[4] == "discrepancy"]
    assert [c[:8] for c in at_publish] == [("publish", "azure", period, "rows", "discrepancy", declared,
                                            declared + 1, 1)]

    tasks = states(airflow, nightly_id, RECONCILE_DAG)
    assert nightly["state"] == "failed" and tasks[("reconcile_azure", -1)] == "success"
    assert tasks[("summary", -1)] == "failed"  # the run fails, naming the slice
    named = [c for c in _checks(env, nightly_id) if c[4] == "discrepancy"]
    print(f"\nat publish: {at_publish[0][8]}\nnightly: {named[0][8] if named else None}")
    assert [c[:8] for c in named] == [("nightly", "azure", period, "rows", "discrepancy", declared, declared + 1, 1)]
    assert named[0][8].startswith(f"{label} ") and f"provider declares {declared} " in named[0][8]
    assert f"we have {declared + 1}; difference +1" in named[0][8]
