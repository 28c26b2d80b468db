"""What the `ils_sync_holdings` DAG's tasks do (the DAG file is wiring only).

Connections: the ILS from the Airflow connection `ils_folio` (host = base URL, login,
password, extra `tenant`, `rate_limit_per_s`, `batch_size`, optional `mapping` overrides);
the warehouse from `INGEST_DB_URL`; the shared rate limiter in `INGEST_REDIS_URL`.
XCom carries batch ids and counts only; the password never leaves the connection.
"""
from __future__ import annotations

import json
import os

from include.ingest.ils.client import FolioClient, IlsSettings
from include.ingest.ils.mapping import MappingConfig

CONN_ID = "ils_folio"


def _extra(conn) -> dict:
    extra = conn.extra_dejson if hasattr(conn, "extra_dejson") else json.loads(conn.extra or "{}")
    return dict(extra or {})


def settings_from_connection(conn_id: str = CONN_ID) -> tuple[IlsSettings, MappingConfig]:
    from airflow.sdk import BaseHook

    conn = BaseHook.get_connection(conn_id)
    extra = _extra(conn)
    if not extra.get("tenant"):
        raise ValueError(f"connection {conn_id}: expected extra.tenant (the X-Okapi-Tenant), "
                         f"got none; set it in the connection's extra JSON")
    host = conn.host or ""
    url = host if "://" in host else f"http://{host}{':' + str(conn.port) if conn.port else ''}"
    settings = IlsSettings(url=url, tenant=extra["tenant"], username=conn.login or "",
                           password=conn.password or "",
                           rate_limit_per_s=int(extra.get("rate_limit_per_s", 25)),
                           batch_size=int(extra.get("batch_size", 500)))
    return settings, MappingConfig.from_json(extra.get("mapping"))


def plan(params: dict, triggering_asset_events=None) -> list[str]:
    """Batch ids to sync: the `batch_id` param; else the batches named by the triggering
    catalog asset events; else (or with `scope` = unsynced) every committed batch not yet
    synced. A batch synced already is re-checked cheaply (nothing in sync is sent)."""
    from include.ingest.ils.sync import unsynced_batches
    from include.ingest.persist.db import connect

    wanted = (params.get("batch_id") or "").strip()
    if wanted:
        return [wanted]
    named: list[str] = []
    for events in (triggering_asset_events or {}).values():
        for event in events:
            named += [b for b in (event.extra or {}).get("batch_ids", []) if b not in named]
    if named and params.get("scope") != "unsynced":
        return named
    with connect() as conn:
        return unsynced_batches(conn)


def sync(batch_id: str) -> dict:
    import redis

    from include.ingest.ils.sync import sync_batch
    from include.ingest.persist.db import connect

    settings, cfg = settings_from_connection()
    redis_url = os.environ.get("INGEST_REDIS_URL")
    if not redis_url:
        raise ValueError("INGEST_REDIS_URL is not set; expected the Redis holding the shared "
                         "ILS rate limiter (every worker must share it)")
    client = FolioClient(settings, FolioClient.shared_limiter(redis.Redis.from_url(redis_url), settings))
    try:
        with connect() as conn:
            return sync_batch(conn, client, batch_id, cfg, settings.batch_size)
    finally:
        client.close()
