"""Celery queues of the suite (docs/architecture.md §2) and which worker group consumes which.

Every task names its queue from here; the local stack (`Procfile`), `docker-compose.yaml`
and the DAG tests read the same table, so a queue nobody consumes cannot slip in.
"""
from __future__ import annotations

BILLING_FETCH = "billing.fetch"
BILLING_NORMALIZE = "billing.normalize"
BILLING_PERSIST = "billing.persist"
MARC21_PARSE = "marc21.parse"
ILS_SYNC_HOLDINGS = "ils.sync.holdings"
CIRCULATION_DELTA_APPLY = "circulation.delta.apply"
DEFAULT = "default"

QUEUES: tuple[str, ...] = (BILLING_FETCH, BILLING_NORMALIZE, BILLING_PERSIST, MARC21_PARSE,
                           ILS_SYNC_HOLDINGS, CIRCULATION_DELTA_APPLY, DEFAULT)

# Worker groups split by what bounds the work, so a throttled provider API (io) never
# holds the slots that parsing (cpu) or loading (db) need.
WORKER_GROUPS: dict[str, dict] = {
    "io": {"queues": (BILLING_FETCH, ILS_SYNC_HOLDINGS), "concurrency": 4},
    "cpu": {"queues": (BILLING_NORMALIZE, MARC21_PARSE), "concurrency": 2},
    "db": {"queues": (BILLING_PERSIST, CIRCULATION_DELTA_APPLY, DEFAULT), "concurrency": 3},
}
