"""The GCP Cloud Billing BigQuery export as a billing provider.

One chunk per daily partition holding rows of the invoice month, each pinned to its planned
`export_time`; the newest `export_time` is the version. What BigQuery declares (COUNT,
SUM(cost), SUM(cost) + SUM(credits) in micros) gates publish and is checked again nightly.
"""
from __future__ import annotations

from include.ingest.billing.providers.base import BillingProvider, ChunkSteps


class GcpExport(BillingProvider):
    name, pool, conn_param, default_conn = "gcp", "provider_gcp", "gcp_conn_id", "gcp_billing"

    def client(self, conn_id: str):
        from airflow.sdk import BaseHook

        from include.ingest.billing.sources.gcp_client import BigQueryClient, GcpSettings
        from include.ingest.safety import params as checked

        return BigQueryClient(GcpSettings.from_connection(BaseHook.get_connection(checked.conn_id(conn_id))))

    def plan_delivery(self, params: dict, period: str):
        from include.ingest.billing.sources import gcp_bigquery
        from include.ingest.safety import params as checked

        client = self.client(params[self.conn_param])
        return gcp_bigquery.plan_export(client, checked.account(params["billing_account"]), period,
                                        params.get("page_size"))

    def chunk_steps(self, chunk: dict) -> ChunkSteps:
        from include.ingest.billing.normalize.gcp import normalize_batch
        from include.ingest.billing.sources.gcp_bigquery import fetch_partition, read_batches

        return ChunkSteps(fetch_partition, read_batches, normalize_batch)  # one usage day's pages

    def probe(self, client):
        """COUNT, SUM(cost) and SUM(cost) + SUM(credits.amount) of the invoice month, in
        micros (Google's exact invoice query), and MAX(export_time) against our version."""
        from decimal import Decimal

        from include.ingest.billing.reconcile import label_of, version_check
        from include.ingest.billing.sources import gcp_bigquery

        def probe(row: dict):
            totals = gcp_bigquery.invoice_totals(client, row["billing_period"])
            declared = {"rows": totals["rows"], "billed_cost": Decimal(totals["cost_micros"]).scaleb(-6),
                        "effective_cost": Decimal(totals["cost_micros"] + totals["credits_micros"]).scaleb(-6)}
            extra = [version_check(label_of(row), totals["max_export_time"], row["version"],
                                   "MAX(export_time) of the invoice month")]
            return declared, "BigQuery COUNT / SUM(cost) + SUM(credits.amount) by invoice.month, in micros", extra

        return probe


PROVIDER = GcpExport()
