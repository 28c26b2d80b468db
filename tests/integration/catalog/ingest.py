"""Run an ingest the way the catalog_ingest DAG does (plan → every batch → summary), in
this process, and read back what the store holds."""
from __future__ import annotations

import uuid
from pathlib import Path

from include.ingest.catalog import batches
from include.ingest.catalog.iso2709 import to_iso2709
from include.ingest.catalog.marc import iter_marc
from include.ingest.catalog.pipeline import ingest_batch
from include.ingest.catalog.plan import plan_batches

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "library"


def ingest(conn, bloom, path, *, run_id=None, fmt="auto", policy="replace", batch_size=500,
           min_batch=1) -> dict:
    run_id = run_id or f"run-{uuid.uuid4().hex[:8]}"
    descriptors = plan_batches(str(path), run_id, fmt, batch_size, policy, min_batch=min_batch)
    batches.register(conn, descriptors)
    results = [ingest_batch(conn, d, bloom) for d in descriptors]
    summary = batches.run_summary(conn, run_id)
    summary["batch_ids"] = [r["batch_id"] for r in results]
    return summary


def results(conn, run_id) -> list[tuple]:
    """(source_ordinal, status, record_id, version, match_on) of a run, in file order."""
    return conn.execute(
        "SELECT rr.source_ordinal, rr.status, rr.record_id, rr.version, rr.match_on "
        "FROM catalog.record_results rr JOIN catalog.batches b USING (batch_id) "
        "WHERE b.run_id = %s ORDER BY rr.source_ordinal", (run_id,)).fetchall()


def current_content(conn, record_id):
    """MARC-in-JSON (built by catalog.marc_json from the stored bytes) or the graph."""
    row = conn.execute("SELECT content FROM catalog.current_records WHERE record_id = %s",
                       (record_id,)).fetchone()
    return row[0] if row else None


def write_marc(path: Path, contents: list[dict]) -> Path:
    with path.open("wb") as out:
        for content in contents:
            out.write(to_iso2709(content))
    return path


def marc_contents(path: Path) -> list[dict]:
    with path.open("rb") as stream:
        return [r.content for r in iter_marc(stream) if hasattr(r, "content")]


def retitle(content: dict, title: str) -> dict:
    """A copy of a MARC-in-JSON record with 245 $a replaced."""
    fields = []
    for field in content["fields"]:
        if "245" in field:
            subs = [{"a": title} if "a" in s else s for s in field["245"]["subfields"]]
            field = {"245": {**field["245"], "subfields": subs}}
        fields.append(field)
    return {"leader": content["leader"], "fields": fields}
