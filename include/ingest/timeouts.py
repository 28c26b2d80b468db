"""The `execution_timeout` of every DAG task, in one place, with the reason for each.

Without one, a task that never ends (a source streaming forever, a hung socket, a lock
wait) holds its worker slot for good and is retried as often again. Each value is the
longest the step should take on the largest input it accepts, with a wide margin: a
timeout is a backstop, not a schedule. Airflow fails the attempt at the limit and its
retries apply as usual.
"""
from __future__ import annotations

from datetime import timedelta

# Small steps that read XCom or one table (chunks_of, finalize, summaries, short-circuit
# checks, triggering a run): seconds of work; minutes allow for a slow database.
BOOKKEEPING = timedelta(minutes=10)

# Billing plan: list a manifest / page through Azure export manifests or query GCP day
# counts, write one ledger row. A provider throttling for minutes still fits.
BILLING_PLAN = timedelta(minutes=30)

# Billing fetch of one chunk: up to the 20 GiB landing cap (at ≥ 5 MB/s about 70 min),
# or an Azure query chunk of many pages under the shared 12 QPU / 10 s quota.
BILLING_FETCH = timedelta(hours=2)

# Normalize one chunk to FOCUS Parquet: ~60k rows/s measured, so 100M rows in ~30 min.
BILLING_NORMALIZE = timedelta(hours=1)

# Persist one chunk: binary COPY at about the same rate as normalize.
BILLING_PERSIST = timedelta(hours=1)

# Publish: verify counts, build the load table's indexes (one sort each over the whole
# slice), swap partitions under a lock_timeout of 60 s.
BILLING_PUBLISH = timedelta(hours=1)

# Reconcile one provider: one totals query per published slice of the chosen months.
BILLING_RECONCILE = timedelta(minutes=45)

# Catalog plan: land up to the catalog cap (4 GiB; a URL has its own 30 min deadline),
# then two streamed passes (sha256, batch cutting) over the file.
CATALOG_PLAN = timedelta(hours=1)

# One catalog batch: at most 1000 records (~20k records/s measured) plus its transaction.
CATALOG_BATCH = timedelta(minutes=15)

# Roll back one batch: at most 1000 records restored in one transaction.
CATALOG_ROLLBACK = timedelta(minutes=15)

# Self-check probes: one write, one query, one counter per queue.
SELFCHECK_PROBE = timedelta(minutes=5)

# ILS sync of one catalog batch: ≤ 1000 records → a few thousand instances, holdings and
# items, in batch upserts under the ILS's per-second threshold (25 calls/s), plus one-by-one
# writes for refused batches and waits on 429s; an hour even at a few calls per second.
ILS_SYNC_BATCH = timedelta(hours=1)
