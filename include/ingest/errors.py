"""The one error vocabulary of every ingestion task, billing and catalog alike.

Three types say what Airflow should do with the task attempt (``retry_policy.IngestRetryPolicy``,
the retry policy of every DAG, acts on them; docs/architecture.md §5):

* ``ThrottledError(wait_s)`` -- the source asked us to wait; retry after ``wait_s``.
* ``TransientError``         -- a retry may succeed; use the task's normal retry delay.
* ``PermanentError``         -- retrying cannot help (bad input, bad params, 4xx, a refused
  publish); fail the task now. It is also Airflow's own ``AirflowFailException``, so a task
  fails at once even where no retry policy is set.

The HTTP error table (``http/errors.py``) decides which one a response or socket error is;
readers decide for malformed input. Messages follow "expected X, got Y; do Z" so an
operator reading the Airflow log knows what to check without opening the code.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowFailException


class IngestError(Exception):
    """Base class; carries the HTTP status (if any) and the redacted URL."""

    def __init__(self, message: str, *, status: int | None = None, url: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class TransientError(IngestError):
    """A failure that a later attempt may not see (5xx, reset, timeout, truncated body)."""


class ThrottledError(TransientError):
    """The source throttled us and wants ``wait_s`` seconds before the next call."""

    def __init__(
        self, message: str, *, wait_s: float, status: int | None = None, url: str | None = None
    ) -> None:
        if wait_s < 0:
            raise ValueError(f"expected wait_s >= 0, got {wait_s!r}")
        super().__init__(message, status=status, url=url)
        self.wait_s = float(wait_s)


class PermanentError(IngestError, AirflowFailException):
    """A failure that retrying cannot fix (401/403/404/other 4xx, malformed input or params,
    a slice that disagrees with its provider)."""
