"""Wiring for the nightly billing reconciliation; logic in include/ingest/billing/tasks_reconcile.py, reconcile.py and providers/."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest import timeouts
from include.ingest.billing import providers
from include.ingest.queues import DEFAULT

DOC = """
### Nightly reconciliation of published billing slices against the providers
For every published slice of the recent months, ask the provider what it declares *now*
and compare with the warehouse (published + quarantined rows); a slice whose newest
delivery was refused at publish (it disagreed with the provider's totals) is compared too,
with its staged rows, so a stuck month is named every night:
**AWS** CUR period manifest (`assemblyId` / `executionId` still the published one?) and
InvoiceId state (rows without one = not final, `open`); **Azure** the Query API Daily
aggregate of the slice's scopes, or the export manifest `dataRowCount` and newest run;
**GCP** `COUNT`, `SUM(cost)` and `SUM(cost) + SUM(credits.amount)` by `invoice.month`
(micros) and `MAX(export_time)`. Every check is stored in `billing.reconciliation`;
`summary` fails the run naming each discrepant slice and the difference.
"""
PARAMS = {
    "providers": Param(list(providers.NAMES), type="array", items={"type": "string", "enum": list(providers.NAMES)}),
    "months": Param(3, type="integer", minimum=0, title="Months back (0 = every published period)"),
    "periods": Param([], type="array", items={"type": "string"}, title="Exact periods (YYYY-MM); overrides months"),
    **{p.conn_param: Param(p.default_conn, type="string") for p in providers.every()},
}


@dag(dag_id="billing_reconcile", schedule="0 3 * * *", catchup=False, doc_md=DOC, params=PARAMS,
     tags=["billing", "reconciliation"], max_active_runs=1,
     default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "queue": DEFAULT,
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING})
def billing_reconcile():
    def check(provider: str):
        @task(task_id=f"reconcile_{provider}", pool=providers.get(provider).pool,
              execution_timeout=timeouts.BILLING_RECONCILE)
        def reconcile_one(params=None, logical_date=None, run_id=None) -> list[dict] | None:
            from airflow.sdk.exceptions import AirflowSkipException

            from include.ingest.billing.tasks_reconcile import reconcile_provider
            if provider not in params["providers"]:
                raise AirflowSkipException(f"{provider} not in the providers param")
            return reconcile_provider(provider, params, logical_date, run_id)
        return reconcile_one()

    @task(trigger_rule="all_done")
    def summary(ti=None) -> dict:
        from include.ingest.billing.tasks_reconcile import summarize
        return summarize({p: ti.xcom_pull(task_ids=f"reconcile_{p}") for p in providers.NAMES})

    [check(p) for p in providers.NAMES] >> summary()


billing_reconcile()
