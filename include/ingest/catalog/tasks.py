"""What the catalog DAGs' tasks do (the DAG files are wiring only).

Each function takes and returns JSON-able values: XCom carries batch descriptors and
counts, never records. Connections come from the environment (`INGEST_DB_URL`,
`INGEST_REDIS_URL`, `INGEST_LANDING_URL`). Bad input (unknown format, missing file) fails
the task at once (`PermanentError`, the error vocabulary every DAG shares:
include/ingest/errors.py) — retrying cannot fix it; anything else is retried by Airflow, and every
step is idempotent (batches are keyed by run id + number, a committed batch is never
written twice).
"""
from __future__ import annotations

import logging

from include.ingest.catalog import batches, bloom
from include.ingest.catalog.model import CatalogInputError
from include.ingest.catalog.pipeline import ingest_batch
from include.ingest.catalog.plan import land_source, plan_batches
from include.ingest.catalog.rollback import rollback_batch
from include.ingest.catalog.store import StoreError
from include.ingest.descriptors import Descriptor, received
from include.ingest.errors import PermanentError
from include.ingest.persist.db import connect
from include.ingest.persist.migrate import migrate
from include.ingest.safety import InputRefused

log = logging.getLogger(__name__)


class CatalogBatch(Descriptor):
    """One planned batch (`plan.plan_batches`): a byte range of a landed file and how to
    read and apply it; what `run_batch` receives from `plan_run` through XCom."""
    batch_id: str
    run_id: str
    batch_no: int
    source: str
    sha256: str
    format: str
    start: int
    end: int
    first_ordinal: int
    records: int
    policy: str


def _fail_fast(exc: Exception) -> PermanentError:
    return PermanentError(str(exc))


def plan_run(params: dict, run_id: str) -> list[dict]:
    """Land the file (raw first), cut it into batches, register them as staged."""
    source = (params.get("source") or "").strip()
    if not source:
        raise _fail_fast(ValueError("expected the source param (a path in the landing zone or "
                                    "an inbox root, or an allow-listed URL), got nothing; "
                                    "trigger again with a file"))
    try:
        landed = land_source(source, run_id)
        descriptors = plan_batches(landed.path, run_id, params["format"],
                                   int(params["batch_size"]), params["overlay_policy"],
                                   sha256=landed.sha256,
                                   encoding=params.get("encoding") or "auto")
    except (CatalogInputError, InputRefused) as exc:  # retrying cannot fix the input
        raise _fail_fast(exc) from exc
    migrate()
    with connect() as conn:
        try:
            batches.register(conn, descriptors)
        except StoreError as exc:  # a reused run id: retrying cannot help
            raise _fail_fast(exc) from exc
        batches.ensure_bloom_ready(conn, bloom.from_env())
    log.info("planned %d batches, %d records of %s (%s, sha256 %s)", len(descriptors),
             sum(d["records"] for d in descriptors), landed.path,
             descriptors[0]["format"] if descriptors else "-", landed.sha256[:12])
    return descriptors


def run_batch(descriptor: dict) -> dict:
    """Parse + key + dedupe + persist one batch; its counts."""
    received(CatalogBatch, descriptor, "ingest_batch")
    try:
        with connect() as conn:
            return ingest_batch(conn, descriptor, bloom.from_env())
    except (CatalogInputError, StoreError) as exc:  # bad input or a reused run id
        raise _fail_fast(exc) from exc


def summarize_run(run_id: str, planned: int | None = None) -> dict:
    """The run's counts; fails naming every batch that did not commit."""
    with connect() as conn:
        summary = batches.run_summary(conn, run_id)
    log.info("catalog ingest %s: %s", run_id, summary)
    if planned is not None and summary["batches"] != planned:
        raise RuntimeError(f"expected {planned} batches registered for run {run_id}, got "
                           f"{summary['batches']}; clear the plan task to register them")
    if summary["not_committed"]:
        failed = ", ".join(f"{b['batch_id']} ({b['last_error'] or 'did not run'})"
                           for b in summary["not_committed"])
        raise RuntimeError(f"expected every batch committed, got {len(summary['not_committed'])} "
                           f"not committed: {failed}; clear their ingest_batch tasks to retry")
    return summary


def rollback(batch_id: str) -> dict:
    """Roll back one batch; conflicts are reported in the result, not raised."""
    if not (batch_id or "").strip():
        raise _fail_fast(ValueError("expected the batch_id param (see the ingest run's "
                                    "summary or catalog.batches), got nothing"))
    try:
        with connect() as conn:
            report = rollback_batch(conn, batch_id.strip(), bloom.from_env())
    except StoreError as exc:
        raise _fail_fast(exc) from exc
    for conflict in report["conflicts"]:
        log.warning("record %(record_id)s left alone: batch %(current_batch)s wrote its current "
                    "version %(current_version)s after this batch", conflict)
    log.info("rolled back %s: %d restored, %d deleted, %d conflicts", batch_id,
             len(report["restored"]), len(report["deleted"]), len(report["conflicts"]))
    return report
