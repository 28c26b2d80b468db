"""Wiring for the stack self-check DAG; logic in include/ingest/selfcheck.py."""
from __future__ import annotations

from datetime import timedelta

from airflow.sdk import Param, dag, task

from include.ingest import timeouts
from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest.queues import BILLING_NORMALIZE, DEFAULT, QUEUES

DOC = """
### Stack self-check
Proves the deployment works end to end **on the CeleryExecutor**:

* `plan` makes *chunks* descriptors; `probe_chunk` is **mapped** over them on the
  `billing.normalize` queue (a non-default queue), so the fan-out lands on a Celery worker
  that consumes it;
* one `probe_<queue>` task per queue of the suite shows every queue has a live worker;
* every probe writes a file to the landing zone, queries the warehouse PostgreSQL and
  increments a Redis counter, so the stores the pipelines need are reachable from workers;
* `summarize` fails naming any chunk or queue that did not report back.

Trigger it from the UI (param *chunks*) or `make demo`. Safe to re-run at any time.
"""


@dag(dag_id="stack_selfcheck", schedule=None, catchup=False, doc_md=DOC,
     tags=["ops", "selfcheck"], max_active_runs=4,
     default_args={"retries": 2, "retry_delay": timedelta(seconds=10),
                   "retry_policy": IngestRetryPolicy(),
                   "execution_timeout": timeouts.BOOKKEEPING},
     params={"chunks": Param(4, type="integer", minimum=1, maximum=256,
                             title="Mapped chunks", description="Fan-out of probe_chunk")})
def stack_selfcheck():
    @task(queue=DEFAULT)
    def plan(params=None) -> list[dict]:
        from include.ingest.selfcheck import plan_chunks
        return plan_chunks(params["chunks"])

    @task(queue=BILLING_NORMALIZE, map_index_template="{{ chunk_label }}",
          execution_timeout=timeouts.SELFCHECK_PROBE)
    def probe_chunk(chunk: dict, run_id=None) -> dict:
        from airflow.sdk import get_current_context

        from include.ingest.selfcheck import probe
        get_current_context()["chunk_label"] = f"chunk-{chunk['chunk_id']}"
        return probe(run_id, BILLING_NORMALIZE, chunk)

    def queue_probe(queue: str):
        @task(task_id=f"probe_{queue.replace('.', '_')}", queue=queue,
              execution_timeout=timeouts.SELFCHECK_PROBE)
        def probe_queue(run_id=None) -> dict:
            from include.ingest.selfcheck import probe
            return probe(run_id, queue)
        return probe_queue()

    @task(queue=DEFAULT)
    def summarize(chunk_results, queue_results, params=None) -> dict:
        from include.ingest.selfcheck import summarize as check
        return check(list(chunk_results), list(queue_results), QUEUES, params["chunks"])

    chunks = probe_chunk.expand(chunk=plan())
    summarize(chunks, [queue_probe(q) for q in QUEUES])


stack_selfcheck()
