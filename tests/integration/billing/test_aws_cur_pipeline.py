"""AWS CUR (both layouts) from the sandbox S3 through normalize → persist → publish,
against real PostgreSQL: exact golden totals, idempotent re-runs, restatement."""
from decimal import Decimal

import pytest

from tests.integration.billing.run_cur import report, run_slice

pytestmark = pytest.mark.integration


def table_state(conn):
    rows = conn.execute("SELECT count(*), count(DISTINCT x_idempotency_key), sum(billed_cost), "
                        "string_agg(DISTINCT x_version, ',') FROM billing.line_items").fetchone()
    ledger = conn.execute("SELECT load_id, state, rows_in, rows_published, rows_quarantined, "
                          "billed_cost FROM billing.ledger ORDER BY load_id").fetchall()
    conn.commit()
    return rows, ledger


@pytest.mark.parametrize("layout", ["cur1", "cur2"])
def test_slice_matches_the_golden_totals_exactly(sandbox, s3, billing_env, layout):
    planned, _, published = run_slice(s3, report(sandbox, layout), "2024-01")
    golden = sandbox.golden("aws-cur" if layout == "cur1" else "aws-cur2", "2024-01")
    assert planned["slice"]["version"] == golden["version"]
    # FOCUS BilledCost = NetUnblendedCost when the report has it (billing-formats §6.1)
    cost = "lineItem/NetUnblendedCost" if layout == "cur1" else "line_item_net_unblended_cost"
    assert published["status"] == "published"
    assert published["rows_published"] + published["rows_quarantined"] == golden["rows"]
    quarantined = billing_env.execute("SELECT coalesce(sum((raw::jsonb ->> %s)::numeric), 0) "
                                      "FROM billing.quarantine", (cost,)).fetchone()[0]
    assert Decimal(published["billed_cost"]) + quarantined == Decimal(golden["sums"][cost])
    count, distinct_keys, _, _ = table_state(billing_env)[0]
    assert count == distinct_keys == published["rows_published"]


def test_running_a_slice_twice_changes_nothing(sandbox, s3, billing_env):
    run_slice(s3, report(sandbox), "2024-01")
    before = table_state(billing_env)
    planned, results, published = run_slice(s3, report(sandbox), "2024-01", "second-run")
    assert planned["state"] == "published" and planned["chunks"] == [] and results == []
    assert published["status"] == "already_published"
    assert table_state(billing_env) == before


def test_restatement_replaces_the_month_and_the_old_assembly_changes_nothing(sandbox, s3, billing_env):
    rep = report(sandbox)
    first, _, _ = run_slice(s3, rep, "2024-01")
    restated = sandbox.restate("aws", "2024-01", layout="cur1")
    second, _, published = run_slice(s3, rep, "2024-01")
    assert second["slice"]["version"] == restated["version"] != first["slice"]["version"]
    assert published["replaced_version"] == first["slice"]["version"]
    (count, _, billed, versions), _ = table_state(billing_env)
    assert versions == restated["version"]
    assert count + published["rows_quarantined"] == restated["rows"]
