"""One row of the error table per test (include/ingest/http/errors.py)."""

import gzip
import http.client
import json
import random
import zlib
from datetime import datetime, timezone

import pytest
import redis
import requests

from include.ingest.http.backoff import Backoff
from include.ingest.http.errors import (
    Action,
    Outcome,
    RetrySettings,
    classify,
    is_short_wait,
)
from include.ingest.errors import PermanentError, ThrottledError, TransientError

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=timezone.utc)
URL = "https://management.azure.com/providers/Microsoft.Billing/billingAccounts/123/providers/Microsoft.CostManagement/query?api-version=2023-11-01&$skiptoken=AQAAAA%3D%3D&sig=SECRET"
NO_JITTER = RetrySettings(throttle_jitter_s=0.0)


def decide(status=None, headers=None, exception=None, attempt=1, settings=NO_JITTER, seed=0):
    outcome = Outcome(status=status, headers=headers, exception=exception, url=URL, method="POST")
    return classify(outcome, attempt=attempt, settings=settings, rng=random.Random(seed), now=NOW)


# --- success ---------------------------------------------------------------------------

@pytest.mark.parametrize("status", [200, 201, 204])
def test_2xx_is_ok(status):
    d = decide(status)
    assert (d.action, d.delay_s) == (Action.OK, 0.0)


# --- WAIT: 429 / 503 -------------------------------------------------------------------

def test_429_with_retry_after_seconds():
    d = decide(429, {"Retry-After": "17"})
    assert d.action is Action.WAIT
    assert d.delay_s == 17.0
    assert "429 Too Many Requests" in d.reason and "retry-after=17" in d.reason


def test_429_with_retry_after_http_date():
    d = decide(429, {"Retry-After": "Fri, 01 Mar 2024 12:02:00 GMT"})
    assert (d.action, d.delay_s) == (Action.WAIT, 120.0)


def test_429_with_azure_headers_takes_the_max():
    headers = {
        "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "12",
        "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after": "45",
        "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after": "20",
        "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after": "3",
        "Retry-After": "10",
    }
    d = decide(429, headers)
    assert (d.action, d.delay_s) == (Action.WAIT, 45.0)
    assert "entity-retry-after=45" in d.reason


def test_429_without_headers_falls_back_to_backoff():
    settings = RetrySettings(backoff=Backoff(base_s=2.0, cap_s=60.0), throttle_jitter_s=0.0)
    d = decide(429, {}, attempt=3, settings=settings, seed=5)
    assert d.action is Action.WAIT
    assert 0.0 <= d.delay_s <= 8.0
    assert d.delay_s == Backoff(2.0, 60.0).delay(3, random.Random(5))  # deterministic
    assert "without a Retry-After header" in d.reason


def test_503_is_treated_like_429():
    d = decide(503, {"Retry-After": "30"})
    assert (d.action, d.delay_s) == (Action.WAIT, 30.0)
    assert "503 Service Unavailable" in d.reason


def test_throttle_jitter_is_added_and_wait_is_capped():
    jittered = decide(429, {"Retry-After": "10"}, settings=RetrySettings(throttle_jitter_s=2.0), seed=3)
    assert 10.0 <= jittered.delay_s <= 12.0
    capped = decide(429, {"Retry-After": "86400"}, settings=RetrySettings(max_wait_s=900.0, throttle_jitter_s=0.0))
    assert capped.delay_s == 900.0


# --- RETRY -----------------------------------------------------------------------------

@pytest.mark.parametrize("status", [500, 502, 504, 408])
def test_other_5xx_and_408_retry_with_backoff(status):
    d = decide(status, attempt=2, seed=1)
    assert d.action is Action.RETRY
    assert 0.0 <= d.delay_s <= RetrySettings().backoff.ceiling(2)
    assert str(status) in d.reason


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionResetError(104, "Connection reset by peer"),
        ConnectionRefusedError(111, "refused"),
        http.client.RemoteDisconnected("Remote end closed connection without response"),
        TimeoutError("read timed out"),
        http.client.IncompleteRead(b"partial", 1000),  # truncated body
        EOFError("Compressed file ended before the end-of-stream marker was reached"),  # truncated gzip
        zlib.error("Error -3 while decompressing data: invalid stored block lengths"),
        gzip.BadGzipFile("Not a gzipped file (b'<h')"),
        json.JSONDecodeError("Unterminated string", '{"rows": [["a', 10),  # partial JSON page
        requests.exceptions.ConnectionError("reset"),
        requests.exceptions.ReadTimeout("timed out"),
        requests.exceptions.ChunkedEncodingError("Connection broken: IncompleteRead"),
        requests.exceptions.ContentDecodingError("bad gzip"),
        TransientError("expected 1000 rows on page 3, got 412; retry the page"),
        # the shared rate limiter's Redis restarting / failing over mid-fetch
        redis.exceptions.ConnectionError("Error 111 connecting to redis:6379. Connection refused."),
        redis.exceptions.TimeoutError("Timeout reading from socket"),
        redis.exceptions.BusyLoadingError("Redis is loading the dataset in memory"),
    ],
    ids=lambda e: f"{type(e).__module__.split('.')[0]}.{type(e).__name__}",
)
def test_transient_exceptions_retry(exc):
    d = decide(exception=exc, attempt=1, seed=2)
    assert d.action is Action.RETRY
    assert 0.0 <= d.delay_s <= 1.0


