"""The chunk chain every billing provider DAG wires after its `plan` task (docs/architecture.md §2):

    chunks_of → fetch (billing.fetch, provider pool) → normalize (billing.normalize)
              → persist (billing.persist) → publish → finalize (all_done: DLQ; fails the
                run unless the slice version was published: Airflow rates a run by it)

One builder for AWS, Azure and GCP, so a change to queues, trigger rules or the finalizer
reaches every provider. Imported at DAG parse time: it imports only airflow.sdk, the queue
table and the provider objects (light: their steps import what they need on the worker).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from airflow.sdk import task

from include.ingest import timeouts
from include.ingest.queues import BILLING_FETCH, BILLING_NORMALIZE, BILLING_PERSIST

if TYPE_CHECKING:
    from include.ingest.billing.providers.base import BillingProvider


def _bind_log_context(descriptor: dict | None) -> None:
    from include.ingest.log_context import bind_from_descriptor
    bind_from_descriptor(descriptor)  # slice, version, chunk as fields on every log line


def chunk_chain(planned, provider: BillingProvider, *, fetch_retries: int):
    """Wire the chain after `planned` (the plan task's output) inside a DAG; returns the
    publish task's output. Fetch, normalize and publish are `provider`'s; fetch runs in
    its pool on the connection its `conn_param` names."""

    @task(execution_timeout=timeouts.BOOKKEEPING)
    def chunks_of(plan_: dict) -> list[dict]:
        return plan_["chunks"]  # mapping needs a list; the plan dict also feeds publish

    @task(task_id="fetch", queue=BILLING_FETCH, pool=provider.pool, retries=fetch_retries,
          execution_timeout=timeouts.BILLING_FETCH)
    def fetch_chunk(chunk: dict, params=None) -> dict:
        _bind_log_context(chunk)
        return provider.fetch(chunk, params[provider.conn_param])

    @task(task_id="normalize", queue=BILLING_NORMALIZE, execution_timeout=timeouts.BILLING_NORMALIZE)
    def normalize_chunk(fetched: dict) -> dict:
        _bind_log_context(fetched)
        return provider.normalize(fetched)

    @task(queue=BILLING_PERSIST, execution_timeout=timeouts.BILLING_PERSIST)
    def persist(normalized: dict) -> dict:
        from include.ingest.billing import pipeline
        _bind_log_context(normalized)
        return pipeline.persist(normalized)

    @task(task_id="publish", queue=BILLING_PERSIST, trigger_rule="none_failed",
          execution_timeout=timeouts.BILLING_PUBLISH)
    def publish_slice(plan_: dict, run_id=None) -> dict:
        _bind_log_context(plan_)
        return provider.publish(plan_, run_id)

    @task(trigger_rule="all_done", execution_timeout=timeouts.BOOKKEEPING)
    def finalize(ti=None, dag_run=None) -> dict:
        from include.ingest.billing import pipeline
        # pulled here, not passed in: when plan failed there is no plan and nothing to close
        return pipeline.close_run(ti.xcom_pull(task_ids="plan"), dag_run.dag_id, dag_run.run_id)

    persisted = persist.expand(normalized=normalize_chunk.expand(
        fetched=fetch_chunk.expand(chunk=chunks_of(planned))))
    published = publish_slice(planned)
    persisted >> published >> finalize()
    return published
