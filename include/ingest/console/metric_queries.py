"""The numbers behind `/metrics`, each one SQL over durable tables — the warehouse and
Airflow's metadata — so they are right after any restart and whichever process served
the scrape (no in-memory counters, no prometheus_client multiprocess files: every Airflow
task is a fresh process, docs/airflow-ops-reference §3).

Each function returns [(labels, value)].
"""
from __future__ import annotations

import psycopg

from include.ingest.console.catalog_views import ils_dlq_depth

# Airflow DAG → the provider (or family) its tasks work for.
PROVIDER_OF_DAG = {"billing_aws_cur": "aws", "billing_azure_cost": "azure",
                   "billing_gcp_export": "gcp", "billing_dlq_replay": "dlq_replay",
                   "billing_reconcile": "reconcile", "catalog_ingest": "catalog",
                   "catalog_rollback": "catalog"}
PROVIDERS = ("aws", "azure", "gcp")

Series = list[tuple[dict, float]]


def _per_provider(rows, column: str, providers=PROVIDERS) -> Series:
    """One series per known provider (0 when it has no rows yet: an absent series and a
    zero mean different things to an alert) plus any other provider the table names."""
    values = {r["provider"]: r[column] for r in rows}
    return [({"provider": p}, float(values.get(p) or 0))
            for p in sorted(set(providers) | set(values))]


def billing_rows(conn: psycopg.Connection) -> dict[str, Series]:
    rows = conn.execute(
        "SELECT provider, "
        # every version ever published (superseded ones included): a counter that only grows
        " COALESCE(sum(rows_published) FILTER (WHERE published_at IS NOT NULL), 0) AS published_total,"
        " COALESCE(sum(rows_quarantined) FILTER (WHERE published_at IS NOT NULL), 0) AS quarantined_total,"
        # what the warehouse holds now: the published version of each slice
        " COALESCE(sum(rows_published) FILTER (WHERE state = 'published'), 0) AS published_now,"
        " COALESCE(sum(rows_quarantined) FILTER (WHERE state = 'published'), 0) AS quarantined_now,"
        " COALESCE(sum(quarantined_billed_cost) FILTER (WHERE state = 'published'), 0) AS quarantined_cost,"
        " count(*) FILTER (WHERE state = 'published') AS slices"
        " FROM billing.ledger GROUP BY provider").fetchall()
    return {column: _per_provider(rows, column) for column in
            ("published_total", "quarantined_total", "published_now", "quarantined_now",
             "quarantined_cost", "slices")}


def reconciliation(conn: psycopg.Connection) -> dict[str, Series]:
    """Slices whose latest reconciliation line of some measure is a discrepancy / warning."""
    rows = conn.execute(
        "WITH latest AS (SELECT DISTINCT ON (provider, billing_account, billing_period, measure) "
        " provider, billing_account, billing_period, status FROM billing.reconciliation "
        " ORDER BY provider, billing_account, billing_period, measure, checked_at DESC) "
        "SELECT provider, "
        " count(DISTINCT (billing_account, billing_period)) FILTER (WHERE status = 'discrepancy') AS discrepancies,"
        " count(DISTINCT (billing_account, billing_period)) FILTER (WHERE status = 'warning') AS warnings "
        "FROM latest GROUP BY provider").fetchall()
    return {"discrepancies": _per_provider(rows, "discrepancies"),
            "warnings": _per_provider(rows, "warnings")}


def dlq_depth(conn: psycopg.Connection) -> Series:
    billing = conn.execute("SELECT count(*) AS n FROM billing.dlq WHERE state <> 'resolved'"
                           ).fetchone()["n"]
    # a catalog DLQ row is an unreadable record; it stops counting when its batch is rolled back
    catalog = conn.execute("SELECT count(*) AS n FROM catalog.dlq d JOIN catalog.batches b "
                           "USING (batch_id) WHERE b.state <> 'rolled_back'").fetchone()["n"]
    series = [({"family": "billing"}, float(billing)), ({"family": "catalog"}, float(catalog))]
    ils = ils_dlq_depth(conn)
    if ils is not None:
        series.append(({"family": "ils"}, float(ils)))
    return series


