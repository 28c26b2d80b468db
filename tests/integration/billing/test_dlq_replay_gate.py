"""A DLQ replay publishes through the same reconciliation gate as the provider DAGs, with
the totals the provider declared read from the ledger (a replay's plan has only the
slice): a BigQuery month served with one row its declared totals do not count is refused
at the replay too, not published."""
from decimal import Decimal

import pytest

from include.ingest.billing import pipeline, replay
from include.ingest.billing.sources import gcp_bigquery
from include.ingest.errors import PermanentError
from include.ingest.billing.store.ledger import SliceVersion
from sandbox import Sandbox
from tests.integration.billing.cloud_env import cloud_env, gcp_client, load_gcp_chunk  # noqa: F401

pytestmark = pytest.mark.integration


def _replay(client, entries):
    """The replay DAG's steps: fetch (the sandbox client stands in for the connection),
    normalize, persist — then publish_replayed, as its last task does."""
    persisted = []
    for entry in entries:
        sv = SliceVersion.from_json(entry["chunk"]["slice"])
        landed = gcp_bigquery.fetch_partition(client, entry["chunk"], sv)
        fetched = {"id": entry["id"], "chunk": entry["chunk"], "landed": landed.to_json()}
        persisted.append(pipeline.persist(replay.replay_normalize(fetched)))
    return replay.publish_replayed(persisted, "replay-run")


def _dead_letter_first_chunk(client, account, period):
    sv, chunks, source = gcp_bigquery.plan_export(client, account, period, None)
    planned = pipeline.plan(sv, [{**c, "conn_id": "unused"} for c in chunks], source, "run-1")
    assert len(planned["chunks"]) > 1 and planned["source"]["declared"]
    for chunk in planned["chunks"][1:]:  # the first chunk's task failed for good
        load_gcp_chunk(client, chunk)
    pipeline.finalize(planned, "billing_gcp_export", "run-1")  # → billing.dlq
    return planned, replay.open_dlq_entries(None, "billing_gcp_export")


def test_a_replayed_slice_that_disagrees_with_its_declared_totals_is_not_published(cloud_env):
    with Sandbox(seed=53, scale=90, months=("2024-02",), providers=("gcp",),
                 faults="gcp.*:extra-row:period=2024-02") as sb:
        client, account = gcp_client(sb), sb.endpoints["gcp"]["billing_account"]
        planned, entries = _dead_letter_first_chunk(client, account, "2024-02")
        assert len(entries) == 1
        with pytest.raises(PermanentError) as refused:
            _replay(client, entries)
        golden = sb.golden("gcp", "2024-02")
    label = f"gcp:{account}:2024-02"
    assert f"{label} rows: provider declares {golden['rows']}" in str(refused.value)
    assert "expected every replayed slice to reconcile" in str(refused.value)
    state = cloud_env.execute("SELECT state FROM billing.ledger").fetchone()[0]
    published = cloud_env.execute("SELECT count(*) FROM billing.line_items").fetchone()[0]
    assert (state, published) == ("loading", 0)
    recorded = cloud_env.execute("SELECT context, status, difference, dag_run_id FROM billing.reconciliation "
                                 "WHERE measure = 'rows'").fetchall()
    assert recorded == [("publish", "discrepancy", Decimal(1), "replay-run")]


def test_a_replayed_slice_that_reconciles_is_published(cloud_env):
    with Sandbox(seed=54, scale=90, months=("2024-02",), providers=("gcp",)) as sb:
        client, account = gcp_client(sb), sb.endpoints["gcp"]["billing_account"]
        planned, entries = _dead_letter_first_chunk(client, account, "2024-02")
        [published] = _replay(client, entries)
        golden = sb.golden("gcp", "2024-02")
    assert published["status"] == "published" and published["dlq_resolved"] == 1
    assert published["rows_in"] == golden["rows"]
    assert {c["status"] for c in published["reconciliation"]} == {"ok"}
    assert replay.open_dlq_entries(None, None) == []
