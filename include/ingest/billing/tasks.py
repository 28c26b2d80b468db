"""Task bodies of the provider DAGs: resolve params and connections, then call the source
and the shared pipeline. Kept apart from the DAG files so parsing imports nothing heavy."""
from __future__ import annotations

from include.ingest.billing import pipeline
from include.ingest.billing.runs import needs_refresh, previous_period, resolve_period
from include.ingest.billing.sources import aws_cur
from include.ingest.persist.ledger import SliceVersion
from include.ingest.safety import params as checked


def _report(params: dict) -> aws_cur.CurReport:
    return aws_cur.CurReport(checked.bucket(params["bucket"]), checked.prefix(params["prefix"]),
                             checked.name(params["report"]), params["layout"])


def plan_aws_cur(params: dict, logical_date, run_id: str) -> dict:
    period = resolve_period(params.get("billing_period"), logical_date)
    report, account = _report(params), checked.account(params["billing_account"])  # before any call
    s3 = aws_cur.s3_client(checked.conn_id(params["aws_conn_id"]))
    sv, chunks, source = aws_cur.find_delivery(s3, report, period, account)
    # the connection id (never its secret) travels with each chunk so a DLQ replay can fetch
    chunks = [{**chunk, "conn_id": params["aws_conn_id"]} for chunk in chunks]
    planned = pipeline.plan(sv, chunks, source, run_id)
    planned["previous_period"] = previous_period(period)
    return planned


def fetch_aws_cur(chunk: dict, conn_id: str) -> dict:
    sv = SliceVersion.from_json(chunk["slice"])
    landed = aws_cur.fetch(aws_cur.s3_client(checked.conn_id(conn_id)), chunk, sv)
    return {"chunk": chunk, "landed": landed.to_json()}


def normalize_aws_cur(fetched: dict) -> dict:
    from include.ingest.billing.normalize.aws_cur import normalize_batch
    return pipeline.normalize(fetched["chunk"], fetched["landed"], normalize_batch,
                              aws_cur.read_batches)


def open_dlq_entries(entry_ids: list[int] | None, dag_id: str | None) -> list[dict]:
    """Open DLQ chunk entries to replay (marked 'replaying'), as small descriptors."""
    from include.ingest.persist import dlq
    from include.ingest.persist.db import connect
    with connect() as conn:
        entries = [e for e in dlq.open_entries(conn, dag_id, entry_ids or None)
                   if e["task_id"] == "chunk"]
        for entry in entries:
            dlq.set_state(conn, entry["id"], "replaying")
    return [{"id": e["id"], "chunk": e["descriptor"]} for e in entries]


def _replayer(chunk: dict):
    provider = chunk["slice"]["provider"]
    if provider not in REPLAYERS:
        raise ValueError(f"expected a DLQ chunk of {sorted(REPLAYERS)}, got provider "
                         f"{provider!r}; replay it from its provider's DAG")
    return REPLAYERS[provider]


def replay_fetch(entry: dict) -> dict:
    fetch, _ = _replayer(entry["chunk"])
    return {"id": entry["id"], **fetch(entry["chunk"], entry["chunk"].get("conn_id"))}


def replay_normalize(fetched: dict) -> dict:
    _, normalize_ = _replayer(fetched["chunk"])
    return {"id": fetched["id"], **normalize_(fetched)}


def publish_replayed(persisted: list[dict], dag_run_id: str | None = None) -> list[dict]:
    """Publish every slice a replay touched through the same reconciliation gate as the
    provider DAGs (`reconcile.publish_reconciled`: the declared totals come from the
    ledger), which verifies all chunks and resolves the DLQ entries of loaded chunks.
    Entries whose slice still cannot publish stay open; a slice the gate refuses fails the
    task (after the other slices are published), naming the discrepancy."""
    from include.ingest.billing.reconcile import publish_reconciled
    from include.ingest.http.exceptions import PermanentError
    from include.ingest.persist import dlq
    from include.ingest.persist.db import connect
    from include.ingest.persist.publish import PublishError
    results, slices, refused = [], {}, []
    for item in persisted:
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


def publish_aws_cur(planned: dict, run_id: str | None = None) -> dict:
    """Publish the slice through the reconciliation gate like every provider (a CUR plan
    declares no totals today, so it passes; the manifest is reconciled nightly)."""
    from include.ingest.billing.reconcile import publish_reconciled
    return publish_reconciled(planned, run_id)


def previous_month_needs_refresh(planned: dict, params: dict) -> bool:
    """Scheduled runs only: the previous month keeps being refreshed until final."""
    if params.get("billing_period"):
        return False
    sv = SliceVersion.from_json(planned["slice"])
    return needs_refresh(sv.provider, sv.billing_account, planned["previous_period"])


def _cloud_replayers() -> dict:
    from include.ingest.billing import tasks_cloud
    return {"azure": (tasks_cloud.fetch_azure, tasks_cloud.normalize_azure),
            "gcp": (tasks_cloud.fetch_gcp, tasks_cloud.normalize_gcp)}


# provider → (fetch(chunk, conn_id), normalize(fetched)) for DLQ replays
REPLAYERS = {"aws": (fetch_aws_cur, normalize_aws_cur), **_cloud_replayers()}
