"""Money left in quarantine is never reported as fine (issue 12): a real-shaped CUR delivery
(the sandbox's, whose generated rows include unusable ones) publishes its valid rows, and the
run summary, the ledger and the nightly reconcile each show the quarantined rows, their Σ
cost and reasons as a warning -- the published total is what is compared, not published +
quarantined."""
import csv
import gzip
import io
from decimal import Decimal

import pytest

from include.ingest.billing.reconcile import reconcile_published
from include.ingest.billing.providers.aws import PROVIDER as AWS
from include.ingest.billing.sources import aws_cur
from include.ingest.billing.tasks_reconcile import summarize
from sandbox import Sandbox
from sandbox.aws.server import s3_client
from tests.integration.billing.run_cur import PAYER, report, run_slice

pytestmark = pytest.mark.integration
COST = "lineItem/NetUnblendedCost"  # FOCUS BilledCost of this CUR


def _quarantined(conn) -> tuple[int, Decimal]:
    rows, cost = conn.execute("SELECT count(*), coalesce(sum((raw::jsonb ->> %s)::numeric), 0) "
                              "FROM billing.quarantine", (COST,)).fetchone()
    conn.commit()
    return rows, cost


@pytest.fixture
def delivery_with_bad_rows():
    """A sandbox CUR delivery whose first file carries two more rows with money and an
    unreadable usage start (as a provider can publish them): they must go to quarantine."""
    with Sandbox(seed=12, scale=200, months=("2024-01",), providers=("aws",), aws_rows_per_file=100) as sb:
        s3 = s3_client(sb.aws_url, retries={"total_max_attempts": 1})
        _, chunks, _ = aws_cur.find_delivery(s3, report(sb), "2024-01", PAYER)
        bucket, key = chunks[0]["bucket"], chunks[0]["key"]
        text = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read()).decode()
        rows = list(csv.DictReader(io.StringIO(text)))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        for cost in ("12.5", "0.078035218197112280184"):
            writer.writerow({**rows[-1], "lineItem/UsageStartDate": "yesterday", COST: cost})
        s3.put_object(Bucket=bucket, Key=key, Body=gzip.compress(out.getvalue().encode()))
        yield sb, s3


def test_quarantined_money_is_a_warning_in_summary_ledger_and_nightly(delivery_with_bad_rows, billing_env):
    sandbox, s3 = delivery_with_bad_rows
    _, _, published = run_slice(s3, report(sandbox), "2024-01")
    rows, cost = _quarantined(billing_env)
    assert published["status"] == "published" and rows == published["rows_quarantined"] == 2
    assert cost == Decimal("12.578035218197112280184")
    # run summary
    held = published["quarantine"]
    assert (held["rows"], Decimal(held["billed_cost"])) == (rows, cost)
    assert published["warnings"] == [held["warning"]]
    assert f"{rows} rows in quarantine hold BilledCost {format(cost.normalize(), 'f')}" in held["warning"]
    assert "reasons: " in held["warning"] and sum(held["reasons"].values()) == rows
    # ledger
    ledger = billing_env.execute("SELECT quarantined_billed_cost, warning FROM billing.ledger "
                                 "WHERE state = 'published'").fetchone()
    billing_env.commit()
    assert ledger == (cost, held["warning"])
    # nightly: its own line, a warning; the run does not fail on it, but lists it
    checks = reconcile_published("aws", AWS.probe(s3), dag_run_id="nightly")
    line = [c for c in checks if c.measure == "quarantined_cost"]
    assert [(c.status, c.observed) for c in line] == [("warning", cost)]
    summary = summarize({"aws": [c.to_json() for c in checks]})
    assert summary["warning"] == 1 and summary["warnings"] == [line[0].detail]
    assert held["warning"] in line[0].detail
    stored = billing_env.execute("SELECT status, observed FROM billing.reconciliation "
                                 "WHERE measure = 'quarantined_cost'").fetchall()
    assert stored == [("warning", cost)]
