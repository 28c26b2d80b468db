"""Wiring for the GCP Cloud Billing BigQuery export → FOCUS 1.2; logic in include/ingest/billing/."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest.billing.dag_chain import chunk_chain
from include.ingest.billing.providers.gcp import PROVIDER as GCP
from include.ingest import timeouts
from include.ingest.queues import DEFAULT

DOC = """
### GCP billing export (BigQuery) → FOCUS 1.2 (one run = one slice: billing account × invoice month)
`plan` asks BigQuery, per daily partition holding rows of the invoice month, for
`MAX(export_time)`, `COUNT(*)` and Google's exact invoice sums (cost, credits in micros).
The newest `export_time` is the version: corrections are appended by Google, so a
restatement is a new version that replaces the month, correction rows kept as rows.

One chunk per partition: **fetch** (`billing.fetch`, pool `provider_gcp`) runs the
partition's query pinned to its planned `export_time`, pages with `pageToken` (a repeated
token fails the chunk loudly) and lands each page as its own file, the cursor (job id +
token) saved in Redis and `billing.cursors` → **normalize** (nested fields, credits into
EffectiveCost, invoice month in Pacific time) → **persist** → **publish** (rows and totals
reconciled with what BigQuery declared, then the month swapped in) → **finalize** (DLQ; the
run fails unless the month was published).
"""
PARAMS = {
    GCP.conn_param: Param(GCP.default_conn, type="string", title="GCP connection"),
    "billing_account": Param("01A2B3-C4D5E6-F7A8B9", type="string", title="Billing account id"),
    "billing_period": Param(None, type=["null", "string"], pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                            title="Invoice month (YYYY-MM)", description="Empty: the run's month"),
    "page_size": Param(None, type=["null", "integer"], minimum=1, title="Rows per page (maxResults)"),
}


@dag(dag_id="billing_gcp_export", schedule="45 6 * * *", catchup=False, doc_md=DOC, params=PARAMS,
     tags=["billing", "gcp", "focus"], max_active_runs=2,
     default_args={"retries": 3, "retry_delay": timedelta(seconds=30), "queue": DEFAULT,
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING})
def billing_gcp_export():
    @task(pool=GCP.pool, execution_timeout=timeouts.BILLING_PLAN)
    def plan(params=None, logical_date=None, run_id=None) -> dict:
        return GCP.plan(params, logical_date, run_id)

    chunk_chain(plan(), GCP, fetch_retries=5)


billing_gcp_export()
