"""Moved to ``include/ingest/retry_policy.py`` (the retry policy of every DAG); re-exported
here so DAG files written against this path on branches still in flight keep importing.
New code imports ``include.ingest.retry_policy``."""
from include.ingest.retry_policy import IngestRetryPolicy

__all__ = ["IngestRetryPolicy"]
