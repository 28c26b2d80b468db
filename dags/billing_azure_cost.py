"""Wiring for Azure Cost Management → FOCUS 1.2; logic in include/ingest/billing/."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest.billing.dag_chain import chunk_chain
from include.ingest.billing.providers.azure import PROVIDER as AZURE
from include.ingest import timeouts
from include.ingest.queues import DEFAULT

DOC = """
### Azure Cost Management → FOCUS 1.2 (one run = one slice: billing account × month)
**Query API** (`source=query`): `plan` queries each scope's Daily totals (the snapshot that
is the version, and what Azure declares) and plans one chunk per scope × window of at most
31 days. **Exports** (`source=export`): the newest run's `manifest.json` (`runId` = version,
`blobCount` / `dataRowCount` checked); one chunk per CSV part, any header dialect.

**fetch** (`billing.fetch`, pool `provider_azure`) pages through the shared per-tenant quota
(12 QPU / 10 s in Redis), POSTing every `nextLink` with the same body; each page is landed as
its own file and the cursor saved (Redis + `billing.cursors`), so a retry after a long
`Retry-After`, a killed worker or a Redis flush resumes at the next page → **normalize** →
**persist** → **publish** (checks the loaded rows against the provider's declared totals
into `billing.reconciliation`, then swaps the slice in) → **finalize** (failed chunks → DLQ;
the run fails unless the slice was published).
Clearing any task is safe; a re-run of unchanged data is a no-op.
"""
PARAMS = {
    AZURE.conn_param: Param(AZURE.default_conn, type="string", title="Azure connection"),
    "billing_account": Param("12345678", type="string", title="Billing account id"),
    "billing_period": Param(None, type=["null", "string"], pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                            title="Billing period (YYYY-MM)", description="Empty: the run's month"),
    "source": Param("query", type="string", enum=["query", "export"], title="Query API or exports"),
    "scopes": Param([], type="array", items={"type": "string"}, title="Query scopes",
                    description="subscriptions/<id>[/resourceGroups/<rg>]; empty: connection extra 'scopes'"),
    "window_days": Param(31, type="integer", minimum=1, maximum=31, title="Days per query chunk"),
    "cost_type": Param("ActualCost", type="string", enum=["ActualCost", "AmortizedCost", "Usage"]),
    "page_size": Param(None, type=["null", "integer"], minimum=1, maximum=5000, title="Rows per page ($top)"),
    "export_name": Param(None, type=["null", "string"], title="Export name (source=export)"),
    "export_root": Param(None, type=["null", "string"], title="Export root folder (default billing)"),
}


@dag(dag_id="billing_azure_cost", schedule="30 6 * * *", catchup=False, doc_md=DOC, params=PARAMS,
     tags=["billing", "azure", "focus"], max_active_runs=2,
     default_args={"retries": 3, "retry_delay": timedelta(seconds=30), "queue": DEFAULT,
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING})
def billing_azure_cost():
    @task(pool=AZURE.pool, execution_timeout=timeouts.BILLING_PLAN)
    def plan(params=None, logical_date=None, run_id=None) -> dict:
        return AZURE.plan(params, logical_date, run_id)

    chunk_chain(plan(), AZURE, fetch_retries=6)


billing_azure_cost()
