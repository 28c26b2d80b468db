"""Moved to ``include/ingest/errors.py`` (one error vocabulary for every DAG); re-exported
here so code written against this path on branches still in flight keeps importing.
New code imports ``include.ingest.errors``."""
from include.ingest.errors import IngestError, PermanentError, ThrottledError, TransientError

IngestHTTPError = IngestError  # the old name of the base class

__all__ = ["IngestError", "IngestHTTPError", "PermanentError", "ThrottledError", "TransientError"]
