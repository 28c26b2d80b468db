"""The one error table: what to do with an HTTP outcome (docs/architecture.md §5).

``classify(Outcome) -> Decision`` is a pure function of its inputs (give it ``now`` and a
seeded ``rng`` and it is fully deterministic). Every fetcher routes its responses and
exceptions through it, so throttling, retries and fail-fast behave the same for AWS,
Azure, GCP and the ILS.

=====================================================  ========  ===========================
Outcome                                                Action    Delay
=====================================================  ========  ===========================
2xx                                                    OK        0
429, 503                                               WAIT      max(Retry-After, every
                                                                 x-ms-ratelimit-*retry-after)
                                                                 + jitter, capped; backoff
                                                                 when no header says
408, other 5xx                                         RETRY     full-jitter backoff
connection reset/refused, timeout, DNS/TLS failure,    RETRY     full-jitter backoff
truncated body, bad gzip, partial/invalid JSON page,
Redis unreachable/timed out/loading (shared limiter)
``TransientError`` / ``ThrottledError`` raised by us   RETRY /   backoff / ``wait_s``
                                                       WAIT
401, 403, 404, 413, other 4xx, 1xx/3xx,                FAIL      0, message says what to check
invalid URL, ``PermanentError``, unknown exception
=====================================================  ========  ===========================

Exceptions of requests, urllib3 and botocore are classified alike; a botocore
``ClientError`` (S3) is classified by the HTTP status and headers it carries.

Unknown exception types FAIL on purpose: a bug does not fix itself by retrying, and a
new transient type should be added to the table (where it is visible) rather than caught
by a broad ``except``.
"""

from __future__ import annotations

import enum
import gzip
import http.client
import json
import random
import socket
import ssl
import zlib
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus

from include.ingest.http.backoff import Backoff
from include.ingest.errors import (
    IngestError,
    PermanentError,
    ThrottledError,
    TransientError,
)
from include.ingest.http.redact import redact_url
from include.ingest.http.retry_after import Headers, requested_waits

try:  # requests/urllib3 are optional: the table also serves other clients.
    import requests.exceptions as _rq
    import urllib3.exceptions as _u3

    _LIB_PERMANENT: tuple[type[BaseException], ...] = (
        _rq.InvalidURL,
        _rq.MissingSchema,
        _rq.InvalidSchema,
        _rq.InvalidHeader,
        _rq.URLRequired,
    )
    _LIB_TRANSIENT: tuple[type[BaseException], ...] = (
        _rq.ConnectionError,
        _rq.Timeout,
        _rq.ChunkedEncodingError,
        _rq.ContentDecodingError,
        _u3.ProtocolError,
        _u3.TimeoutError,
        _u3.DecodeError,
        _u3.IncompleteRead,
    )
    _HTTP_ERROR: type[BaseException] | None = _rq.HTTPError
except ImportError:  # pragma: no cover - the project venv always has requests
    _LIB_PERMANENT, _LIB_TRANSIENT, _HTTP_ERROR = (), (), None

try:  # botocore (S3 for AWS CUR): its HTTP errors carry the status in ``response``.
    import botocore.exceptions as _bc

    _BOTO_CLIENT_ERROR: type[BaseException] | None = _bc.ClientError
    _LIB_TRANSIENT += (
        _bc.EndpointConnectionError,
        _bc.ConnectionClosedError,
        _bc.ReadTimeoutError,
        _bc.ConnectTimeoutError,
        _bc.IncompleteReadError,
        _bc.ResponseStreamingError,
    )
except ImportError:  # pragma: no cover - the project venv always has botocore
    _BOTO_CLIENT_ERROR = None

try:  # redis-py: the shared rate limiter runs inside a fetch's ``send``. Its errors are not
    # builtin ConnectionError/TimeoutError subclasses, yet a restart or failover of Redis is
    # exactly as transient as a reset socket (BusyLoadingError, "loading the dataset", is a
    # ConnectionError subclass). Other RedisErrors (a script error, a wrong type) stay FAIL.
    import redis.exceptions as _redis

    _LIB_TRANSIENT += (_redis.ConnectionError, _redis.TimeoutError)
except ImportError:  # pragma: no cover - the project venv always has redis
    pass


class Action(enum.Enum):
    OK = "ok"
    WAIT = "wait"  # throttled: wait what the provider asks, then call again
    RETRY = "retry"  # transient: back off with full jitter, then call again
    FAIL = "fail"  # permanent: stop now, a retry cannot help


@dataclass(frozen=True)
class RetrySettings:
    """Knobs of the table. Defaults suit the billing APIs (Azure: 12 QPU / 10 s)."""

    backoff: Backoff = field(default_factory=Backoff)
    short_wait_threshold_s: float = 60.0  # longer waits end the attempt (Airflow retries)
    max_wait_s: float = 3600.0  # cap on any single wait, even if a header asks for more
    throttle_jitter_s: float = 1.0  # added to header waits so workers don't return in lockstep


DEFAULT_SETTINGS = RetrySettings()


@dataclass(frozen=True)
class Outcome:
    """What happened on one call: a status (+ headers) or an exception, for a URL.

    When both are set the exception wins: a 200 whose body turned out truncated or
    not JSON is a transient failure, not a success.
    """

    status: int | None = None
    headers: Headers | None = None
    exception: BaseException | None = None
    url: str | None = None
    method: str = "GET"


@dataclass(frozen=True)
class Decision:
    action: Action
    delay_s: float
    reason: str
    status: int | None = None
    url: str = ""  # already redacted

    def to_exception(self, message: str | None = None) -> IngestError:
        """The exception a task raises when it gives up on this decision in-task
        (``message`` replaces ``reason`` as the text, e.g. to say attempts ran out)."""
        text = message or self.reason
        if self.action is Action.WAIT:
            return ThrottledError(text, wait_s=self.delay_s, status=self.status, url=self.url)
        if self.action is Action.RETRY:
            return TransientError(text, status=self.status, url=self.url)
        if self.action is Action.FAIL:
            return PermanentError(text, status=self.status, url=self.url)
        raise ValueError(f"expected a WAIT/RETRY/FAIL decision, got {self.action}; OK needs no exception")


def is_short_wait(delay_s: float, threshold_s: float = DEFAULT_SETTINGS.short_wait_threshold_s) -> bool:
    """True when ``delay_s`` should be slept in-task; False means end the attempt and let
    Airflow retry later (freeing the Celery worker slot) -- the two tiers of docs/architecture.md §5."""
    return delay_s <= threshold_s


# status -> (what it means, what the operator should check)
_FAIL_HINTS: dict[int, tuple[str, str]] = {
    400: (
        "the provider rejected the request",
        "check the query parameters and body (Azure: a nextLink must be POSTed with the original body)",
    ),
    401: (
        "the credentials were rejected",
        "check the secret/token in the Airflow connection and that it has not expired",
    ),
    403: (
        "the identity may not read this resource",
        "grant read access on this scope (Azure: Cost Management Reader; AWS: s3:GetObject and "
        "s3:ListBucket on the CUR bucket; GCP: BigQuery Data Viewer + Job User)",
    ),
    404: (
        "the resource does not exist",
        "check the bucket/report prefix, Azure scope or BigQuery table in the connection and DAG params",
    ),
    413: (
        "the response would be too large",
        "request a shorter window or use the provider's file exports",
    ),
}
_GENERIC_4XX = ("the provider rejected the request", "check the request parameters, then the provider's error body")
_UNEXPECTED = ("unexpected status", "check the URL; the client should have followed redirects")
_TRANSIENT_BUILTINS: tuple[type[BaseException], ...] = (
    ConnectionError,  # reset, refused, aborted, broken pipe, RemoteDisconnected
    TimeoutError,
    socket.gaierror,  # DNS hiccup
    ssl.SSLError,
    http.client.IncompleteRead,  # truncated body
    EOFError,  # gzip stream ended early
    zlib.error,
    gzip.BadGzipFile,
    json.JSONDecodeError,  # partial / invalid JSON page
)


