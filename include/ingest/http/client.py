"""A small retry loop that applies the error table to any ``send`` callable.

No network code lives here: the caller passes ``send`` (e.g. ``lambda: session.get(url)``)
and ``sleep``; tests pass fakes for both. The loop implements the two tiers of
docs/architecture.md §5:

* short waits/backoffs (``<= settings.short_wait_threshold_s``) are slept in-task;
* a long wait raises ``ThrottledError(wait_s)`` so the attempt ends, the worker slot is
  freed, and ``IngestRetryPolicy`` reschedules the task after the wait;
* FAIL raises ``PermanentError`` at once; running out of attempts raises the
  ``TransientError``/``ThrottledError`` of the last decision.

Resuming from a cursor (nextLink, pageToken, file offset) is the caller's job: call
this once per page, and persist the cursor after each successful page.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, Protocol, TypeVar

from include.ingest.http.errors import (
    DEFAULT_SETTINGS,
    Action,
    Decision,
    Outcome,
    RetrySettings,
    classify,
    is_short_wait,
)

T = TypeVar("T")


class ResponseLike(Protocol):
    """What ``send`` must return; ``requests.Response`` qualifies."""

    status_code: int
    headers: Any


def _now_utc() -> datetime:
    return datetime.now(timezone.utc)


def resilient_request(
    send: Callable[[], ResponseLike],
    *,
    url: str,
    method: str = "GET",
    parse: Callable[[ResponseLike], T] | None = None,
    max_attempts: int = 5,
    settings: RetrySettings = DEFAULT_SETTINGS,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    clock: Callable[[], datetime] = _now_utc,
    on_decision: Callable[[int, Decision], None] | None = None,
) -> T | ResponseLike:
    """Call ``send`` until it succeeds, applying the error table between attempts.

    ``parse(response)`` runs inside the loop so a truncated body, bad gzip or partial
    JSON page (an exception from ``parse``) is retried like a connection error.
    Returns ``parse(response)`` when ``parse`` is given, else the response.
    ``on_decision(attempt, decision)`` is called for every non-OK decision (logging,
    metrics). ``url`` is only used, redacted, in messages.
    """
    if max_attempts < 1:
        raise ValueError(f"expected max_attempts >= 1, got {max_attempts!r}")
    for attempt in range(1, max_attempts + 1):
        response: ResponseLike | None = None
        try:
            response = send()
            if 200 <= response.status_code < 300:
                return parse(response) if parse is not None else response
            outcome = Outcome(status=response.status_code, headers=response.headers, url=url, method=method)
        except Exception as exc:  # noqa: BLE001 - every exception goes through the table
            outcome = Outcome(
                status=getattr(response, "status_code", None),
                headers=getattr(response, "headers", None),
                exception=exc,
                url=url,
                method=method,
            )
        decision = classify(outcome, attempt=attempt, settings=settings, rng=rng, now=clock())
        if on_decision is not None:
            on_decision(attempt, decision)
        if decision.action is Action.FAIL:
            raise decision.to_exception() from outcome.exception
        if not is_short_wait(decision.delay_s, settings.short_wait_threshold_s):
            # Long wait: end this task attempt (freeing the worker); Airflow retries later.
            raise decision.to_exception(
                f"{decision.reason}; longer than the in-task limit of {settings.short_wait_threshold_s:g} s, "
                "so the task attempt ends and Airflow retries after the wait"
            ) from outcome.exception
        if attempt == max_attempts:
            raise decision.to_exception(
                f"expected a usable response within {max_attempts} attempts, got: {decision.reason}; "
                "the task will be retried by Airflow and resume from its cursor"
            ) from outcome.exception
        sleep(decision.delay_s)
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover
