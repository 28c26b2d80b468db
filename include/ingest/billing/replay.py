"""Task bodies of ``billing_dlq_replay``: open DLQ chunk entries, re-run each through its
provider's fetch and normalize (`providers.get(chunk's provider)`), then publish every slice
the replay touched through the same reconciliation gate as the provider DAGs."""
from __future__ import annotations

from include.ingest.billing import providers
from include.ingest.billing.store.ledger import SliceVersion


def open_dlq_entries(entry_ids: list[int] | None, dag_id: str | None) -> list[dict]:
    """Open DLQ chunk entries to replay (marked 'replaying'), as small descriptors."""
    from include.ingest.billing.store import dlq
    from include.ingest.persist.db import connect
    with connect() as conn:
        entries = [e for e in dlq.open_entries(conn, dag_id, entry_ids or None)
                   if e["task_id"] == "chunk"]
        for entry in entries:
            dlq.set_state(conn, entry["id"], "replaying")
    return [{"id": e["id"], "chunk": e["descriptor"]} for e in entries]


def _provider(chunk: dict) -> providers.BillingProvider:
    provider = chunk["slice"]["provider"]
    if provider not in providers.NAMES:
        raise ValueError(f"expected a DLQ chunk of {sorted(providers.NAMES)}, got provider "
                         f"{provider!r}; replay it from its provider's DAG")
    return providers.get(provider)


def replay_fetch(entry: dict) -> dict:
    from include.ingest.billing.descriptors import ReplayEntry, received

    received(ReplayEntry, entry, "fetch")
    return {"id": entry["id"], **_provider(entry["chunk"]).fetch(entry["chunk"], entry["chunk"].get("conn_id"))}


def replay_normalize(fetched: dict) -> dict:
    return {"id": fetched["id"], **_provider(fetched["chunk"]).normalize(fetched)}


def publish_replayed(persisted: list[dict], dag_run_id: str | None = None) -> list[dict]:
    """Publish every slice a replay touched through the same reconciliation gate as the
    provider DAGs (`reconcile.publish_reconciled`: the declared totals come from the
    ledger), which verifies all chunks and resolves the DLQ entries of loaded chunks.
    Entries whose slice still cannot publish stay open; a slice the gate refuses fails the
    task (after the other slices are published), naming the discrepancy."""
    from include.ingest.billing.reconcile import publish_reconciled
    from include.ingest.errors import PermanentError
    from include.ingest.billing.store import dlq
    from include.ingest.persist.db import connect
    from include.ingest.billing.store.publish import PublishError
    from include.ingest.billing.descriptors import Persisted, received

    results, slices, refused = [], {}, []
    for item in persisted:
        received(Persisted, item, "publish")
        slices.setdefault(SliceVersion.from_json(item["slice"]).load_id, item["slice"])
    for load_id, slice_json in sorted(slices.items()):
        try:
            results.append(publish_reconciled({"slice": slice_json}, dag_run_id))
        except PublishError as exc:  # other chunks of the slice are still missing
            results.append({"load_id": load_id, "status": "not_published", "reason": str(exc)})
        except PermanentError as exc:  # the loaded rows disagree with the declared totals
            results.append({"load_id": load_id, "status": "refused", "reason": str(exc)})
            refused.append(f"{load_id}: {exc}")
    with connect() as conn:
        for item in persisted:
            if item["status"] == "skipped":  # the slice version was already settled
                dlq.set_state(conn, item["id"], "resolved", "slice version already settled")
    if refused:
        raise PermanentError("replay: expected every replayed slice to reconcile with its "
                             f"declared totals, got {len(refused)} refused: " + " | ".join(refused))
    return results
