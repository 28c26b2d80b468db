"""Nightly reconciliation of AWS CUR slices: the period manifest still names the published
assembly, and the InvoiceId state (not final while rows lack one) -- then a restatement is
flagged as a newer delivery, naming the slice."""
import pytest

from include.ingest.billing.reconcile import reconcile_published
from include.ingest.billing.providers.aws import PROVIDER as AWS
from tests.integration.billing.run_cur import PAYER, report, run_slice

pytestmark = pytest.mark.integration


def test_published_cur_is_current_until_aws_restates_it(sandbox, s3, billing_env):
    planned, _, _ = run_slice(s3, report(sandbox), "2024-01")
    checks = {c.measure: c for c in reconcile_published("aws", AWS.probe(s3), ["2024-01"], "nightly")}
    assert checks["version"].status == "ok"
    open_rows = billing_env.execute("SELECT count(*) FROM billing.line_items WHERE coalesce(invoice_id, '') = ''"
                                    ).fetchone()[0]
    assert checks["invoice_final"].status == ("open" if open_rows else "ok")
    assert checks["invoice_final"].observed == open_rows

    restated = sandbox.restate("aws", "2024-01", layout="cur1")
    (version,) = [c for c in reconcile_published("aws", AWS.probe(s3), ["2024-01"]) if c.measure == "version"]
    assert version.status == "discrepancy"
    assert f"aws:{PAYER}:2024-01 version: provider now delivers {restated['version']}" in version.detail
    assert planned["slice"]["version"] in version.detail
