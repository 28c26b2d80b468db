"""Shared setup of the Azure / GCP pipeline tests: environment, clients on the sandbox, and
the pipeline steps run in-process in DAG order (as each task would call them)."""
import json
import uuid
from base64 import urlsafe_b64decode
from urllib.parse import parse_qs

import pytest
import redis

from include.ingest.billing import pipeline
from include.ingest.billing.normalize import azure as azure_normalize
from include.ingest.billing.normalize import gcp as gcp_normalize
from include.ingest.billing.reconcile import publish_reconciled
from include.ingest.billing.sources import azure_cost, azure_exports, gcp_bigquery
from include.ingest.billing.sources.azure_client import QPU_LIMITS, AzureClient, AzureSettings
from include.ingest.billing.sources.gcp_client import BigQueryClient, GcpSettings
from include.ingest.billing.store.ledger import SliceVersion

AZURE_ACCOUNT = "12345678"
RELAXED = ((10, 100_000),)  # for tests about something else than the quota


@pytest.fixture
def cloud_env(warehouse, warehouse_url, redis_url, tmp_path, monkeypatch):
    """INGEST_DB_URL / INGEST_REDIS_URL / INGEST_LANDING_URL set, billing tables emptied."""
    monkeypatch.setenv("INGEST_DB_URL", warehouse_url)
    monkeypatch.setenv("INGEST_REDIS_URL", redis_url)
    monkeypatch.setenv("INGEST_LANDING_URL", (tmp_path / "landing").as_uri())
    warehouse.execute("TRUNCATE billing.cursors, billing.reconciliation")
    warehouse.commit()
    return warehouse


def azure_settings(sb, tenant=None, limits=QPU_LIMITS, container=None):
    ep = sb.endpoints["azure"]
    return AzureSettings(ep["url"], tenant or f"tenant-{uuid.uuid4().hex[:10]}", ep["client_id"],
                         ep["client_secret"], authority=ep["authority"], ca_cert=ep["ca_cert"],
                         blob_url=ep["blob_url"], container=container or ep["container"], qpu_limits=limits)


def azure_client(settings, redis_url):
    return AzureClient(settings, redis.Redis.from_url(redis_url))


def scopes(sb):
    return [f"subscriptions/{s}" for s in sb.endpoints["azure"]["subscriptions"]]


def gcp_client(sb, table=None):
    ep = sb.endpoints["gcp"]
    name = f"{ep['project']}.{ep['dataset']}.{table or ep['table']}"
    return BigQueryClient(GcpSettings(ep["url"], ep["project"], name, "static", "sandbox-token"))


def load_azure_chunk(client, chunk):
    sv = SliceVersion.from_json(chunk["slice"])
    if chunk["kind"] == "query":
        landed, read = azure_cost.fetch_query_chunk(client, chunk, sv), azure_cost.read_batches
    else:
        landed, read = azure_exports.fetch_part(client, chunk, sv), azure_exports.read_batches
    normalized = pipeline.normalize(chunk, landed.to_json(), azure_normalize.normalize_batch, read)
    return pipeline.persist(normalized)


def load_gcp_chunk(client, chunk):
    sv = SliceVersion.from_json(chunk["slice"])
    landed = gcp_bigquery.fetch_partition(client, chunk, sv)
    normalized = pipeline.normalize(chunk, landed.to_json(), gcp_normalize.normalize_batch,
                                    gcp_bigquery.read_batches)
    return pipeline.persist(normalized)


def plan_azure_query(client, the_scopes, window_days=31, page_size=None, period="2024-01", run_id="test-run"):
    sv, chunks, source = azure_cost.plan_query(client, AZURE_ACCOUNT, period, the_scopes, window_days,
                                               page_size=page_size)
    return pipeline.plan(sv, chunks, source, run_id)


def run_azure_export(client, export_name, period="2024-01"):
    sv, chunks, source = azure_exports.plan_export(client, AZURE_ACCOUNT, period, export_name)
    planned = pipeline.plan(sv, chunks, source, "test-run")
    for chunk in planned["chunks"]:
        load_azure_chunk(client, chunk)
    return planned, publish_reconciled(planned, "test-run")


def run_gcp(client, account, period="2024-01", page_size=None):
    sv, chunks, source = gcp_bigquery.plan_export(client, account, period, page_size)
    planned = pipeline.plan(sv, chunks, source, "test-run")
    for chunk in planned["chunks"]:
        load_gcp_chunk(client, chunk)
    return planned, publish_reconciled(planned, "test-run")


def page_offset(entry):
    """Row offset of an Azure query page in the sandbox request log (0 = first page)."""
    token = (parse_qs(entry["query"]).get("$skiptoken") or [None])[0]
    if token is None:
        return 0
    return json.loads(urlsafe_b64decode(token + "=" * (-len(token) % 4)))["o"]


def quota_bound_seconds(n, limits=QPU_LIMITS):
    """When the n-th call can be granted at the earliest if every window's quota is spent
    greedily from t = 0 (the ideal no client can beat)."""
    times = []
    for _ in range(n):
        times.append(max([0.0] + [times[-q] + w for w, q in limits if len(times) >= q]))
    return times[-1] if times else 0.0


def slice_state(conn):
    row = conn.execute(
        "SELECT count(*), count(DISTINCT x_idempotency_key), coalesce(sum(billed_cost), 0), "
        "coalesce(sum(effective_cost), 0), string_agg(DISTINCT x_version, ',') FROM billing.line_items").fetchone()
    conn.commit()
    return row
