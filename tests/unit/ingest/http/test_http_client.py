"""resilient_request: the error table applied in a loop, with fake send/sleep (no network)."""

import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pytest

from include.ingest.http.client import resilient_request
from include.ingest.http.errors import Action, RetrySettings
from include.ingest.errors import PermanentError, ThrottledError, TransientError

URL = "https://api.example.com/rows?page=3&key=SECRET"
NOW = datetime(2024, 3, 1, tzinfo=timezone.utc)


@dataclass
class FakeResponse:
    status_code: int
    headers: dict = field(default_factory=dict)
    body: str = "{}"

    def json(self):
        return json.loads(self.body)


class Script:
    """send() that replays responses/exceptions in order, and a sleep() that records."""

    def __init__(self, *steps):
        self.steps = list(steps)
        self.calls = 0
        self.slept: list[float] = []

    def send(self):
        self.calls += 1
        step = self.steps.pop(0)
        if isinstance(step, BaseException):
            raise step
        return step

    def sleep(self, seconds):
        self.slept.append(seconds)


def run(script, **kwargs):
    kwargs.setdefault("settings", RetrySettings(throttle_jitter_s=0.0))
    return resilient_request(
        script.send, url=URL, sleep=script.sleep, rng=random.Random(0), clock=lambda: NOW, **kwargs
    )


def test_returns_parsed_body_after_short_waits_and_retries():
    script = Script(
        FakeResponse(429, {"x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "3"}),
        ConnectionResetError(104, "reset"),
        FakeResponse(200, body='{"rows": [1, 2'),  # partial JSON page -> retried
        FakeResponse(200, body='{"rows": [1, 2]}'),
    )
    seen = []
    result = run(script, parse=FakeResponse.json, on_decision=lambda n, d: seen.append((n, d.action)))
    assert result == {"rows": [1, 2]}
    assert script.calls == 4
    assert script.slept[0] == 3.0 and len(script.slept) == 3
    assert seen == [(1, Action.WAIT), (2, Action.RETRY), (3, Action.RETRY)]


def test_returns_response_without_parse():
    script = Script(FakeResponse(204))
    assert run(script).status_code == 204
    assert script.slept == []


def test_permanent_error_is_raised_at_once():
    script = Script(FakeResponse(403), FakeResponse(200))
    with pytest.raises(PermanentError) as info:
        run(script)
    assert script.calls == 1 and script.slept == []
    assert "403 Forbidden" in str(info.value) and "SECRET" not in str(info.value)


def test_long_wait_ends_the_attempt_with_throttled_error():
    script = Script(FakeResponse(429, {"Retry-After": "600"}), FakeResponse(200))
    with pytest.raises(ThrottledError) as info:
        run(script)
    assert info.value.wait_s == 600.0
    assert "longer than the in-task limit of 60 s" in str(info.value)
    assert script.calls == 1 and script.slept == []  # nothing slept in-task


def test_threshold_is_configurable():
    script = Script(FakeResponse(429, {"Retry-After": "90"}), FakeResponse(200))
    settings = RetrySettings(short_wait_threshold_s=120.0, throttle_jitter_s=0.0)
    assert run(script, settings=settings).status_code == 200
    assert script.slept == [90.0]


def test_running_out_of_attempts_raises_transient_error():
    script = Script(FakeResponse(500), FakeResponse(502), FakeResponse(504))
    with pytest.raises(TransientError) as info:
        run(script, max_attempts=3)
    assert not isinstance(info.value, ThrottledError)
    assert "504 Gateway Timeout" in str(info.value)
    assert str(info.value).startswith("expected a usable response within 3 attempts, got: ")
    assert script.calls == 3 and len(script.slept) == 2


def test_last_attempt_throttle_hands_the_wait_to_airflow():
    script = Script(FakeResponse(503, {"Retry-After": "5"}))
    with pytest.raises(ThrottledError) as info:
        run(script, max_attempts=1)
    assert info.value.wait_s == 5.0


def test_backoff_is_deterministic_for_a_seed():
    def slept():
        script = Script(FakeResponse(500), FakeResponse(500), FakeResponse(200))
        run(script)
        return script.slept

    assert slept() == slept()


def test_rejects_zero_attempts():
    with pytest.raises(ValueError, match="max_attempts >= 1"):
        run(Script(), max_attempts=0)
