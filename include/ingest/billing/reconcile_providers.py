"""What each provider declares *now* about a published slice (probes for the nightly check).

A probe takes the slice's ledger row and returns ``(declared, declared_by, extra checks)``
for ``reconcile.reconcile_published``:

* Azure, Query API loads: the Daily Cost aggregate of the same scopes for the month.
* Azure, export loads: the published run's manifest ``dataRowCount``, and whether a newer
  run with data exists (``version``).
* GCP: COUNT, SUM(cost) and SUM(cost) + SUM(credits.amount) of the invoice month, in
  micros (Google's exact invoice query), and MAX(export_time) against our version.
* AWS CUR: the period manifest's ``assemblyId`` / ``executionId`` against the published
  one (``version``), and the InvoiceId state of the published rows (``invoice_final``:
  ``open`` while any row has none -- the month is not final yet).
"""
from __future__ import annotations

import json
from decimal import Decimal

from include.ingest.billing.reconcile import Check, Probe, version_check
from include.ingest.persist.db import connect


def _label(row: dict) -> str:
    return f"{row['provider']}:{row['billing_account']}:{row['billing_period']}"


def _source(row: dict) -> dict:
    source = row.get("source") or {}
    return json.loads(source) if isinstance(source, str) else source


def azure_probe(client) -> Probe:
    from include.ingest.billing.sources import azure_cost, azure_exports

    def probe(row: dict) -> tuple[dict, str, list[Check]]:
        source, period = _source(row), row["billing_period"]
        if source.get("kind") == "export":
            manifest = azure_exports.get_json(client, source["manifest"])
            latest = azure_exports.latest_run(client, source["root"], source["export_name"], period)
            newest = latest[1]["runInfo"]["runId"] if latest else None
            extra = [version_check(_label(row), newest, row["version"], "newest export run with data")]
            return {"rows": manifest["dataRowCount"]}, f"export manifest {source['manifest']} dataRowCount", extra
        totals = azure_cost.declared_totals(client, source["scopes"], period, source.get("cost_type", "ActualCost"))
        return {"billed_cost": totals["billed_cost"]}, "Query API Daily Cost aggregate of the slice's scopes", []

    return probe


def gcp_probe(client) -> Probe:
    from include.ingest.billing.sources import gcp_bigquery

    def probe(row: dict) -> tuple[dict, str, list[Check]]:
        totals = gcp_bigquery.invoice_totals(client, row["billing_period"])
        declared = {"rows": totals["rows"], "billed_cost": Decimal(totals["cost_micros"]).scaleb(-6),
                    "effective_cost": Decimal(totals["cost_micros"] + totals["credits_micros"]).scaleb(-6)}
        extra = [version_check(_label(row), totals["max_export_time"], row["version"],
                               "MAX(export_time) of the invoice month")]
        return declared, "BigQuery COUNT / SUM(cost) + SUM(credits.amount) by invoice.month, in micros", extra

    return probe


def aws_probe(s3) -> Probe:
    from include.ingest.billing.sources.aws_cur import _s3_call

    def probe(row: dict) -> tuple[dict, str, list[Check]]:
        label, url = _label(row), _source(row).get("manifest", "")
        bucket, _, key = url.removeprefix("s3://").partition("/")
        manifest = _s3_call(lambda: json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()), url)
        current = manifest.get("assemblyId") or manifest.get("executionId")
        checks = [version_check(label, current, row["version"], f"period manifest {url}")]
        with connect() as conn:
            open_rows = conn.execute(
                "SELECT count(*) FROM billing.line_items WHERE x_provider = 'aws' AND x_billing_account = %s "
                "AND x_billing_period = %s AND coalesce(invoice_id, '') = ''",
                (row["billing_account"], row["billing_period"])).fetchone()[0]
        status = "open" if open_rows else "ok"
        checks.append(Check(label, "invoice_final", status, "bill/InvoiceId of the published rows",
                            f"{label} invoice: {open_rows} published rows without InvoiceId" if open_rows
                            else f"{label} invoice: every published row has an InvoiceId (final)",
                            None, Decimal(open_rows)))
        return {}, f"period manifest {url}", checks

    return probe
