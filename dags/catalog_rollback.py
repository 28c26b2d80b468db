"""Wiring for the catalog rollback DAG; logic in include/ingest/catalog/rollback.py."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest import timeouts
from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest.queues import DEFAULT

DOC = """
### Catalog batch rollback
Undoes one committed batch of `catalog_ingest` (its id is in the ingest run's summary, in
`catalog.batches` and in every `catalog.record_results` row):

* every record the batch **updated** goes back to the exact version it replaced;
* every record the batch **created** is marked deleted (its versions stay as history);
* a record that a **later batch** changed is left alone and reported as a conflict
  (record id, current version, the batch that wrote it) — roll that batch back first if
  it must go too.

One transaction under the catalog write lock; the batch becomes `rolled_back` with the
report. Rolling back the same batch again changes nothing.
"""


@dag(dag_id="catalog_rollback", schedule=None, catchup=False, doc_md=DOC,
     tags=["catalog", "rollback"], max_active_runs=1,
     default_args={"retries": 2, "retry_delay": timedelta(seconds=15),
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING},
     params={"batch_id": Param("", type="string", title="Batch id",
                               description="A committed batch, e.g. 3f2a9c1b7d4e-0003")})
def catalog_rollback():
    @task(queue=DEFAULT, execution_timeout=timeouts.CATALOG_ROLLBACK)
    def rollback(params=None) -> dict:
        from include.ingest.catalog.tasks import rollback as run_rollback
        return run_rollback(params["batch_id"])

    rollback()


catalog_rollback()
