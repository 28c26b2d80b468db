"""`/metrics`: Prometheus text built fresh for every scrape from the database.

A custom collector in a new registry per request (not the process-global one, and never
prometheus_client's multiprocess mode): each value is a query over durable tables
(console/metric_queries.py), so the numbers survive restarts and do not depend on which
process served the scrape. A source that fails (a database down) costs its own series
only and sets `ingest_console_source_up{source}` to 0, so the alert can say which.
What every metric means: README "Metrics".
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from include.ingest.console import metric_queries as q
from include.ingest.console.db import metadata_url, read_only, warehouse_url
from include.ingest.console.queues_view import broker_url, queue_depths

log = logging.getLogger(__name__)


def _family(kind, name: str, doc: str, series: q.Series) -> Metric:
    labels = sorted(series[0][0]) if series else []
    family = kind(name, doc, labels=labels)
    for label_values, value in series:
        family.add_metric([str(label_values[k]) for k in labels], value)
    return family


C, G = CounterMetricFamily, GaugeMetricFamily
# (kind, name, help, query group, key) — README "Metrics" says what each one means.
WAREHOUSE_METRICS = [
    (C, "ingest_billing_rows_published", "Rows of every slice version ever published", "rows", "published_total"),
    (C, "ingest_billing_rows_quarantined", "Quarantined rows of every slice version ever published", "rows", "quarantined_total"),
    (G, "ingest_billing_published_rows", "Rows in the warehouse now (published versions)", "rows", "published_now"),
    (G, "ingest_billing_quarantined_rows", "Quarantined rows of the published versions", "rows", "quarantined_now"),
    (G, "ingest_billing_quarantined_billed_cost", "Sum of BilledCost held in quarantine by published versions", "rows", "quarantined_cost"),
    (G, "ingest_billing_published_slices", "Slices with a published version", "rows", "slices"),
    (G, "ingest_reconciliation_discrepancies", "Slices whose latest reconciliation has a discrepancy", "recon", "discrepancies"),
    (G, "ingest_reconciliation_warnings", "Slices whose latest reconciliation has a warning (money in quarantine)", "recon", "warnings"),
    (G, "ingest_dlq_depth", "Dead-letter entries not resolved, per family", "dlq", "depth"),
    (G, "ingest_billing_dlq_oldest_age_seconds", "Age of the oldest unresolved billing DLQ entry (0: none)", "dlq", "oldest"),
    (C, "ingest_catalog_records", "Catalog records per outcome over every committed batch", "catalog", "records"),
    (G, "ingest_catalog_batches", "Catalog batches per state", "catalog", "batches"),
    (G, "ingest_provider_throttled_responses_1h", "429/503 answers per provider in the last hour", "throttle", "responses_1h"),
    (G, "ingest_provider_throttle_wait_seconds_1h", "Seconds of wait the provider asked for in the last hour", "throttle", "provider_wait_1h"),
    (G, "ingest_provider_limiter_wait_seconds_1h", "Seconds our shared rate limiter made callers wait in the last hour", "throttle", "limiter_wait_1h"),
    (G, "ingest_provider_throttle_events_5m", "Throttle events (provider answers and limiter waits) in the last 5 minutes", "throttle", "events_5m"),
]


def _warehouse() -> Iterator[Metric]:
    with read_only(warehouse_url()) as conn:
        groups = {"rows": q.billing_rows(conn), "recon": q.reconciliation(conn),
                  "dlq": {"depth": q.dlq_depth(conn), "oldest": [({}, q.billing_dlq_oldest_age(conn))]},
                  "catalog": q.catalog_records(conn), "throttle": q.throttling(conn)}
    for kind, name, doc, group, key in WAREHOUSE_METRICS:
        yield _family(kind, name, doc, groups[group][key])


def _metadata() -> Iterator[Metric]:
    with read_only(metadata_url()) as conn:
        tasks = q.task_outcomes(conn)
    yield _family(CounterMetricFamily, "ingest_tasks_failed",
                  "Failed task tries per provider (Airflow metadata)", tasks["failed"])
    yield _family(CounterMetricFamily, "ingest_tasks_retried",
                  "Task tries that failed and were retried, per provider", tasks["retried"])
    yield _family(GaugeMetricFamily, "ingest_oldest_open_retry_age_seconds",
                  "Seconds since the oldest task waiting to retry failed (0: none)",
                  tasks["oldest_retry_age"])


def _broker() -> Iterator[Metric]:
    yield _family(GaugeMetricFamily, "ingest_queue_depth", "Messages waiting in the Celery queue",
                  [({"queue": k}, float(v)) for k, v in queue_depths(broker_url()).items()])


SOURCES: dict[str, Callable[[], Iterator[Metric]]] = {
    "warehouse": _warehouse, "airflow_metadata": _metadata, "broker": _broker}


class IngestCollector:
    """Collects every source; a failing source yields nothing but `source_up 0`."""

    def __init__(self, sources: dict[str, Callable[[], Iterator[Metric]]] = SOURCES):
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("ingest_console_source_up",
                               "1 when the source answered this scrape", labels=["source"])
        for name, source in self.sources.items():
            try:
                metrics = list(source())
            except Exception as exc:  # noqa: BLE001 - one source down must not hide the others
                log.warning("metrics source %s failed: %s", name, type(exc).__name__)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from metrics
        yield up


def render() -> bytes:
    """The Prometheus text exposition of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(IngestCollector())
    return generate_latest(registry)
