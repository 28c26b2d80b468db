"""The Airflow Asset a committed catalog batch updates (catalog_ingest's `ingest_batch` is
its producer, `ils_sync_holdings` its consumer). Each event's extra names the batch:
`{"batch_ids": [...]}`. Kept apart from the sync code so DAG files import nothing heavy."""
from __future__ import annotations

from airflow.sdk import Asset

# A name without a URI scheme: a scheme makes Airflow load every provider's URI handlers
# at parse time (boto3 among them), which the DAG files must not pull in.
CATALOG_BATCHES = Asset("catalog_batches_committed", group="catalog")
