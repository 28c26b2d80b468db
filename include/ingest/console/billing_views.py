"""Billing as the operator needs to see it: slices with their versions, reconciliation,
quarantine, the DLQ and provider throttling — plain SQL over `billing.*`.

Money stays `Decimal` (NUMERIC) end to end; the page prints it exactly.
"""
from __future__ import annotations

import psycopg

from include.ingest.console.db import Page, bounded, paged

# One row per slice (provider, account, period), newest period first: the published
# version, its totals and the latest reconciliation verdict (worst status of the latest check).
_SLICES = """
WITH slices AS (
    SELECT provider, billing_account, billing_period, max(started_at) AS last_load
    FROM billing.ledger WHERE (%(provider)s::text IS NULL OR provider = %(provider)s)
    GROUP BY 1, 2, 3
), latest_check AS (
    SELECT DISTINCT ON (provider, billing_account, billing_period)
           provider, billing_account, billing_period, checked_at
    FROM billing.reconciliation ORDER BY provider, billing_account, billing_period, checked_at DESC
)
SELECT s.provider, s.billing_account, s.billing_period, s.last_load,
       p.load_id AS published_load, p.version AS published_version,
       p.rows_published, p.rows_quarantined, p.billed_cost, p.quarantined_billed_cost, p.warning,
       (SELECT CASE max(CASE r.status WHEN 'discrepancy' THEN 3 WHEN 'warning' THEN 2
                                      WHEN 'open' THEN 1 ELSE 0 END)
                 WHEN 3 THEN 'discrepancy' WHEN 2 THEN 'warning' WHEN 1 THEN 'open' WHEN 0 THEN 'ok' END
          FROM billing.reconciliation r
         WHERE (r.provider, r.billing_account, r.billing_period, r.checked_at)
               = (c.provider, c.billing_account, c.billing_period, c.checked_at)) AS reconciliation,
       c.checked_at AS reconciled_at
FROM slices s
LEFT JOIN billing.ledger p ON (p.provider, p.billing_account, p.billing_period, p.state)
                            = (s.provider, s.billing_account, s.billing_period, 'published')
LEFT JOIN latest_check c ON (c.provider, c.billing_account, c.billing_period)
                            = (s.provider, s.billing_account, s.billing_period)
ORDER BY s.billing_period DESC, s.provider, s.billing_account
LIMIT %(limit)s OFFSET %(offset)s
"""

# Every version of the given slices, with Σ BilledCost of what its chunks loaded when
# the ledger has no total yet (a load still running or refused at publish).
_VERSIONS = """
SELECT l.provider, l.billing_account, l.billing_period, l.load_id, l.version, l.version_at,
       l.state, l.rows_in, l.rows_published, l.rows_quarantined, l.dag_run_id,
       COALESCE(l.billed_cost, (SELECT sum(c.billed_cost) FROM billing.chunk_loads c
                                WHERE c.load_id = l.load_id)) AS billed_cost,
       l.quarantined_billed_cost, l.warning, l.published_at
FROM billing.ledger l
WHERE (l.provider, l.billing_account, l.billing_period) IN (SELECT * FROM unnest(
        %(providers)s::text[], %(accounts)s::text[], %(periods)s::text[]))
ORDER BY l.version_at DESC
"""

_DIFFERENCES = """
SELECT DISTINCT ON (provider, billing_account, billing_period, measure)
       provider, billing_account, billing_period, measure, status, declared, observed,
       difference, declared_by, detail, context, checked_at
FROM billing.reconciliation
WHERE (provider, billing_account, billing_period) IN (SELECT * FROM unnest(
        %(providers)s::text[], %(accounts)s::text[], %(periods)s::text[]))
ORDER BY provider, billing_account, billing_period, measure, checked_at DESC
"""


def _slice_key(row: dict) -> tuple[str, str, str]:
    return row["provider"], row["billing_account"], row["billing_period"]


def slices(conn: psycopg.Connection, limit: int = 25, offset: int = 0,
           provider: str | None = None) -> Page:
    """A page of slices; each has `versions` (newest first) and `differences` (the latest
    reconciliation line per measure that is not 'ok')."""
    limit, offset = bounded(limit, offset)
    total = conn.execute("SELECT count(*) AS n FROM (SELECT DISTINCT provider, billing_account, "
                         "billing_period FROM billing.ledger WHERE (%(provider)s::text IS NULL "
                         "OR provider = %(provider)s)) s", {"provider": provider}).fetchone()["n"]
    rows = conn.execute(_SLICES, {"provider": provider, "limit": limit, "offset": offset}).fetchall()
    keys = {"providers": [r["provider"] for r in rows], "accounts": [r["billing_account"] for r in rows],
            "periods": [r["billing_period"] for r in rows]}
    versions: dict[tuple, list] = {}
    for version in conn.execute(_VERSIONS, keys):
        versions.setdefault(_slice_key(version), []).append(version)
    differences: dict[tuple, list] = {}
    for line in conn.execute(_DIFFERENCES, keys):
        if line["status"] != "ok":
            differences.setdefault(_slice_key(line), []).append(line)
    for row in rows:
        row["versions"] = versions.get(_slice_key(row), [])
        row["differences"] = differences.get(_slice_key(row), [])
    return Page(rows, total, offset, limit)


def quarantine(conn: psycopg.Connection, limit: int = 25, offset: int = 0,
               load_id: str | None = None) -> Page:
    """Quarantined rows (newest first) with their reason and location; `raw` is cut to
    400 characters for the page (the full row stays in the table)."""
    return paged(conn, "provider, billing_account, billing_period, version, load_id, chunk_id, "
                 "source_file, source_line, row_ordinal, reason, left(raw, 400) AS raw, quarantined_at",
                 "billing.quarantine WHERE (%(load)s::text IS NULL OR load_id = %(load)s)",
                 "quarantined_at DESC, load_id, chunk_id, row_ordinal", {"load": load_id}, limit, offset)


def dlq(conn: psycopg.Connection, limit: int = 25, offset: int = 0, state: str | None = "open") -> Page:
    """Billing DLQ entries (open ones by default), oldest failure first; chunk_key is
    "<load id>:<chunk id>", so the ledger row names the slice."""
    return paged(conn, "d.id, d.dag_id, d.task_id, d.chunk_key, d.state, d.attempts, "
                 "left(d.error, 300) AS error, d.dag_run_id, d.first_failed_at, d.last_failed_at, "
                 "d.resolved_at, d.resolution, l.provider, l.billing_account, l.billing_period",
                 "billing.dlq d LEFT JOIN billing.ledger l ON d.chunk_key LIKE l.load_id || ':%%' "
                 "WHERE (%(state)s::text IS NULL OR d.state = %(state)s)",
                 "d.first_failed_at, d.id", {"state": state}, limit, offset)


def throttling(conn: psycopg.Connection, window: str = "1 hour") -> list[dict]:
    """Per provider over `window`: provider 429/503 answers and the waits they asked for,
    our limiter's waits, and the last event."""
    return conn.execute(
        "SELECT provider, count(*) FILTER (WHERE kind = 'provider') AS throttled_responses, "
        "COALESCE(sum(wait_s) FILTER (WHERE kind = 'provider'), 0) AS provider_wait_s, "
        "count(*) FILTER (WHERE kind = 'limiter') AS limiter_waits, "
        "COALESCE(sum(wait_s) FILTER (WHERE kind = 'limiter'), 0) AS limiter_wait_s, "
        "max(at) AS last_event FROM billing.throttle_events "
        "WHERE at > now() - %s::interval GROUP BY provider ORDER BY provider",
        (window,)).fetchall()
