"""GCP Cloud Billing export in BigQuery: plan a slice by partition, page each partition.

billing-formats.md §4. A slice is (billing account, ``invoice.month``) -- the month the
rows are invoiced in, whatever their usage time. The plan asks, per daily partition
(``DATE(_PARTITIONTIME)``) holding rows of that invoice month: ``MAX(export_time)``,
``COUNT(*)`` and Google's exact invoice sums (cost and credits in integer micros).

* Version of the slice = the newest ``export_time`` over its partitions (§0). Corrections
  are appended, never updated (§4.2): a restatement lands as new rows with a later
  ``export_time``, so it is a new version and the whole month is re-read and replaced --
  correction rows are kept as rows, never netted or deduplicated away.
* One chunk per partition. Its query pins ``export_time <= `` the partition's planned
  maximum, so every attempt of the chunk reads the same snapshot even while Google
  appends.
* Paging: ``jobs.query`` (first page; polled while ``jobComplete`` is false), then
  ``getQueryResults`` with ``pageToken``. The cursor holds (job id, page token); each
  page is landed as its own file (sources/pages.py); a repeated token fails loudly.
* Declared for reconciliation: rows, SUM(cost) and SUM(cost) + SUM(credits.amount), in
  micros as Google's exact invoice query computes them.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from decimal import Decimal

import pyarrow as pa

from include.ingest import landing
from include.ingest.billing.paging import Paginator
from include.ingest.billing.sources.gcp_client import BigQueryClient, decode, flatten
from include.ingest.billing.sources.pages import Page, land_pages, read_pages
from include.ingest.errors import PermanentError, TransientError
from include.ingest.billing.store.ledger import SliceVersion

CREDITS_MICROS = "SUM(IFNULL((SELECT SUM(CAST(c.amount * 1000000 AS INT64)) FROM UNNEST(credits) c), 0))"


# Every value spliced into SQL is checked against a strict form first: the table comes from
# a connection, the period from a DAG param, partitions and export times from BigQuery's own
# answers and, on replay, from DLQ descriptors — none of them may carry a quote or a clause.
_TABLE = re.compile(r"[A-Za-z0-9_-]{1,64}\.[A-Za-z0-9_]{1,1024}\.[A-Za-z0-9_$-]{1,1024}")
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2}| UTC)?")


def _checked(value, form: re.Pattern, what: str, example: str) -> str:
    text = str(value)
    if not form.fullmatch(text):
        raise PermanentError(f"expected {what} like {example}, got {text[:80]!r}; it is put into "
                             f"BigQuery SQL, so nothing else is accepted — fix the connection, "
                             f"the param or the DLQ entry")
    return text


def _month(period: str) -> str:
    return _checked(period, _PERIOD, "a billing period", "2024-01").replace("-", "")


def _table(table: str) -> str:
    return _checked(table, _TABLE, "a BigQuery table project.dataset.table",
                    "my-project.billing.gcp_billing_export_v1_0123")


def rows_of(client: BigQueryClient, sql: str) -> list[dict]:
    """All rows of a small query (plans, totals), every page followed under the loop guard."""
    raw, doc = client.start_query(sql)
    fields, out = doc.get("schema", {}).get("fields", []), []
    paginator = Paginator(f"BigQuery {sql[:60]}…")
    while True:
        out += decode(fields, doc.get("rows") or [])
        paginator.accept(doc.get("pageToken"), len(doc.get("rows") or []))
        if paginator.done:
            return out
        ref = doc["jobReference"]
        raw, doc = client.results(ref["jobId"], paginator.token, None, ref.get("location"))


def partitions(client: BigQueryClient, period: str) -> list[dict]:
    sql = (f"SELECT DATE(_PARTITIONTIME) AS partition_date, MAX(export_time) AS max_export_time, "
           f"COUNT(*) AS row_count, SUM(CAST(cost * 1000000 AS INT64)) AS cost_micros, "
           f"{CREDITS_MICROS} AS credits_micros FROM `{_table(client.settings.table)}` "
           f"WHERE invoice.month = '{_month(period)}' GROUP BY 1 ORDER BY 1")
    found = rows_of(client, sql)
    unpartitioned = [p for p in found if p["partition_date"] is None]
    if unpartitioned:
        raise TransientError(f"{client.settings.table} {period}: expected every row in a daily partition, got "
                             f"{unpartitioned[0]['row_count']} rows still in the streaming buffer; retrying later")
    return found


def invoice_totals(client: BigQueryClient, period: str) -> dict:
    """Google's exact invoice reconciliation for one invoice month (micros), plus rows."""
    sql = (f"SELECT invoice.month AS month, COUNT(*) AS row_count, SUM(CAST(cost * 1000000 AS INT64)) AS "
           f"cost_micros, {CREDITS_MICROS} AS credits_micros, MAX(export_time) AS max_export_time "
           f"FROM `{_table(client.settings.table)}` WHERE invoice.month = '{_month(period)}' GROUP BY 1")
    found = rows_of(client, sql)
    if not found:
        return {"rows": 0, "cost_micros": 0, "credits_micros": 0, "max_export_time": None}
    row = found[0]
    return {"rows": int(row["row_count"]), "cost_micros": int(row["cost_micros"]),
            "credits_micros": int(row["credits_micros"]), "max_export_time": row["max_export_time"]}


