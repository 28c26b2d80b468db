"""Wiring for the catalog ingest DAG; logic in include/ingest/catalog/ (tasks.py)."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest import timeouts
from include.ingest.ils.assets import CATALOG_BATCHES
from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest.queues import DEFAULT, MARC21_PARSE

DOC = """
### Catalog ingest (MARC21 / MARCXML / BIBFRAME JSON-LD)
Loads one vendor file into the versioned catalog store (`catalog.*` in the warehouse):

* `plan` lands the file in the landing zone (raw first, with its sha256), detects the
  format and cuts it into **batches of 500–1000 records by byte offset**; XCom carries
  only these descriptors, never records;
* `ingest_batch` is **mapped** over the batches on the `marc21.parse` queue: it parses the
  batch's byte range (a bad record never stops the file: it goes to `catalog.dlq` with its
  raw bytes and reason), computes OCLC number / ISBN-13 / 001 keys, skips records a Redis
  Bloom filter has never seen from the PostgreSQL lookup (hits are always confirmed in
  PostgreSQL), and commits records, versions and the per-record result log in one
  transaction — re-running a batch changes nothing;
* `summarize` adds up `catalog.batches` and fails naming any batch that did not commit.

Params: **source** (a path in the landing zone or an inbox root — `INGEST_INBOX_ROOTS` —,
or an http(s) URL whose host is in `INGEST_URL_ALLOW`; anything else is refused), **format**, **batch_size**,
**overlay_policy** (`replace` makes a new version, `keep_existing` keeps the stored one,
`create_new` adds a separate record), **encoding** (MARC 21 files: `auto` follows
leader/09 and repairs mislabelled records; `utf-8` / `marc-8` read every record so, whatever
leader/09 says). Undo a batch with the `catalog_rollback` DAG.
Every task has an `execution_timeout` (`include/ingest/timeouts.py`).
"""


@dag(dag_id="catalog_ingest", schedule=None, catchup=False, doc_md=DOC,
     tags=["catalog", "ingest"], max_active_runs=4,
     default_args={"retries": 3, "retry_delay": timedelta(seconds=30),
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING},
     params={
         "source": Param("", type="string", title="File",
                         description="Path in the landing zone (e.g. inbox/vendor.mrc), a "
                                     "path in an inbox root (INGEST_INBOX_ROOTS), or an "
                                     "allow-listed URL (INGEST_URL_ALLOW)"),
         "format": Param("auto", enum=["auto", "marc21", "marcxml", "jsonld"], title="Format"),
         "batch_size": Param(1000, type="integer", minimum=500, maximum=1000,
                             title="Records per batch"),
         "overlay_policy": Param("replace", enum=["replace", "keep_existing", "create_new"],
                                 title="When a record matches an existing one"),
         "encoding": Param("auto", enum=["auto", "utf-8", "marc-8"],
                           title="MARC 21 character encoding",
                           description="auto: leader/09, mislabelled records repaired; utf-8 "
                                       "or marc-8: every record read so, whatever leader/09 says"),
     })
def catalog_ingest():
    @task(queue=DEFAULT, execution_timeout=timeouts.CATALOG_PLAN)
    def plan(params=None, run_id=None) -> list[dict]:
        from include.ingest.catalog.tasks import plan_run
        return plan_run(params, run_id)

    # outlet: each committed batch is an asset event that starts ils_sync_holdings
    @task(queue=MARC21_PARSE, map_index_template="{{ batch_label }}",
          execution_timeout=timeouts.CATALOG_BATCH, outlets=[CATALOG_BATCHES])
    def ingest_batch(batch: dict) -> dict:
        from airflow.sdk import get_current_context

        from include.ingest.catalog.tasks import run_batch
        from include.ingest.log_context import bind_from_descriptor
        bind_from_descriptor(batch)  # the batch id on every log line
        context = get_current_context()
        context["batch_label"] = f"batch-{batch['batch_no']:04d}"
        result = run_batch(batch)
        context["outlet_events"][CATALOG_BATCHES].extra = {"batch_ids": [batch["batch_id"]]}
        return result

    # all_done: runs even when batches failed, to name them; taking plan's output makes it
    # fail (and the run with it) when plan itself failed.
    @task(queue=DEFAULT, trigger_rule="all_done", retries=1)
    def summarize(batches: list[dict], results, run_id=None) -> dict:
        from include.ingest.catalog.tasks import summarize_run
        return summarize_run(run_id, len(batches))

    batches = plan()
    summarize(batches, ingest_batch.expand(batch=batches))


catalog_ingest()
