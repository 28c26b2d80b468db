"""Stack self-check: proves each Celery queue is served and the data path's stores answer.

Used by the `stack_selfcheck` DAG, the demo and the end-to-end test. Each probe does real
I/O against the configured stores (landing zone, warehouse PostgreSQL, Redis) and returns
a small descriptor — never data — for XCom.
"""
from __future__ import annotations

import hashlib
import json
import os
import socket


def plan_chunks(count: int) -> list[dict]:
    """`count` chunk descriptors for the mapped probe (1 ≤ count ≤ 256)."""
    if not 1 <= int(count) <= 256:
        raise ValueError(f"expected 1 ≤ chunks ≤ 256, got {count}; pick a smaller fan-out")
    return [{"chunk_id": i, "of": int(count)} for i in range(int(count))]


def landing_base():
    from airflow.sdk import ObjectStoragePath
    url = os.environ.get("INGEST_LANDING_URL")
    if not url:
        raise RuntimeError("INGEST_LANDING_URL is not set; expected a file://, s3:// or gs:// "
                           "URL of the landing zone (the local stack sets it)")
    return ObjectStoragePath(url)


def probe(run_id: str, queue: str, chunk: dict | None = None) -> dict:
    """Write a small file to the landing zone and touch the warehouse and Redis.

    Returns {queue, host, pid, path, sha256, warehouse, redis} describing what was done.
    """
    import psycopg
    import redis

    body = json.dumps({"run_id": run_id, "queue": queue, "chunk": chunk},
                      sort_keys=True).encode()
    name = f"{queue}-{chunk['chunk_id']}.json" if chunk else f"{queue}.json"
    target = landing_base() / "selfcheck" / run_id.replace(":", "_").replace("+", "_") / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as handle:
        handle.write(body)
    with psycopg.connect(os.environ["INGEST_DB_URL"], connect_timeout=10) as conn:
        server_version = conn.execute("SHOW server_version").fetchone()[0]
    counter = redis.Redis.from_url(os.environ["INGEST_REDIS_URL"]).incr("selfcheck:probes")
    return {"queue": queue, "host": socket.gethostname(), "pid": os.getpid(),
            "path": str(target), "sha256": hashlib.sha256(body).hexdigest(),
            "warehouse": f"PostgreSQL {server_version}", "redis_probes": int(counter),
            "chunk_id": chunk["chunk_id"] if chunk else None}


def summarize(chunk_results: list[dict], queue_results: list[dict],
              expected_queues: tuple[str, ...], expected_chunks: int) -> dict:
    """Check every chunk and every queue reported back; raise naming what is missing."""
    chunks = sorted(r["chunk_id"] for r in chunk_results)
    queues = sorted({r["queue"] for r in queue_results} | {r["queue"] for r in chunk_results})
    missing_chunks = sorted(set(range(expected_chunks)) - set(chunks))
    missing_queues = sorted(set(expected_queues) - set(queues))
    if missing_chunks or missing_queues or len(chunks) != expected_chunks:
        raise RuntimeError(f"expected chunks 0..{expected_chunks - 1} once each and queues "
                           f"{list(expected_queues)}, got chunks {chunks} and queues {queues}")
    return {"chunks": len(chunks), "queues": queues,
            "chunk_queue": sorted({r["queue"] for r in chunk_results}),
            "worker_pids": len({(r["host"], r["pid"]) for r in chunk_results + queue_results})}
