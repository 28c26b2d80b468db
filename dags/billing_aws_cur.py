"""Wiring for AWS CUR → FOCUS 1.2; logic in include/ingest/billing/."""
from __future__ import annotations

from datetime import timedelta

from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator
from airflow.sdk import Param, dag, task

from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest.billing.dag_chain import chunk_chain
from include.ingest.billing.providers.aws import PROVIDER as AWS
from include.ingest import timeouts
from include.ingest.queues import DEFAULT

DOC = """
### AWS CUR → FOCUS 1.2 (one run = one slice: payer account × billing period)
`plan` reads the period manifest (legacy CUR `assemblyId` or CUR 2.0 `executionId` = the
version) and records the load in `billing.ledger`; each data file is a chunk:
**fetch** (`billing.fetch`, pool `provider_aws`) lands the bytes unchanged →
**normalize** (`billing.normalize`) → **persist** (`billing.persist`, delete-then-COPY into
the load's own table) → **publish** (one transaction: verify counts, attach the load's table
as the slice's partition in place of the previous version's, ledger) →
**finalize** (always runs: failed chunks go to `billing.dlq`; replay with `billing_dlq_replay`;
the run fails unless the slice version was published).

Re-running a published version changes nothing; an older assembly never replaces a newer
one; clearing any failed task is safe. Scheduled daily: the run's month, and the previous
month is re-triggered until its InvoiceId is final. Backfill past months with
`airflow backfill create --dag-id billing_aws_cur --from-date … --to-date …`.
"""
PARAMS = {
    AWS.conn_param: Param(AWS.default_conn, type="string", title="AWS connection"),
    "bucket": Param("sandbox-billing", type="string", title="CUR bucket"),
    "layout": Param("cur1", type="string", enum=["cur1", "cur2"], title="Report layout",
                    values_display={"cur1": "Legacy CUR (csv.gz)", "cur2": "CUR 2.0 Data Export (Parquet)"}),
    "prefix": Param("cur", type="string", title="S3 prefix"),
    "report": Param("sandbox-cur", type="string", title="Report / export name"),
    "billing_account": Param("111122223333", type="string", pattern=r"^\d{12}$", title="Payer account"),
    "billing_period": Param(None, type=["null", "string"], pattern=r"^\d{4}-(0[1-9]|1[0-2])$",
                            title="Billing period (YYYY-MM)", description="Empty: the run's month"),
}


@dag(dag_id="billing_aws_cur", schedule="0 6 * * *", catchup=False, doc_md=DOC, params=PARAMS,
     tags=["billing", "aws", "focus"], max_active_runs=4,
     default_args={"retries": 3, "retry_delay": timedelta(seconds=20), "queue": DEFAULT,
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING})
def billing_aws_cur():
    @task(execution_timeout=timeouts.BILLING_PLAN)
    def plan(params=None, logical_date=None, run_id=None) -> dict:
        return AWS.plan(params, logical_date, run_id)

    @task.short_circuit(trigger_rule="none_failed")
    def previous_month_open(plan_: dict, params=None) -> bool:
        return AWS.previous_month_open(plan_, params)

    planned = plan()
    published = chunk_chain(planned, AWS, fetch_retries=5)
    published >> previous_month_open(planned) >> TriggerDagRunOperator(
        task_id="refresh_previous_month", trigger_dag_id="billing_aws_cur",
        conf={**{name: "{{ params.%s }}" % name for name in PARAMS},
              "billing_period": "{{ ti.xcom_pull(task_ids='plan')['previous_period'] }}"},
        wait_for_completion=False)


billing_aws_cur()
