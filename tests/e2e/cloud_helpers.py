"""Helpers for the Azure and GCP end-to-end tests: start a slice from nothing, read the
warehouse cursors and a task's Airflow timings."""
import datetime as dt
import re
import shutil
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import redis

from include.ingest.billing.store import load_tables

AZURE_ACCOUNT = "12345678"
GCP_ACCOUNT = "01A2B3-C4D5E6-F7A8B9"
AZURE_DAG, GCP_DAG, RECONCILE_DAG = "billing_azure_cost", "billing_gcp_export", "billing_reconcile"
_SEGMENT = re.compile(r"^[A-Za-z0-9._=-]+$")  # landing path segments used as they are


def forget_slice(env, provider, account, period):
    """Remove every trace of a slice -- warehouse rows, ledger, cursors, reconciliation, DLQ,
    landing files, Redis cursors -- so the next run fetches it from the provider again (the
    test stack keeps its data between sessions, and a loaded version is never fetched twice)."""
    prefix = f"{provider}:{account}:{period}:"
    with psycopg.connect(env["INGEST_DB_URL"]) as conn:
        # each load's rows are a table of their own (published: a partition of line_items)
        for (seq,) in conn.execute("SELECT load_seq FROM billing.ledger WHERE load_id LIKE %s",
                                   (prefix + "%",)).fetchall():
            load_tables.drop(conn, seq)
        for table, column in (("billing.quarantine", "load_id"),
                              ("billing.chunk_loads", "load_id"), ("billing.cursors", "load_id"),
                              ("billing.reconciliation", "load_id"), ("billing.dlq", "chunk_key"),
                              ("billing.ledger", "load_id")):
            conn.execute(f"DELETE FROM {table} WHERE {column} LIKE %s", (prefix + "%",))
    cursors = redis.Redis.from_url(env["INGEST_REDIS_URL"])
    for key in cursors.scan_iter(match=f"cursor:{prefix}*"):
        cursors.delete(key)
    root = Path(urlparse(env["INGEST_LANDING_URL"]).path)
    assert all(_SEGMENT.match(part) for part in (provider, account, period))
    for area in ("raw", "normalized"):
        shutil.rmtree(root / area / provider / account / period, ignore_errors=True)


def pages_saved(env, provider, account, period):
    """Pages landed per chunk of the slice's loads, from the PostgreSQL mirror of the cursors."""
    with psycopg.connect(env["INGEST_DB_URL"]) as conn:
        return dict(conn.execute("SELECT chunk_id, pages_landed FROM billing.cursors WHERE load_id LIKE %s",
                                 (f"{provider}:{account}:{period}:%",)).fetchall())


def instant(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def task_span(task_instances, task_id):
    """(first start, last end) of every instance of ``task_id`` (all tries as Airflow shows them)."""
    mine = [t for t in task_instances if t["task_id"] == task_id]
    return min(instant(t["start_date"]) for t in mine), max(instant(t["end_date"]) for t in mine)


def task_log(airflow, dag, run_id, task_id, try_number, map_index=-1):
    """The messages of one try's task log (over the REST API)."""
    found = airflow.get(f"/api/v2/dags/{dag}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
                        map_index=map_index)
    return [str(line.get("event", "")) for line in found["content"]]


def unpause_idle(airflow, dag, timeout=600):
    """Unpause ``dag`` and wait until none of its runs is queued or running and no scheduled
    run is due: unpausing creates the latest scheduled run, which must not share the
    provider's quota or the pool with the run a test measures."""
    airflow.wait_for_dag(dag)
    airflow.unpause(dag)
    deadline = time.monotonic() + timeout
    while True:
        due = airflow.get(f"/api/v2/dags/{dag}").get("next_dagrun_run_after")
        active = airflow.get(f"/api/v2/dags/{dag}/dagRuns", state=["queued", "running"])["total_entries"]
        if not active and (due is None or instant(due) > dt.datetime.now(dt.timezone.utc)):
            return
        assert time.monotonic() < deadline, f"{dag} still has active or due runs after {timeout} s"
        time.sleep(2)