def test_exception_wins_over_a_2xx_status():
    # 200 whose body then failed to parse is a transient failure, not a success
    d = decide(200, exception=json.JSONDecodeError("Expecting value", "", 0))
    assert d.action is Action.RETRY


def test_our_throttled_error_becomes_wait():
    d = decide(exception=ThrottledError("slow down", wait_s=42.0, status=429))
    assert (d.action, d.delay_s, d.status) == (Action.WAIT, 42.0, 429)


def test_requests_http_error_is_classified_by_its_status():
    response = requests.Response()
    response.status_code = 429
    response.headers["Retry-After"] = "8"
    d = decide(exception=requests.HTTPError("429", response=response))
    assert (d.action, d.delay_s) == (Action.WAIT, 8.0)


# --- FAIL ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("status", "phrase", "hint"),
    [
        (401, "401 Unauthorized", "check the secret/token in the Airflow connection"),
        (403, "403 Forbidden", "Cost Management Reader"),
        (404, "404 Not Found", "check the bucket/report prefix, Azure scope or BigQuery table"),
        (400, "400 Bad Request", "nextLink must be POSTed with the original body"),
        (413, "413 Request Entity Too Large", "shorter window"),
        (422, "422 Unprocessable Entity", "check the request parameters"),
        (302, "302 Found", "redirects"),
    ],
)
def test_4xx_fails_fast_with_a_clear_message(status, phrase, hint):
    d = decide(status)
    assert (d.action, d.delay_s, d.status) == (Action.FAIL, 0.0, status)
    assert d.reason.startswith("POST https://management.azure.com/providers/Microsoft.Billing/")
    assert f"expected a 2xx response, got {phrase}" in d.reason
    assert hint in d.reason
    # the URL is named, but without query secrets
    assert "SECRET" not in d.reason and "AQAAAA" not in d.reason
    assert "api-version=2023-11-01" in d.reason and "sig=***" in d.reason


@pytest.mark.parametrize(
    "exc",
    [requests.exceptions.MissingSchema("No scheme supplied"), requests.exceptions.InvalidURL("bad")],
    ids=lambda e: type(e).__name__,
)
def test_invalid_request_fails(exc):
    d = decide(exception=exc)
    assert d.action is Action.FAIL
    assert "expected a valid request" in d.reason


def test_unknown_exception_fails_and_says_where_to_add_it():
    d = decide(exception=KeyError("rows"))
    assert d.action is Action.FAIL
    assert "unclassified KeyError" in d.reason and "include/ingest/http/errors.py" in d.reason


def test_other_redis_errors_still_fail():
    # a script bug or a wrong key type is not fixed by retrying
    d = decide(exception=redis.exceptions.ResponseError("WRONGTYPE Operation against a key"))
    assert d.action is Action.FAIL and "unclassified ResponseError" in d.reason


def test_our_permanent_error_fails():
    d = decide(exception=PermanentError("expected scope X, got Y; fix the params", status=400))
    assert (d.action, d.reason) == (Action.FAIL, "expected scope X, got Y; fix the params")


def test_outcome_without_status_or_exception_is_a_programming_error():
    with pytest.raises(ValueError, match="expected an Outcome with a status or an exception"):
        classify(Outcome(url=URL))


# --- tiers and exceptions --------------------------------------------------------------

def test_short_and_long_waits():
    assert is_short_wait(0.0) and is_short_wait(60.0)
    assert not is_short_wait(60.5)
    assert is_short_wait(100.0, threshold_s=120.0)


def test_decision_to_exception_types_and_attributes():
    wait = decide(429, {"Retry-After": "90"}).to_exception()
    assert isinstance(wait, ThrottledError) and wait.wait_s == 90.0 and wait.status == 429
    assert isinstance(decide(500).to_exception(), TransientError)
    perm = decide(403).to_exception()
    assert isinstance(perm, PermanentError) and "403 Forbidden" in str(perm) and "SECRET" not in perm.url
    with pytest.raises(ValueError, match="OK needs no exception"):
        decide(200).to_exception()
