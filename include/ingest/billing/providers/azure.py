"""Azure Cost Management as a billing provider: the Query API or the account's exports.

Query loads (`source=query`) are one chunk per scope × window of at most 31 days, paged
through the shared Redis quota limiter; export loads (`source=export`) are one chunk per
CSV part of the newest run's manifest. A chunk's `kind` says which, and picks how it is
fetched and read. What Azure declares (Daily aggregate, manifest `dataRowCount`) gates
publish and is checked again nightly.
"""
from __future__ import annotations

from include.ingest.billing.providers.base import BillingProvider, ChunkSteps


class AzureCost(BillingProvider):
    name, pool, conn_param, default_conn = "azure", "provider_azure", "azure_conn_id", "azure_cost"

    def client_and_extra(self, conn_id: str):
        """The client and the connection's extra (default scopes, export name and root)."""
        from airflow.sdk import BaseHook

        from include.ingest.billing.cursors import redis_client
        from include.ingest.billing.sources.azure_client import AzureClient, AzureSettings
        from include.ingest.errors import PermanentError
        from include.ingest.safety import params as checked

        connection = BaseHook.get_connection(checked.conn_id(conn_id))
        redis_conn = redis_client()
        if redis_conn is None:  # without the shared limiter every worker would spend the quota alone
            raise PermanentError("INGEST_REDIS_URL is not set; expected the Redis URL that holds the shared "
                                 "Azure quota limiter and cursors (the local stack sets it; see README)")
        return AzureClient(AzureSettings.from_connection(connection), redis_conn), connection.extra_dejson

    def client(self, conn_id: str):
        return self.client_and_extra(conn_id)[0]

    def plan_delivery(self, params: dict, period: str):
        from include.ingest.billing.sources import azure_cost, azure_exports
        from include.ingest.safety import params as checked

        client, extra = self.client_and_extra(params[self.conn_param])
        account = checked.account(params["billing_account"])
        if params["source"] == "export":
            export_name, export_root = params.get("export_name"), params.get("export_root")
            return azure_exports.plan_export(
                client, account, period,
                checked.name(export_name, "the export name") if export_name else extra.get("export_name"),
                checked.prefix(export_root, "the export root") if export_root
                else extra.get("export_root") or "billing")
        scopes = [checked.scope(scope) for scope in params.get("scopes") or []]
        return azure_cost.plan_query(client, account, period, scopes or extra.get("scopes") or [],
                                     int(params["window_days"]), params["cost_type"], params.get("page_size"))

    def chunk_steps(self, chunk: dict) -> ChunkSteps:
        from include.ingest.billing.normalize.azure import normalize_batch
        from include.ingest.billing.sources import azure_cost, azure_exports

        if chunk["kind"] == "query":  # a scope × window of Query API pages
            return ChunkSteps(azure_cost.fetch_query_chunk, azure_cost.read_batches, normalize_batch)
        return ChunkSteps(azure_exports.fetch_part, azure_exports.read_batches, normalize_batch)  # a CSV part

    def probe(self, client):
        """Query API loads: the Daily Cost aggregate of the same scopes for the month.
        Export loads: the published run's manifest `dataRowCount`, and whether a newer run
        with data exists (`version`)."""
        from include.ingest.billing.reconcile import label_of, source_of, version_check
        from include.ingest.billing.sources import azure_cost, azure_exports

        def probe(row: dict):
            source, period = source_of(row), row["billing_period"]
            if source.get("kind") == "export":
                manifest = azure_exports.get_json(client, source["manifest"])
                latest = azure_exports.latest_run(client, source["root"], source["export_name"], period)
                newest = latest[1]["runInfo"]["runId"] if latest else None
                extra = [version_check(label_of(row), newest, row["version"], "newest export run with data")]
                return ({"rows": manifest["dataRowCount"]},
                        f"export manifest {source['manifest']} dataRowCount", extra)
            totals = azure_cost.declared_totals(client, source["scopes"], period,
                                                source.get("cost_type", "ActualCost"))
            return {"billed_cost": totals["billed_cost"]}, "Query API Daily Cost aggregate of the slice's scopes", []

        return probe


PROVIDER = AzureCost()