def billing_dlq_oldest_age(conn: psycopg.Connection) -> float:
    return float(conn.execute("SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(first_failed_at)), 0) "
                              "AS age FROM billing.dlq WHERE state <> 'resolved'").fetchone()["age"])


def catalog_records(conn: psycopg.Connection) -> dict[str, Series]:
    """Records per outcome over every batch ever committed (a rollback does not un-count
    the work; it shows in the batch states)."""
    totals = conn.execute(
        "SELECT COALESCE(sum(created), 0) AS created, COALESCE(sum(updated), 0) AS updated, "
        "COALESCE(sum(unchanged), 0) AS unchanged, COALESCE(sum(duplicate_in_file), 0) AS duplicate, "
        "COALESCE(sum(errors), 0) AS errors FROM catalog.batches WHERE committed_at IS NOT NULL"
    ).fetchone()
    states = dict((r["state"], r["n"]) for r in conn.execute(
        "SELECT state, count(*) AS n FROM catalog.batches GROUP BY state"))
    return {"records": [({"outcome": k}, float(v)) for k, v in totals.items()],
            "batches": [({"state": s}, float(states.get(s, 0)))
                        for s in ("staged", "committed", "synced", "rolled_back")]}


def throttling(conn: psycopg.Connection) -> dict[str, Series]:
    rows = conn.execute(
        "SELECT provider,"
        " count(*) FILTER (WHERE kind = 'provider') AS responses_1h,"
        " COALESCE(sum(wait_s) FILTER (WHERE kind = 'provider'), 0) AS provider_wait_1h,"
        " COALESCE(sum(wait_s) FILTER (WHERE kind = 'limiter'), 0) AS limiter_wait_1h,"
        " count(*) FILTER (WHERE at > now() - interval '5 minutes') AS events_5m"
        " FROM billing.throttle_events WHERE at > now() - interval '1 hour' GROUP BY provider"
    ).fetchall()
    return {column: _per_provider(rows, column) for column in
            ("responses_1h", "provider_wait_1h", "limiter_wait_1h", "events_5m")}


def task_outcomes(conn: psycopg.Connection) -> dict[str, Series]:
    """From Airflow's metadata: failed tries (a task's final failure, and earlier failed
    tries kept in task_instance_history after a clear) and retried tries (a try that failed
    and was rescheduled), per provider, plus the age of the oldest try waiting to retry."""
    dags = list(PROVIDER_OF_DAG)
    rows = conn.execute(
        "WITH tries AS (SELECT dag_id, state, end_date FROM task_instance WHERE dag_id = ANY(%(d)s) "
        " UNION ALL SELECT dag_id, state, end_date FROM task_instance_history WHERE dag_id = ANY(%(d)s)) "
        "SELECT dag_id, count(*) FILTER (WHERE state = 'failed') AS failed, "
        " count(*) FILTER (WHERE state = 'up_for_retry') AS retried FROM tries GROUP BY dag_id",
        {"d": dags}).fetchall()
    failed: dict[str, float] = {}
    retried: dict[str, float] = {}
    for row in rows:
        provider = PROVIDER_OF_DAG[row["dag_id"]]
        failed[provider] = failed.get(provider, 0) + row["failed"]
        retried[provider] = retried.get(provider, 0) + row["retried"]
    ages = conn.execute(
        "SELECT dag_id, EXTRACT(EPOCH FROM now() - min(end_date)) AS age FROM task_instance "
        "WHERE state = 'up_for_retry' AND dag_id = ANY(%(d)s) GROUP BY dag_id", {"d": dags}).fetchall()
    oldest: dict[str, float] = {}
    for row in ages:
        provider = PROVIDER_OF_DAG[row["dag_id"]]
        oldest[provider] = max(oldest.get(provider, 0.0), float(row["age"] or 0))
    names = sorted(set(PROVIDER_OF_DAG.values()))
    return {"failed": [({"provider": p}, float(failed.get(p, 0))) for p in names],
            "retried": [({"provider": p}, float(retried.get(p, 0))) for p in names],
            "oldest_retry_age": [({"provider": p}, oldest.get(p, 0.0)) for p in names]}
