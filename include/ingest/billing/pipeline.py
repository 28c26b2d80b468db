"""The steps of a billing DAG run, provider-agnostic past `fetch` (docs/architecture.md §3–§4).

plan → fetch (per chunk) → normalize (per chunk) → persist (per chunk) → publish → finalize.
Every step takes and returns small JSON descriptors (paths, counts, ids) — XCom never
carries rows — and every step is idempotent, so clearing any task in the UI is safe.
The DAG's last task is `close_run`: it dead-letters what did not load and fails the run
when the slice version was not published (Airflow rates a run by its last task).
"""
from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from include.ingest import landing, memory
from include.ingest.billing.descriptors import Normalized, Plan, received
from include.ingest.billing.focus import SCHEMA
from include.ingest.billing.normalize.context import NormalizeContext, QuarantinedRow
from include.ingest.billing.quarantine_totals import quarantine_totals
from include.ingest.billing.sources import csv_rows
from include.ingest.billing.store import dlq
from include.ingest.errors import PermanentError
from include.ingest.log_context import progress
from include.ingest.persist.db import connect
from include.ingest.billing.store.ledger import SliceVersion, begin_load, record_quarantine
from include.ingest.persist.migrate import migrate
from include.ingest.billing.store.publish import publish
from include.ingest.billing.store.chunk_loads import ChunkRows, load_chunk

Normalizer = Callable  # (batch, NormalizeContext) -> NormalizedBatch
log = logging.getLogger(__name__)


# The normalized file lives from normalize to persist and is read whole, once: snappy writes
# 3× and reads 3.6× faster than zstd for ~1.5× the bytes (1M CUR rows: 175 vs 119 MB), and
# without dictionaries and column statistics (no reader filters it) writing takes 40 % less
NORMALIZED_PARQUET = {"compression": "snappy", "use_dictionary": False, "write_statistics": False}
# persist reads this many rows at a time: small enough that encoding one batch and sending
# the previous overlap (load_tables.copy_rows), large enough to keep per-batch costs small
PERSIST_BATCH_ROWS = 10_000


def plan(sv: SliceVersion, chunks: list[dict], source: dict, dag_run_id: str | None) -> dict:
    """Record the load in the ledger; return the plan (chunks empty when nothing to do)."""
    migrate()
    with connect() as conn:
        state = begin_load(conn, sv, len(chunks), source, dag_run_id)
    todo = chunks if state == "loading" else []
    return {"slice": sv.to_json(), "state": state, "source": source,
            "chunks": [{**c, "slice": sv.to_json()} for c in todo]}


def normalize(chunk: dict, landed: dict, normalizer: Normalizer,
              read_batches: Callable[[str, str], Iterator]) -> dict:
    """Landed raw file → normalized Parquet (focus.SCHEMA) + quarantine JSONL, streamed."""
    memory.use_returning_pool()
    sv = SliceVersion.from_json(chunk["slice"])
    base = landing.slice_dir("normalized", sv.provider, sv.billing_account, sv.billing_period,
                             sv.version)
    base.mkdir(parents=True, exist_ok=True)
    out, bad = base / f"{chunk['chunk_id']}.parquet", base / f"{chunk['chunk_id']}.quarantine.jsonl"
    landing.verify(landing.LandedFile.from_json(landed))
    ctx = NormalizeContext(sv.provider, sv.billing_account, sv.billing_period, sv.version,
                           chunk["chunk_id"], source_file=landed["source"],
                           first_line=2 if chunk["format"].startswith("csv") else None)
    try:
        counts = _normalize_into(out, bad, _fast(read_batches(landed["path"], chunk["format"])),
                                 normalizer, ctx)
    except _FastReaderRefused as refused:
        if not chunk["format"].startswith("csv"):
            raise PermanentError(f"{landed['source']}: expected a readable {chunk['format']} "
                                 f"file, got {refused.__cause__}; the provider's file is "
                                 f"damaged — re-export it") from refused.__cause__
        # a malformed row somewhere: read the file again row by row, bad rows quarantined
        counts = _normalize_into(out, bad, csv_rows.read_rows(landed["path"], chunk["format"]),
                                 normalizer, ctx)
    rows_in, rows_good, rows_bad = counts
    return {"chunk_id": chunk["chunk_id"], "slice": chunk["slice"], "rows_in": rows_in,
            "rows_good": rows_good, "rows_quarantined": rows_bad, "normalized": str(out),
            "quarantine": str(bad), "source_file": landed["source"]}


