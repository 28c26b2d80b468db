"""What every billing provider is and does; the steps all providers share.

A provider supplies the parts that differ (connection → client, which delivery is current
and its chunks, landing one chunk, reading a landed file, normalizing a batch, what it
declares for the nightly check); `BillingProvider` turns them into the task bodies the
provider DAG, the DLQ replay and the nightly reconciliation call. Steps past `fetch` are
provider-agnostic (include/ingest/billing/pipeline.py).

Imported at DAG parse time (for `name`, `pool`, `conn_param`): everything heavy is imported
inside the methods, on the worker.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from include.ingest.billing.store.ledger import SliceVersion


class ChunkSteps(NamedTuple):
    """How one chunk of a provider is handled on the worker (its heavy modules)."""
    land: Callable  # (client, chunk, SliceVersion) → landing.LandedFile: raw bytes, unchanged
    read_batches: Callable[[str, str], Iterator]  # (landed path, format) → record batches
    normalize_batch: Callable  # (record batch, NormalizeContext) → NormalizedBatch


class BillingProvider:
    """One billing provider. Subclasses set the four names and implement the abstract steps."""

    name: str  # the slice's provider, as stored in the ledger and line items
    pool: str  # the Airflow pool capping concurrent calls to this provider
    conn_param: str  # the DAG param holding the Airflow connection id
    default_conn: str  # that param's default (airflow_settings.yaml)

    # -- what each provider implements -------------------------------------------------
    def client(self, conn_id: str) -> Any:
        """An API client from the Airflow connection ``conn_id`` (checked, never a secret)."""
        raise NotImplementedError

    def plan_delivery(self, params: dict, period: str) -> tuple[SliceVersion, list[dict], dict]:
        """Check the params, find the period's current delivery: (SliceVersion, chunks,
        source). Params that name places are checked before any call."""
        raise NotImplementedError

    def chunk_steps(self, chunk: dict) -> ChunkSteps:
        """How to land, read and normalize ``chunk`` (imported here, on the worker)."""
        raise NotImplementedError

    def probe(self, client: Any):
        """The nightly probe (`reconcile.Probe`): a ledger row → (declared totals,
        declared by, extra checks)."""
        raise NotImplementedError

    # -- the task bodies, the same for every provider ----------------------------------
    def plan(self, params: dict, logical_date, run_id: str) -> dict:
        """The `plan` task: the slice version in the ledger and its chunks (empty when
        there is nothing to do). Each chunk carries the connection id (never its secret)
        so a DLQ replay can fetch it."""
        from include.ingest.billing import pipeline
        from include.ingest.billing.runs import resolve_period

        period = resolve_period(params.get("billing_period"), logical_date)
        sv, chunks, source = self.plan_delivery(params, period)
        chunks = [{**chunk, "conn_id": params[self.conn_param]} for chunk in chunks]
        return pipeline.plan(sv, chunks, source, run_id)

    def fetch(self, chunk: dict, conn_id: str | None) -> dict:
        """The `fetch` task: land the chunk's bytes (a no-op when already landed intact);
        ``conn_id`` None = the one the chunk was planned with (DLQ replays)."""
        from include.ingest.billing.descriptors import Chunk, received
        from include.ingest.billing.store.ledger import SliceVersion

        sv = SliceVersion.from_json(received(Chunk, chunk, "fetch")["slice"])
        landed = self.chunk_steps(chunk).land(self.client(conn_id or chunk.get("conn_id")), chunk, sv)
        return {"chunk": chunk, "landed": landed.to_json()}

    def normalize(self, fetched: dict) -> dict:
        """The `normalize` task: the landed file → FOCUS Parquet + quarantine."""
        from include.ingest.billing import pipeline
        from include.ingest.billing.descriptors import Fetched, received

        steps = self.chunk_steps(received(Fetched, fetched, "normalize")["chunk"])
        return pipeline.normalize(fetched["chunk"], fetched["landed"], steps.normalize_batch,
                                  steps.read_batches)

    def publish(self, planned: dict, run_id: str | None = None) -> dict:
        """The `publish` task: through the reconciliation gate (the totals the provider
        declared at plan time, when it declares any), then the slice swapped in."""
        from include.ingest.billing.descriptors import Plan, received
        from include.ingest.billing.reconcile import publish_reconciled

        return publish_reconciled(received(Plan, planned, "publish"), run_id)

    def nightly_probe(self, conn_id: str):
        """The probe of the nightly reconciliation, on the connection ``conn_id``."""
        return self.probe(self.client(conn_id))

    def __repr__(self) -> str:
        return f"<billing provider {self.name}>"
