"""Task bodies of the provider DAGs: resolve params and connections, then call the source
and the shared pipeline. Kept apart from the DAG files so parsing imports nothing heavy."""
from __future__ import annotations

from include.ingest.billing import pipeline
from include.ingest.billing.runs import needs_refresh, previous_period, resolve_period
from include.ingest.billing.sources import aws_cur
from include.ingest.persist.ledger import SliceVersion


def _report(params: dict) -> aws_cur.CurReport:
    return aws_cur.CurReport(params["bucket"], params["prefix"], params["report"],
                             params["layout"])


def plan_aws_cur(params: dict, logical_date, run_id: str) -> dict:
    period = resolve_period(params.get("billing_period"), logical_date)
    s3 = aws_cur.s3_client(params["aws_conn_id"])
    sv, chunks, source = aws_cur.find_delivery(s3, _report(params), period,
                                               params["billing_account"])
    planned = pipeline.plan(sv, chunks, source, run_id)
    planned["previous_period"] = previous_period(period)
    return planned


def fetch_aws_cur(chunk: dict, conn_id: str) -> dict:
    sv = SliceVersion.from_json(chunk["slice"])
    landed = aws_cur.fetch(aws_cur.s3_client(conn_id), chunk, sv)
    return {"chunk": chunk, "landed": landed.to_json()}


def normalize_aws_cur(fetched: dict) -> dict:
    from include.ingest.billing.normalize.aws_cur import normalize_batch
    return pipeline.normalize(fetched["chunk"], fetched["landed"], normalize_batch,
                              aws_cur.read_batches)


def previous_month_needs_refresh(planned: dict, params: dict) -> bool:
    """Scheduled runs only: the previous month keeps being refreshed until final."""
    if params.get("billing_period"):
        return False
    sv = SliceVersion.from_json(planned["slice"])
    return needs_refresh(sv.provider, sv.billing_account, planned["previous_period"])
