"""IngestRetryPolicy against Airflow 3.3's real RetryPolicy/RetryDecision API."""

from datetime import timedelta

import pytest
from airflow.sdk import RetryAction, RetryDecision, RetryPolicy

from include.ingest.errors import PermanentError, ThrottledError, TransientError
from include.ingest.retry_policy import IngestRetryPolicy


def test_is_an_airflow_retry_policy():
    assert isinstance(IngestRetryPolicy(), RetryPolicy)


def test_throttled_error_retries_after_the_wait_rounded_up():
    decision = IngestRetryPolicy().evaluate(ThrottledError("429 from Azure", wait_s=90.2), try_number=1, max_tries=5)
    assert isinstance(decision, RetryDecision)
    assert decision.action is RetryAction.RETRY
    assert decision.retry_delay == timedelta(seconds=91)
    assert "throttled (try 1/5)" in decision.reason and "429 from Azure" in decision.reason


def test_throttle_delay_is_clamped():
    policy = IngestRetryPolicy(min_delay_s=5, max_delay_s=600)
    assert policy.evaluate(ThrottledError("x", wait_s=0), 1, 3).retry_delay == timedelta(seconds=5)
    assert policy.evaluate(ThrottledError("x", wait_s=7200), 1, 3).retry_delay == timedelta(seconds=600)


def test_permanent_error_fails_without_retrying():
    exc = PermanentError("GET https://x/y: expected a 2xx response, got 403 Forbidden; grant read access")
    decision = IngestRetryPolicy().evaluate(exc, try_number=1, max_tries=5, context=None)
    assert decision.action is RetryAction.FAIL
    assert "403 Forbidden" in decision.reason


@pytest.mark.parametrize("exc", [TransientError("502"), ValueError("bug"), ConnectionResetError()])
def test_everything_else_uses_the_task_default(exc):
    assert IngestRetryPolicy().evaluate(exc, try_number=2, max_tries=5) == RetryDecision.default()


def test_wrapped_errors_are_found_through_the_cause_chain():
    try:
        try:
            raise ThrottledError("qpu quota", wait_s=30)
        except ThrottledError as inner:
            raise RuntimeError("page 4 failed") from inner
    except RuntimeError as outer:
        decision = IngestRetryPolicy().evaluate(outer, try_number=1, max_tries=3)
    assert decision.action is RetryAction.RETRY and decision.retry_delay == timedelta(seconds=30)


def test_serialize_round_trip():
    policy = IngestRetryPolicy(min_delay_s=2, max_delay_s=120)
    data = policy.serialize()
    assert data["__type"].endswith("IngestRetryPolicy")
    again = IngestRetryPolicy.deserialize(data)
    assert (again.min_delay_s, again.max_delay_s) == (2.0, 120.0)


def test_rejects_inverted_bounds():
    with pytest.raises(ValueError, match="expected 0 <= min_delay_s <= max_delay_s"):
        IngestRetryPolicy(min_delay_s=10, max_delay_s=1)
