"""A durable record of provider throttling (`billing.throttle_events`, migration 0014).

The operator console and `/metrics` report, per provider, how often and how long we were
throttled in the last hour, across every task process and restart; nothing else keeps
that (the Redis limiter log expires with its window). Recording is best effort on
purpose: a throttled fetch must go on (or end its attempt) whether or not the warehouse
took the note, so a failed insert is logged and dropped, never raised.
"""
from __future__ import annotations

import logging
import os

from include.ingest.http.errors import Action, Decision

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5
# Rows older than this go when a new one is written: the console reads the last hour,
# alerts the last ten minutes; a week leaves room to look back at an incident.
RETENTION = "7 days"


def record(provider: str, kind: str, wait_s: float, status: int | None = None) -> None:
    """Write one event: `kind` 'provider' (a 429 / 503 answer asking `wait_s`) or
    'limiter' (our shared rate limiter made the caller wait `wait_s`)."""
    url = os.environ.get("INGEST_DB_URL")
    if not url:
        return  # unit tests and tools without a warehouse: nothing to record into
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO billing.throttle_events (provider, kind, status, wait_s, dag_id, task_id)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                (provider, kind, status, round(float(wait_s), 3),
                 os.environ.get("AIRFLOW_CTX_DAG_ID"), os.environ.get("AIRFLOW_CTX_TASK_ID")))
            conn.execute("DELETE FROM billing.throttle_events WHERE at < now() - %s::interval",
                         (RETENTION,))
    except psycopg.Error as exc:
        log.warning("throttle event of %s not recorded (%s); the fetch goes on",
                    provider, type(exc).__name__)


def on_decision_for(provider: str):
    """An `on_decision` callback for `resilient_request` that records every WAIT decision
    (the provider throttled: 429, 503, Retry-After) of `provider`."""

    def on_decision(attempt: int, decision: Decision) -> None:
        if decision.action is Action.WAIT:
            record(provider, "provider", decision.delay_s, decision.status)

    return on_decision