class _FastReaderRefused(Exception):
    """The fast (Arrow) reader stopped on the file's bytes; `__cause__` says why."""


def _fast(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """`batches`, with a reader's ArrowInvalid told apart from a normalizer's."""
    it = iter(batches)
    while True:
        try:
            batch = next(it)
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise _FastReaderRefused() from exc
        yield batch


def _normalize_into(out, bad, items: Iterable, normalizer: Normalizer,
                    ctx: NormalizeContext) -> tuple[int, int, int]:
    """Write `items` (record batches, `csv_rows` batches with their lines, malformed rows)
    normalized to `out` and quarantined rows to `bad` (both rewritten whole); return
    (rows in, rows good, rows quarantined)."""
    rows_in = rows_good = rows_bad = 0
    with out.open("wb") as sink, bad.open("w") as bad_sink, progress("normalize") as done, \
            pq.ParquetWriter(sink, SCHEMA, **NORMALIZED_PARQUET) as writer:
        for item in items:
            done.rows = rows_in
            if isinstance(item, csv_rows.MalformedRow):
                row = QuarantinedRow(item.text, f"malformed CSV row: {item.reason}",
                                     item.line_number, ctx.first_row_ordinal)
                bad_sink.write(json.dumps(row._asdict(), default=str) + "\n")
                rows_in, rows_bad, ctx = rows_in + 1, rows_bad + 1, ctx.advanced(1)
                continue
            batch = item
            if isinstance(item, csv_rows.LinedBatch):
                batch, ctx = item.batch, dataclasses.replace(ctx, line_numbers=item.line_numbers)
            result = normalizer(batch, ctx)
            writer.write_batch(result.good)
            for row in result.quarantined:
                bad_sink.write(json.dumps(row._asdict(), default=str) + "\n")
            rows_in += batch.num_rows
            rows_good += result.good.num_rows
            rows_bad += len(result.quarantined)
            ctx = ctx.advanced(batch.num_rows)
        done.rows = rows_in
    return rows_in, rows_good, rows_bad


def _parquet_batches(path: str) -> Iterator:
    with ObjectStoragePath(path).open("rb") as raw, progress("persist") as done:
        for batch in pq.ParquetFile(raw).iter_batches(batch_size=PERSIST_BATCH_ROWS):
            yield batch
            done.add(batch.num_rows)  # after the consumer took it: rows handed to COPY


def _quarantined(path: str) -> Iterator[QuarantinedRow]:
    with ObjectStoragePath(path).open("r") as lines:
        for line in lines:
            yield QuarantinedRow(**json.loads(line))


def persist(normalized: dict) -> dict:
    """Load one normalized chunk into its load's table (delete-then-COPY, one transaction)."""
    memory.use_returning_pool()
    sv = SliceVersion.from_json(received(Normalized, normalized, "persist")["slice"])
    rows = ChunkRows(normalized["chunk_id"], normalized["rows_in"],
                     _parquet_batches(normalized["normalized"]),
                     _quarantined(normalized["quarantine"]), normalized["source_file"],
                     normalized["normalized"])
    with connect() as conn:
        result = load_chunk(conn, sv, rows)
    return {"chunk_id": normalized["chunk_id"], "slice": normalized["slice"],
            "status": result.status, "id": normalized.get("id"),
            "rows_staged": result.rows_staged, "rows_quarantined": result.rows_quarantined,
            "billed_cost": str(result.billed_cost)}


def publish_slice(plan_: dict) -> dict:
    """Publish the slice version; the result (the run summary) and its ledger row also show
    what stayed in quarantine -- rows, Σ cost, reasons -- with a warning when it holds money."""
    sv = SliceVersion.from_json(plan_["slice"])
    with connect() as conn:
        result = publish(conn, sv)
        done = result.status in ("published", "already_published")
        resolved = dlq.resolve_loaded(conn, sv.load_id, f"published {result.status}") if done else 0
        held = quarantine_totals(conn, sv.load_id, sv.provider)
        if done:
            record_quarantine(conn, sv.load_id, held.billed_cost, held.effective_cost, held.warning)
    if held.warning:
        log.warning("%s: %s", sv.load_id, held.warning)
    return {"status": result.status, "dlq_resolved": resolved, "load_id": result.load_id,
            "rows_in": result.rows_in,
            "rows_published": result.rows_published, "rows_quarantined": result.rows_quarantined,
            "billed_cost": str(result.billed_cost), "replaced_version": result.replaced_version,
            "quarantine": held.to_json(), "warnings": [held.warning] if held.warning else []}


def finalize(plan_: dict | None, dag_id: str, dag_run_id: str) -> dict:
    """After everything (trigger rule all_done): every planned chunk that did not load lands
    in the DLQ with its descriptor (publish resolves entries once their chunks load).
    Without a plan (the plan task itself failed) there is nothing to record."""
    if not plan_:
        return {"load_id": None, "chunks": 0, "failed_chunks": [],
                "note": "plan did not complete; see the plan task's log"}
    sv = SliceVersion.from_json(plan_["slice"])
    with connect() as conn:
        loaded = {row[0] for row in conn.execute(
            "SELECT chunk_id FROM billing.chunk_loads WHERE load_id = %s", (sv.load_id,))}
        state = conn.execute("SELECT state, warning FROM billing.ledger WHERE load_id = %s",
                             (sv.load_id,)).fetchone()
        conn.commit()
        failed = []
        for chunk in plan_["chunks"]:
            key = f"{sv.load_id}:{chunk['chunk_id']}"
            if chunk["chunk_id"] in loaded:
                continue  # publish resolves DLQ entries of loaded chunks
            failed.append(chunk["chunk_id"])
            dlq.record_failure(conn, dag_id, "chunk", key, chunk,
                               "chunk did not load in this run (fetch, normalize or persist "
                               "failed for good, or its worker was lost); see the task logs",
                               1, dag_run_id)
    return {"load_id": sv.load_id, "ledger_state": state[0] if state else None,
            "chunks": len(plan_["chunks"]), "failed_chunks": failed,
            "warnings": [state[1]] if state and state[1] else []}


DONE_STATES = ("published", "superseded", "stale")  # this version is in, was, or is older than what is


def close_run(plan_: dict | None, dag_id: str, dag_run_id: str) -> dict:
    """``finalize``, then fail the DAG run (``PermanentError``, saying why) unless the slice
    version is done -- published (by this run or an earlier one), since superseded, or
    stale. Without this, a run whose plan failed, whose chunks failed or whose publish was
    refused would end green: Airflow rates a run by its leaf task, and finalize always runs."""
    closed = finalize(plan_ and received(Plan, plan_, "finalize"), dag_id, dag_run_id)
    for warning in closed.get("warnings", []):  # money left in quarantine: shown, not failed
        log.warning("%s %s: %s", dag_id, closed["load_id"], warning)
    if closed["load_id"] is None:
        raise PermanentError(f"{dag_id} {dag_run_id}: expected a plan, got none; the plan task failed -- "
                             "see its log")
    if closed["ledger_state"] not in DONE_STATES:
        failed = closed["failed_chunks"]
        why = (f"{len(failed)} chunk(s) did not load ({', '.join(failed[:5])}{' …' if len(failed) > 5 else ''}; "
               "recorded in billing.dlq, replay with billing_dlq_replay)" if failed else
               "publish did not complete (see its log; a refused slice is recorded in billing.reconciliation)")
        raise PermanentError(f"{closed['load_id']}: expected the slice version published, got ledger state "
                             f"{closed['ledger_state']!r}: {why}")
    return closed