def _phrase(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _backoff(
    what: str, attempt: int, settings: RetrySettings, rng: random.Random | None, status: int | None, url: str
) -> Decision:
    delay = settings.backoff.delay(attempt, rng)
    return Decision(Action.RETRY, delay, f"{what}; retrying after {delay:.2f} s (attempt {attempt})", status, url)


def _throttled(
    outcome: Outcome,
    status: int,
    attempt: int,
    settings: RetrySettings,
    rng: random.Random | None,
    now: datetime | None,
    url: str,
) -> Decision:
    waits = requested_waits(outcome.headers, now=now)
    if not waits:
        delay = settings.backoff.delay(attempt, rng)
        why = (
            f"{_phrase(status)} from {url} without a Retry-After header; "
            f"backing off {delay:.2f} s (attempt {attempt})"
        )
        return Decision(Action.WAIT, delay, why, status, url)
    asked = max(waits.values())
    jitter = (rng or random).uniform(0.0, settings.throttle_jitter_s) if settings.throttle_jitter_s else 0.0
    delay = min(settings.max_wait_s, asked + jitter)
    detail = ", ".join(f"{name}={value:g}" for name, value in sorted(waits.items()))
    why = f"{_phrase(status)} from {url}; provider asks to wait {asked:g} s (max of {detail}); waiting {delay:.2f} s"
    return Decision(Action.WAIT, delay, why, status, url)


def _classify_exception(
    outcome: Outcome,
    exc: BaseException,
    attempt: int,
    settings: RetrySettings,
    rng: random.Random | None,
    now: datetime | None,
    url: str,
) -> Decision:
    kind = type(exc).__name__
    response = getattr(exc, "response", None)
    if _HTTP_ERROR is not None and isinstance(exc, _HTTP_ERROR) and response is not None:
        # raise_for_status() already happened; classify by the status it carries.
        retyped = Outcome(
            status=response.status_code, headers=response.headers, url=outcome.url, method=outcome.method
        )
        return classify(retyped, attempt=attempt, settings=settings, rng=rng, now=now)
    if _BOTO_CLIENT_ERROR is not None and isinstance(exc, _BOTO_CLIENT_ERROR):
        meta = exc.response.get("ResponseMetadata", {})
        if meta.get("HTTPStatusCode"):
            retyped = Outcome(status=meta["HTTPStatusCode"], headers=meta.get("HTTPHeaders"),
                              url=outcome.url, method=outcome.method)
            return classify(retyped, attempt=attempt, settings=settings, rng=rng, now=now)
    if isinstance(exc, PermanentError):
        return Decision(Action.FAIL, 0.0, str(exc), exc.status, url)
    if isinstance(exc, ThrottledError):
        return Decision(Action.WAIT, min(settings.max_wait_s, exc.wait_s), str(exc), exc.status, url)
    if isinstance(exc, TransientError):
        return _backoff(f"{exc}", attempt, settings, rng, exc.status, url)
    if isinstance(exc, _LIB_PERMANENT):
        msg = (
            f"{outcome.method} {url}: expected a valid request, got {kind}: {exc}; "
            "fix the URL/headers built from the connection"
        )
        return Decision(Action.FAIL, 0.0, msg, None, url)
    if isinstance(exc, _TRANSIENT_BUILTINS + _LIB_TRANSIENT):
        return _backoff(f"{outcome.method} {url}: transient {kind}: {exc}", attempt, settings, rng, None, url)
    msg = (
        f"{outcome.method} {url}: expected a response or a known transient error, got unclassified {kind}: {exc}; "
        "if this error is transient, add its type to the error table in include/ingest/http/errors.py"
    )
    return Decision(Action.FAIL, 0.0, msg, None, url)


def classify(
    outcome: Outcome,
    *,
    attempt: int = 1,
    settings: RetrySettings = DEFAULT_SETTINGS,
    rng: random.Random | None = None,
    now: datetime | None = None,
) -> Decision:
    """Decide what to do with ``outcome`` on 1-based ``attempt``.

    ``rng`` drives the jitter (pass a seeded ``random.Random`` for determinism);
    ``now`` (timezone-aware) is used to turn a ``Retry-After`` HTTP-date into seconds.
    The returned ``Decision.url`` and every message contain the URL without secrets.
    """
    url = redact_url(outcome.url)
    if outcome.exception is not None:
        return _classify_exception(outcome, outcome.exception, attempt, settings, rng, now, url)
    status = outcome.status
    if status is None:
        raise ValueError("expected an Outcome with a status or an exception, got neither")
    if 200 <= status < 300:
        return Decision(Action.OK, 0.0, _phrase(status), status, url)
    if status in (429, 503):
        return _throttled(outcome, status, attempt, settings, rng, now, url)
    if status == 408 or 500 <= status < 600:
        return _backoff(f"{_phrase(status)} from {outcome.method} {url}", attempt, settings, rng, status, url)
    meaning, check = _FAIL_HINTS.get(status, _GENERIC_4XX if 400 <= status < 500 else _UNEXPECTED)
    msg = f"{outcome.method} {url}: expected a 2xx response, got {_phrase(status)} ({meaning}); {check}"
    return Decision(Action.FAIL, 0.0, msg, status, url)

