"""AWS Cost and Usage Reports (legacy CUR csv.gz, CUR 2.0 Parquet) from S3 as a billing provider.

The period manifest names the delivery (its `assemblyId` / `executionId` is the version);
each data file is one chunk (include/ingest/billing/sources/aws_cur.py). A CUR plan
declares no totals, so publish passes the gate; the manifest and the InvoiceId state are
checked nightly. Scheduled runs keep refreshing the previous month until it is final.
"""
from __future__ import annotations

import json

from include.ingest.billing.providers.base import BillingProvider, ChunkSteps


class AwsCur(BillingProvider):
    name, pool, conn_param, default_conn = "aws", "provider_aws", "aws_conn_id", "aws_billing"

    def client(self, conn_id: str):
        from include.ingest.billing.sources import aws_cur
        from include.ingest.safety import params as checked

        return aws_cur.s3_client(checked.conn_id(conn_id))

    def plan_delivery(self, params: dict, period: str):
        from include.ingest.billing.sources import aws_cur
        from include.ingest.safety import params as checked

        report = aws_cur.CurReport(checked.bucket(params["bucket"]), checked.prefix(params["prefix"]),
                                   checked.name(params["report"]), params["layout"])
        account = checked.account(params["billing_account"])  # before any call
        return aws_cur.find_delivery(self.client(params[self.conn_param]), report, period, account)

    def plan(self, params: dict, logical_date, run_id: str) -> dict:
        from include.ingest.billing.runs import previous_period

        planned = super().plan(params, logical_date, run_id)
        planned["previous_period"] = previous_period(planned["slice"]["billing_period"])
        return planned

    def chunk_steps(self, chunk: dict) -> ChunkSteps:
        from include.ingest.billing.normalize.aws_cur import normalize_batch
        from include.ingest.billing.sources import aws_cur

        return ChunkSteps(aws_cur.fetch, aws_cur.read_batches, normalize_batch)  # one data file

    def previous_month_open(self, planned: dict, params: dict) -> bool:
        """Scheduled runs only: the previous month keeps being refreshed until final."""
        from include.ingest.billing.runs import needs_refresh
        from include.ingest.billing.store.ledger import SliceVersion

        if params.get("billing_period"):
            return False
        sv = SliceVersion.from_json(planned["slice"])
        return needs_refresh(sv.provider, sv.billing_account, planned["previous_period"])

    def probe(self, s3):
        """The period manifest's `assemblyId` / `executionId` against the published one
        (`version`), and the InvoiceId state of the published rows (`invoice_final`: `open`
        while any row has none -- the month is not final yet)."""
        from decimal import Decimal

        from include.ingest.billing.reconcile import Check, label_of, source_of, version_check
        from include.ingest.billing.sources.aws_cur import _s3_call
        from include.ingest.persist.db import connect

        def probe(row: dict):
            label, url = label_of(row), source_of(row).get("manifest", "")
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


PROVIDER = AwsCur()
