"""Billing's warehouse side: the ledger of slice versions, per-load tables and the chunk
loads into them, publish, the DLQ (docs/architecture.md §4). What both families share --
connections, migrations -- stays in include/ingest/persist/."""
