"""The in-task billing pipeline on one CUR file, as a worker runs it: read + normalize →
Parquet, COPY into the load's table, publish. Run as a subprocess so its peak RSS is its own:

    python -m bench.billing_task FILE --rows N   (INGEST_DB_URL, INGEST_LANDING_URL set)

Prints one JSON line: rows, seconds per phase, peak RSS (MiB, sampled: see PeakRss).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.peak_rss import PeakRss
from include.ingest.billing import pipeline
from include.ingest.billing.normalize.aws_cur import normalize_batch
from include.ingest.billing.sources import aws_cur
from include.ingest.billing.store.ledger import SliceVersion


def run(path: Path, rows: int) -> dict:
    digest = hashlib.sha256()
    with path.open("rb") as raw:
        while block := raw.read(1 << 20):
            digest.update(block)
    sv = SliceVersion("aws", "111122223333", "2024-01", f"bench-{rows}-{time.time_ns()}",
                      datetime.now(timezone.utc))
    chunk = {"chunk_id": "00000", "format": "csv.gz", "slice": sv.to_json()}
    landed = {"path": path.resolve().as_uri(), "sha256": digest.hexdigest(),
              "size": path.stat().st_size, "source": str(path), "landed_at": ""}
    times, rss = {}, PeakRss()
    started = time.perf_counter()
    planned = pipeline.plan(sv, [chunk], {"bench": True}, None)
    normalized = pipeline.normalize(planned["chunks"][0], landed, normalize_batch,
                                    aws_cur.read_batches)
    times["normalize_s"] = time.perf_counter() - started
    times["rss_after_normalize_mib"] = rss.read()
    mark = time.perf_counter()
    persisted = pipeline.persist(normalized)
    times["persist_s"] = time.perf_counter() - mark
    times["rss_after_persist_mib"] = rss.read()
    mark = time.perf_counter()
    published = pipeline.publish_slice(planned)
    times["publish_s"] = time.perf_counter() - mark
    total = time.perf_counter() - started
    assert published["rows_in"] == rows, (published, rows)
    return {"rows": rows, "seconds": total, **times, "rows_staged": persisted["rows_staged"],
            "normalized": normalized["normalized"],
            "max_rss_mib": rss.read()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("file", type=Path)
    parser.add_argument("--rows", type=int, required=True)
    args = parser.parse_args()
    print(json.dumps(run(args.file, args.rows)))


if __name__ == "__main__":
    main()