def _instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def plan_export(client: BigQueryClient, billing_account: str, period: str,
                page_size: int | None = None) -> tuple[SliceVersion, list[dict], dict]:
    """(slice version, one chunk per partition, source facts incl. the declared totals)."""
    found = partitions(client, period)
    if not found:
        raise PermanentError(f"{client.settings.table}: expected rows with invoice.month {_month(period)}, got "
                             "none; check the table in the connection and the billing period")
    version = max(p["max_export_time"] for p in found)
    sv = SliceVersion("gcp", billing_account, period, version, _instant(version))
    chunks = [{"chunk_id": f"p{p['partition_date']}", "kind": "partition", "partition": p["partition_date"],
               "max_export_time": p["max_export_time"], "rows": int(p["row_count"]), "page_size": page_size,
               "format": "bq-pages"} for p in found]
    cost = sum(int(p["cost_micros"]) for p in found)
    credits = sum(int(p["credits_micros"]) for p in found)
    declared = {"rows": sum(c["rows"] for c in chunks), "billed_cost": str(Decimal(cost).scaleb(-6)),
                "effective_cost": str(Decimal(cost + credits).scaleb(-6))}
    source = {"kind": "bigquery", "table": client.settings.table, "partitions": len(chunks),
              "declared": declared, "declared_by": "BigQuery COUNT / SUM(cost) + SUM(credits) in micros at plan"}
    return sv, chunks, source


def chunk_sql(table: str, period: str, chunk: dict) -> str:
    partition = _checked(chunk["partition"], _DATE, "a partition date", "2024-01-31")
    until = _checked(chunk["max_export_time"], _INSTANT, "an export time", "2024-02-01T03:04:05Z")
    return (f"SELECT * FROM `{_table(table)}` WHERE invoice.month = '{_month(period)}' AND "
            f"DATE(_PARTITIONTIME) = '{partition}' AND export_time <= TIMESTAMP('{until}')")


def fetch_partition(client: BigQueryClient, chunk: dict, sv: SliceVersion, cursor=None) -> landing.LandedFile:
    """Land every page of one partition's rows, resuming from (job id, page token)."""
    sql = chunk_sql(client.settings.table, sv.billing_period, chunk)

    def source(paginator: Paginator) -> Iterator[Page]:
        while not paginator.done:
            if paginator.token is None:
                raw, doc = client.start_query(sql, chunk.get("page_size"))
            else:
                raw, doc = client.results(paginator.context["job_id"], paginator.token, chunk.get("page_size"),
                                          paginator.context.get("location"))
            ref = doc["jobReference"]
            yield Page(raw, len(doc.get("rows") or []), doc.get("pageToken"),
                       {"job_id": ref["jobId"], "location": ref.get("location")})

    return land_pages(sv, chunk, source, reread, client.origin(), cursor)


def reread(body: bytes) -> tuple[str | None, int, dict]:
    doc = json.loads(body)
    ref = doc["jobReference"]
    return doc.get("pageToken"), len(doc.get("rows") or []), {"job_id": ref["jobId"], "location": ref.get("location")}


def _leaves(fields: list[dict], prefix: str = "") -> list[str]:
    out = []
    for f in fields:
        if f["type"] in ("RECORD", "STRUCT") and f.get("mode") != "REPEATED":
            out += _leaves(f["fields"], f"{prefix}{f['name']}.")
        else:
            out.append(prefix + f["name"])
    return out


def read_batches(path: str, fmt: str) -> Iterator[pa.RecordBatch]:
    """One Arrow batch of text columns (dotted names) per landed page."""
    fields: list[dict] = []
    for _, body in read_pages(path):
        doc = json.loads(body)
        fields = doc.get("schema", {}).get("fields") or fields
        rows = [flatten(r) for r in decode(fields, doc.get("rows") or [])]
        if rows:
            yield pa.RecordBatch.from_pydict({n: pa.array([r.get(n) for r in rows], pa.string())
                                              for n in _leaves(fields)})
