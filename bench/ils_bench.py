"""ILS sync throughput as a share of the ILS's rate limit (`ils_sync_share_of_limit`).

The ILS is the bottleneck of a holdings sync (FOLIO writes ~35 records/s per tenant), so
the figure that matters is how much of the allowed call rate the sync actually uses: a
catalog is ingested, then synced to the sandbox ILS with a per-second threshold and chunks
small enough that the threshold binds; share = (calls / elapsed s) / threshold. The
client's limiter window carries a 2 % margin (it counts calls leaving, the ILS arrivals),
so 0.98 is the ceiling. Also reported: records per second and that the ILS refused none.
"""
from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from pathlib import Path


def run(bibs: int = 1000, threshold: int = 20, chunk: int = 50) -> dict:
    import psycopg
    import redis

    from bench.ils_catalog import write_catalog
    from bench.servers import bench_database, bench_redis
    from include.ingest.catalog import batches
    from include.ingest.catalog.pipeline import ingest_batch
    from include.ingest.catalog.plan import plan_batches
    from include.ingest.ils.client import FolioClient, IlsSettings
    from include.ingest.ils.mapping import MappingConfig
    from include.ingest.ils.sync import sync_batch
    from sandbox import Sandbox

    with contextlib.ExitStack() as stack:
        db_url = stack.enter_context(bench_database())
        redis_url = stack.enter_context(bench_redis())
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ils-bench-")))
        made = write_catalog(tmp / "vendor.mrc", bibs)
        sb = stack.enter_context(Sandbox(providers=("ils",), ils_rate_limit=threshold))
        e = sb.endpoints["ils"]
        settings = IlsSettings(url=e["url"], tenant=e["tenant"], username=e["username"],
                               password=e["password"], rate_limit_per_s=threshold, batch_size=chunk)
        limiter = FolioClient.shared_limiter(redis.Redis.from_url(redis_url), settings)
        limiter.key = f"ratelimit:bench:{uuid.uuid4().hex}"
        client = FolioClient(settings, limiter)
        with psycopg.connect(db_url) as conn:
            descriptors = plan_batches(str(tmp / "vendor.mrc"), "ils-bench", "marc21", 1000, "replace")
            batches.register(conn, descriptors)
            for d in descriptors:
                ingest_batch(conn, d, None)
            started, calls_before = time.perf_counter(), client.calls
            results = [sync_batch(conn, client, d["batch_id"], MappingConfig(), chunk) for d in descriptors]
            seconds = time.perf_counter() - started
        calls = client.calls - calls_before
        sent = sum(r[k]["sent"] for r in results for k in ("instances", "holdings", "items"))
        limits = sb.ils.limiter.summary()
        client.close()
    return {"ils_sync_share_of_limit": round(calls / seconds / threshold, 3),
            "ils_sync_calls_per_s": round(calls / seconds, 2),
            "ils_sync_threshold_per_s": threshold,
            "ils_sync_records_per_s": round(sent / seconds, 1),
            "ils_sync_items": made["items"],
            "ils_sync_throttled_by_ils": limits["throttled"],
            "ils_sync_max_calls_in_any_second": limits["max_attempted_in_window"]}
