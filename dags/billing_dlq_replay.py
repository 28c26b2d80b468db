"""Wiring for DLQ replay of billing chunks; logic in include/ingest/billing/replay.py."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest import timeouts
from include.ingest.queues import BILLING_FETCH, BILLING_NORMALIZE, BILLING_PERSIST, DEFAULT

DOC = """
### Replay billing chunks from the dead-letter queue
Chunks that failed for good in a provider DAG land in `billing.dlq` (by its `finalize`
task) with their descriptor. This DAG takes the open entries (all, or the ids given),
re-runs each chunk through **fetch** (a no-op when the raw file is already landed and
intact) → **normalize** → **persist** on the same queues as the provider DAGs, then
**publishes** every slice it touched through the same reconciliation gate as the provider
DAGs (the totals the provider declared, from the ledger) — publish verifies every chunk of
the slice and marks their DLQ entries resolved; a slice that disagrees is not published and
fails the task. Entries whose slice version was superseded meanwhile are
resolved as settled. Safe to run any time, and to clear and re-run.
"""


@dag(dag_id="billing_dlq_replay", schedule=None, catchup=False, doc_md=DOC,
     tags=["billing", "dlq", "replay"], max_active_runs=1,
     default_args={"retries": 2, "retry_delay": timedelta(seconds=20), "queue": DEFAULT,
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING},
     params={"entry_ids": Param(None, type=["null", "array"], items={"type": "integer"},
                                title="DLQ entry ids", description="Empty: every open entry"),
             "dag_id": Param(None, type=["null", "string"], title="Only entries of this DAG")})
def billing_dlq_replay():
    @task
    def entries(params=None) -> list[dict]:
        from include.ingest.billing.replay import open_dlq_entries
        return open_dlq_entries(params["entry_ids"], params["dag_id"])

    @task(queue=BILLING_FETCH, retries=5, execution_timeout=timeouts.BILLING_FETCH)
    def fetch(entry: dict) -> dict:
        from include.ingest.billing.replay import replay_fetch
        return replay_fetch(entry)

    @task(queue=BILLING_NORMALIZE, execution_timeout=timeouts.BILLING_NORMALIZE)
    def normalize(fetched: dict) -> dict:
        from include.ingest.billing.replay import replay_normalize
        return replay_normalize(fetched)

    @task(queue=BILLING_PERSIST, execution_timeout=timeouts.BILLING_PERSIST)
    def persist(normalized: dict) -> dict:
        from include.ingest.billing.pipeline import persist as load
        return load(normalized)

    @task(queue=BILLING_PERSIST, execution_timeout=timeouts.BILLING_PUBLISH)
    def publish(persisted, run_id=None) -> list[dict]:
        from include.ingest.billing.replay import publish_replayed
        return publish_replayed(list(persisted), run_id)

    publish(persist.expand(normalized=normalize.expand(fetched=fetch.expand(entry=entries()))))


billing_dlq_replay()
