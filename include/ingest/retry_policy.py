"""Airflow 3.3 ``RetryPolicy`` of every DAG (billing, catalog, self-check): the "long wait" tier of docs/architecture.md §5.

A task that is throttled for longer than the in-task threshold raises
``ThrottledError(wait_s)`` and ends its attempt, which frees the Celery worker slot.
This policy then tells Airflow to retry after exactly that wait (plus a little jitter
added by the error table), instead of the task's fixed ``retry_delay``:

* ``ThrottledError``  -> ``RetryDecision.retry(delay=wait_s)``
* ``PermanentError``  -> ``RetryDecision.fail(reason)``: don't burn retries on a 403
* anything else       -> ``RetryDecision.default()``: the task's own retries/retry_delay

RETRY never extends the task's ``retries`` budget (Airflow caps it), so a provider
that throttles forever still ends in a failed task and, from there, the DLQ.

The policy runs in the worker process (``evaluate`` sees the real exception); Airflow
serializes only a "has retry policy" flag, but ``serialize``/``deserialize`` are
provided so the policy round-trips if that changes.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from airflow.sdk import RetryDecision, RetryPolicy

from include.ingest.errors import PermanentError, ThrottledError

_MAX_CHAIN = 10  # how far to follow __cause__/__context__ when a task wrapped our error


def _find(exception: BaseException, kind: type[BaseException]) -> BaseException | None:
    """``exception`` or the first error of ``kind`` it was raised from (``raise X from e``)."""
    seen = 0
    current: BaseException | None = exception
    while current is not None and seen < _MAX_CHAIN:
        if isinstance(current, kind):
            return current
        current = current.__cause__ or current.__context__
        seen += 1
    return None


class IngestRetryPolicy(RetryPolicy):
    """Retry throttles after the provider's wait, fail permanent errors fast.

    ``min_delay_s`` keeps a "retry after 0 s" from turning into a hot loop across
    workers; ``max_delay_s`` bounds how long a single throttle can park a task.
    """

    def __init__(self, min_delay_s: float = 1.0, max_delay_s: float = 6 * 3600.0) -> None:
        if not 0 <= min_delay_s <= max_delay_s:
            raise ValueError(
                f"expected 0 <= min_delay_s <= max_delay_s, got min_delay_s={min_delay_s!r}, "
                f"max_delay_s={max_delay_s!r}"
            )
        self.min_delay_s = float(min_delay_s)
        self.max_delay_s = float(max_delay_s)

    def evaluate(
        self,
        exception: BaseException,
        try_number: int,
        max_tries: int,
        context: Any = None,
    ) -> RetryDecision:
        permanent = _find(exception, PermanentError)
        if permanent is not None:
            return RetryDecision.fail(reason=f"permanent error, not retrying: {permanent}")
        throttled = _find(exception, ThrottledError)
        if throttled is not None:
            assert isinstance(throttled, ThrottledError)
            wait = min(self.max_delay_s, max(self.min_delay_s, throttled.wait_s))
            # Airflow schedules in whole seconds; round up so we never come back early.
            delay = timedelta(seconds=math.ceil(wait))
            reason = f"throttled (try {try_number}/{max_tries}); retrying in {delay.total_seconds():g} s: {throttled}"
            return RetryDecision.retry(delay=delay, reason=reason)
        return RetryDecision.default()

    def serialize(self) -> dict[str, Any]:
        return {
            "__type": f"{type(self).__module__}.{type(self).__qualname__}",
            "min_delay_s": self.min_delay_s,
            "max_delay_s": self.max_delay_s,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> IngestRetryPolicy:
        return cls(min_delay_s=data["min_delay_s"], max_delay_s=data["max_delay_s"])
