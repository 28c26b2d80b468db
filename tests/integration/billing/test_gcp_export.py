"""GCP billing export from the BigQuery sandbox through normalize → persist → publish:
exact golden totals, a restated month (negating corrections) replacing the slice exactly,
and a repeated page token failing loudly instead of looping."""
from decimal import Decimal

import pytest

from include.ingest.billing import pipeline
from include.ingest.billing.sources import gcp_bigquery
from include.ingest.errors import PermanentError
from include.ingest.billing.store.ledger import SliceVersion
from sandbox import Sandbox
from tests.integration.billing.cloud_env import cloud_env, gcp_client, run_gcp, slice_state  # noqa: F401

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(seed=41, scale=400, months=("2024-01",), providers=("gcp",)) as sb:
        yield sb


def test_month_matches_the_golden_then_a_restatement_replaces_it_exactly(sandbox, cloud_env):
    client, account = gcp_client(sandbox), sandbox.endpoints["gcp"]["billing_account"]
    first, published = run_gcp(client, account, page_size=25)
    golden = sandbox.golden("gcp", "2024-01")
    count, keys, billed, effective, version = slice_state(cloud_env)
    assert published["status"] == "published" and first["slice"]["version"] == golden["version"] == version
    assert count == keys == golden["rows"]
    assert (billed, effective) == (Decimal(golden["sums"]["cost"]), Decimal(golden["sums"]["cost_plus_credits"]))

    restated = sandbox.restate("gcp", "2024-01")  # Google appends negations + re-monetized rows
    second, published = run_gcp(client, account, page_size=25)
    count, keys, billed, effective, version = slice_state(cloud_env)
    assert second["slice"]["version"] == restated["version"] == version != first["slice"]["version"]
    assert published["replaced_version"] == first["slice"]["version"]
    assert count == keys == restated["rows"] == golden["rows"] + 16
    assert (billed, effective) == (Decimal(restated["sums"]["cost"]), Decimal(restated["sums"]["cost_plus_credits"]))
    corrections, net = cloud_env.execute(
        "SELECT count(*), sum(billed_cost) FROM billing.line_items "
        "WHERE x_operation = 'COMPLETE_NEGATION_WITH_REMONETIZATION'").fetchone()
    # the correction rows are kept as Google appended them (8 negations + 8 re-monetized), never netted away
    assert (corrections, net) == (16, Decimal(restated["sums"]["cost"]) - Decimal(golden["sums"]["cost"]))
    states = dict(cloud_env.execute("SELECT version, state FROM billing.ledger").fetchall())
    assert states == {first["slice"]["version"]: "superseded", version: "published"}
    checks = cloud_env.execute("SELECT DISTINCT measure, status FROM billing.reconciliation").fetchall()
    assert sorted(checks) == [("billed_cost", "ok"), ("effective_cost", "ok"), ("rows", "ok")]


def test_a_repeated_page_token_fails_loudly_and_never_loops(sandbox, cloud_env):
    client, account = gcp_client(sandbox), sandbox.endpoints["gcp"]["billing_account"]
    sv, chunks, _ = gcp_bigquery.plan_export(client, account, "2024-01", page_size=3)
    planned = pipeline.plan(sv, chunks, {}, "repeat-run")
    chunk = max(planned["chunks"], key=lambda c: c["rows"])
    since = max((e["seq"] for e in sandbox.requests("gcp")), default=0)
    sandbox.set_faults("gcp.results:repeat-token:nth=2")  # page 3 hands back the token that fetched it
    try:
        with pytest.raises(PermanentError) as caught:
            gcp_bigquery.fetch_partition(client, chunk, SliceVersion.from_json(chunk["slice"]))
    finally:
        sandbox.clear_faults()
    results = [e for e in sandbox.requests("gcp", "gcp.results") if e["seq"] > since]
    token = results[-1]["query"].split("pageToken=")[1].split("&")[0]
    assert "again" in str(caught.value) and token in str(caught.value) and "page 3" in str(caught.value)
    assert len(results) == 2  # page 2, page 3 -- and no further request
    cursor = cloud_env.execute("SELECT pages_landed, done FROM billing.cursors WHERE chunk_id = %s",
                               (chunk["chunk_id"],)).fetchone()
    assert cursor == (2, False)  # the looping page was never landed
