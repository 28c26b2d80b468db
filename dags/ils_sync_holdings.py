"""Wiring for the ILS holdings sync DAG; logic in include/ingest/ils/ (tasks.py)."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest import timeouts
from include.ingest.ils.assets import CATALOG_BATCHES
from include.ingest.queues import DEFAULT, ILS_SYNC_HOLDINGS
from include.ingest.retry_policy import IngestRetryPolicy

DOC = """
### ILS holdings sync (FOLIO inventory storage)
Pushes what committed catalog batches hold to the ILS (Airflow connection `ils_folio`):
a FOLIO **instance** per bibliographic record, **holdings** from MARC Holdings records
(leader/06 `u v x y`, linked by 004) and from 852 fields, **items** from 876 and the
vendors' item fields (949 / 945 / 952) — one mapping, `include/ingest/ils/mapping.py`.

* runs after each committed catalog batch (the `catalog.batches` asset event from
  `catalog_ingest`), or by hand: **batch_id** for one batch, or **scope** `unsynced` for
  every committed batch not yet synced;
* `plan` lists the batches; `sync_batch` is **mapped** over them on the
  `ils.sync.holdings` queue in pool `ils_api`: batch upserts, one by one for records a
  batch refuses, re-read + merge on 409 (our fields win, the ILS's own fields stay),
  waits on 429 through the shared Redis limiter, refreshes the token on 401;
* per-record state in `ils.sync_state`: a retry or a second run sends nothing already in
  sync, and a run killed mid-way resumes without sending a record twice. A batch is
  `synced` in `catalog.batches` once the ILS holds all of it.
Every task has an `execution_timeout` (`include/ingest/timeouts.py`).
"""


@dag(dag_id="ils_sync_holdings", schedule=[CATALOG_BATCHES], catchup=False, doc_md=DOC,
     tags=["catalog", "ils"], max_active_runs=1,
     default_args={"retries": 3, "retry_delay": timedelta(seconds=30),
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING},
     params={
         "batch_id": Param("", type="string", title="Catalog batch",
                           description="One batch id (catalog.batches); empty: the batches of "
                                       "the triggering catalog runs, else every unsynced one"),
         "scope": Param("triggered", enum=["triggered", "unsynced"], title="Which batches",
                        description="unsynced: every committed batch the ILS does not have yet"),
     })
def ils_sync_holdings():
    @task(queue=DEFAULT)
    def plan(params=None, triggering_asset_events=None) -> list[str]:
        from include.ingest.ils.tasks import plan as plan_batches
        return plan_batches(params, triggering_asset_events)

    @task(queue=ILS_SYNC_HOLDINGS, pool="ils_api", execution_timeout=timeouts.ILS_SYNC_BATCH,
          map_index_template="{{ batch_id }}")
    def sync_batch(batch_id: str) -> dict:
        from include.ingest.ils.tasks import sync
        return sync(batch_id)

    sync_batch.expand(batch_id=plan())


ils_sync_holdings()
