"""Task bodies of the Azure and GCP billing DAGs: resolve params and connections, then call
the source and the shared pipeline (include/ingest/billing/tasks.py is the AWS twin).

Chunk descriptors carry the connection id (never a secret) so a DLQ replay can fetch them
with ``fetch_azure(chunk, conn_id)`` / ``fetch_gcp(chunk, conn_id)``; publish goes through
``reconcile.publish_reconciled`` (provider-declared totals checked first).
"""
from __future__ import annotations

from include.ingest.billing import pipeline
from include.ingest.billing.runs import resolve_period
from include.ingest.persist.ledger import SliceVersion
from include.ingest.safety import params as checked


def _connection(conn_id: str):
    from airflow.sdk import BaseHook

    return BaseHook.get_connection(checked.conn_id(conn_id))


def azure_client(conn_id: str):
    from include.ingest.billing.sources.azure_client import AzureClient, AzureSettings
    from include.ingest.http.exceptions import PermanentError
    from include.ingest.state import redis_client

    connection = _connection(conn_id)
    redis_conn = redis_client()
    if redis_conn is None:  # without the shared limiter every worker would spend the quota alone
        raise PermanentError("INGEST_REDIS_URL is not set; expected the Redis URL that holds the shared "
                             "Azure quota limiter and cursors (the local stack sets it; see README)")
    return AzureClient(AzureSettings.from_connection(connection), redis_conn), connection.extra_dejson


def gcp_client(conn_id: str):
    from include.ingest.billing.sources.gcp_client import BigQueryClient, GcpSettings

    return BigQueryClient(GcpSettings.from_connection(_connection(conn_id)))


def plan_azure(params: dict, logical_date, run_id: str) -> dict:
    from include.ingest.billing.sources import azure_cost, azure_exports

    period = resolve_period(params.get("billing_period"), logical_date)
    client, extra = azure_client(params["azure_conn_id"])
    account = checked.account(params["billing_account"])
    if params["source"] == "export":
        export_name = params.get("export_name")
        export_root = params.get("export_root")
        sv, chunks, source = azure_exports.plan_export(
            client, account, period,
            checked.name(export_name, "the export name") if export_name else extra.get("export_name"),
            checked.prefix(export_root, "the export root") if export_root
            else extra.get("export_root") or "billing")
    else:
        scopes = [checked.scope(scope) for scope in params.get("scopes") or []]
        sv, chunks, source = azure_cost.plan_query(
            client, account, period, scopes or extra.get("scopes") or [],
            int(params["window_days"]), params["cost_type"], params.get("page_size"))
    chunks = [{**chunk, "conn_id": params["azure_conn_id"]} for chunk in chunks]
    return pipeline.plan(sv, chunks, source, run_id)


def fetch_azure(chunk: dict, conn_id: str) -> dict:
    from include.ingest.billing.sources import azure_cost, azure_exports

    sv = SliceVersion.from_json(chunk["slice"])
    client, _ = azure_client(conn_id or chunk["conn_id"])
    if chunk["kind"] == "query":
        landed = azure_cost.fetch_query_chunk(client, chunk, sv)
    else:
        landed = azure_exports.fetch_part(client, chunk, sv)
    return {"chunk": chunk, "landed": landed.to_json()}


def normalize_azure(fetched: dict) -> dict:
    from include.ingest.billing.normalize.azure import normalize_batch
    from include.ingest.billing.sources import azure_cost, azure_exports

    read = azure_cost.read_batches if fetched["chunk"]["kind"] == "query" else azure_exports.read_batches
    return pipeline.normalize(fetched["chunk"], fetched["landed"], normalize_batch, read)


def plan_gcp(params: dict, logical_date, run_id: str) -> dict:
    from include.ingest.billing.sources import gcp_bigquery

    period = resolve_period(params.get("billing_period"), logical_date)
    client = gcp_client(params["gcp_conn_id"])
    sv, chunks, source = gcp_bigquery.plan_export(client, checked.account(params["billing_account"]), period,
                                                  params.get("page_size"))
    chunks = [{**chunk, "conn_id": params["gcp_conn_id"]} for chunk in chunks]
    return pipeline.plan(sv, chunks, source, run_id)


def fetch_gcp(chunk: dict, conn_id: str) -> dict:
    from include.ingest.billing.sources import gcp_bigquery

    sv = SliceVersion.from_json(chunk["slice"])
    landed = gcp_bigquery.fetch_partition(gcp_client(conn_id or chunk["conn_id"]), chunk, sv)
    return {"chunk": chunk, "landed": landed.to_json()}


def normalize_gcp(fetched: dict) -> dict:
    from include.ingest.billing.normalize.gcp import normalize_batch
    from include.ingest.billing.sources import gcp_bigquery

    return pipeline.normalize(fetched["chunk"], fetched["landed"], normalize_batch, gcp_bigquery.read_batches)


def publish(plan_: dict, run_id: str | None) -> dict:
    from include.ingest.billing.reconcile import publish_reconciled

    return publish_reconciled(plan_, run_id)
