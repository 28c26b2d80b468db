"""Exceptions that ingestion tasks raise after the error table has decided.

The three types map one-to-one onto what Airflow should do with the task attempt
(see ``retry_policy.IngestRetryPolicy``):

* ``ThrottledError(wait_s)`` -- the provider asked us to wait; retry after ``wait_s``.
* ``TransientError``         -- a retry may succeed; use the task's normal retry delay.
* ``PermanentError``         -- retrying cannot help; fail the task now.

Messages follow "expected X, got Y; do Z" so an operator reading the Airflow log knows
what to check without opening the code.
"""

from __future__ import annotations


class IngestHTTPError(Exception):
    """Base class; carries the HTTP status (if any) and the redacted URL."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class TransientError(IngestHTTPError):
    """A failure that a later attempt may not see (5xx, reset, timeout, truncated body)."""


class ThrottledError(TransientError):
    """The provider throttled us and wants ``wait_s`` seconds before the next call."""

    def __init__(
        self, message: str, *, wait_s: float, status: int | None = None, url: str | None = None
    ) -> None:
        if wait_s < 0:
            raise ValueError(f"expected wait_s >= 0, got {wait_s!r}")
        super().__init__(message, status=status, url=url)
        self.wait_s = float(wait_s)


class PermanentError(IngestHTTPError):
    """A failure that retrying cannot fix (401/403/404/other 4xx, malformed request)."""
