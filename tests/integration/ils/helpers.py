"""Catalog in, ILS out: ingest a generated catalog, sync every batch, compare."""
from __future__ import annotations

from pathlib import Path

import requests

from bench.ils_catalog import write_catalog
from include.ingest.ils.mapping import MappingConfig, project
from include.ingest.ils.source import wanted
from include.ingest.ils.sync import sync_batch, unsynced_batches
from tests.integration.catalog.ingest import ingest


def ingest_catalog(conn, tmp_path: Path, bibs: int, items_per_bib: int = 5) -> dict:
    path = tmp_path / "vendor.mrc"
    made = write_catalog(path, bibs, items_per_bib)
    summary = ingest(conn, None, path, batch_size=1000)
    assert summary["not_committed"] == [], summary
    return {**made, "batch_ids": summary["batch_ids"]}


def sync_all(conn, client, batch_ids, batch_size=250) -> list[dict]:
    return [sync_batch(conn, client, b, MappingConfig(), batch_size) for b in batch_ids]


def ils_state(ils) -> dict:
    return requests.get(f"{ils.ils_url}/_sandbox/ils/state", timeout=60).json()


def store_wants(conn) -> dict:
    ids = [r[0] for r in conn.execute("SELECT record_id FROM catalog.records "
                                      "WHERE current_version IS NOT NULL ORDER BY 1")]
    return wanted(conn, ids, MappingConfig())


def assert_ils_holds_exactly(conn, ils) -> dict:
    """Field by field: every doc of the store is in the ILS with our owned fields, and the
    ILS holds nothing else. Returns counts per kind."""
    want, state, counts = store_wants(conn), ils_state(ils), {}
    for kind in ("instances", "holdings", "items"):
        docs = {d.ils_id: d for d in getattr(want, kind)}
        held = {r["id"]: r for r in state[kind]}
        assert len(held) == len(state[kind]), f"{kind}: duplicate ids in the ILS"
        assert set(held) == set(docs), (kind, len(set(held) ^ set(docs)))
        for rid, doc in docs.items():
            assert project(kind, held[rid]) == doc.fields, (kind, rid)
        counts[kind] = len(held)
    barcodes = [r["barcode"].casefold() for r in state["items"] if r.get("barcode")]
    assert len(barcodes) == len(set(barcodes)), "duplicate barcodes"
    return counts


def writes(ils, since=0) -> list[dict]:
    return requests.get(f"{ils.ils_url}/_sandbox/ils/writes", params={"since": since}, timeout=60).json()["writes"]


def request_log(ils, since=0) -> list[dict]:
    return requests.get(f"{ils.ils_url}/_sandbox/requests", params={"since": since}, timeout=60).json()["requests"]


__all__ = ["ingest_catalog", "sync_all", "unsynced_batches", "assert_ils_holds_exactly", "writes",
           "request_log", "ils_state"]


def run_sync_in_child(settings: dict, warehouse_url: str, redis_url: str, limiter_key: str,
                      batch_ids: list[str], batch_size: int) -> None:
    """Target of a spawned process that the kill test SIGKILLs mid-run."""
    import psycopg
    import redis

    from include.ingest.ils.client import FolioClient, IlsSettings

    s = IlsSettings(**settings)
    limiter = FolioClient.shared_limiter(redis.Redis.from_url(redis_url), s)
    limiter.key = limiter_key
    client = FolioClient(s, limiter)
    with psycopg.connect(warehouse_url) as conn:
        sync_all(conn, client, batch_ids, batch_size)
