"""Retry-After and Azure x-ms-ratelimit-*-retry-after parsing."""

from datetime import datetime, timezone

import pytest

from include.ingest.http.retry_after import (
    is_retry_after_header,
    parse_retry_after,
    requested_wait,
    requested_waits,
)

NOW = datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("1.5", 1.5),
        ("0", 0.0),
        ("-3", 0.0),  # never a negative wait
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # date in the past: no wait
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Retry-After", True),
        ("retry-after", True),
        ("x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after", True),
        ("x-ms-ratelimit-microsoft.costmanagement-entity-retry-after", True),
        ("x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after", True),
        ("x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after", True),
        ("X-MS-RATELIMIT-MICROSOFT.CONSUMPTION-RETRY-AFTER", True),
        ("x-ms-ratelimit-microsoft.costmanagement-qpu-remaining", False),
        ("x-ms-ratelimit-remaining-microsoft.costmanagement-tenant-requests", False),
        ("Content-Type", False),
    ],
)
def test_is_retry_after_header(name, expected):
    assert is_retry_after_header(name) is expected


def test_requested_wait_takes_the_max_of_every_header():
    headers = {
        "Retry-After": "5",
        "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after": "12",
        "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after": "30",
        "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after": "7",
        "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after": "2",
        "x-ms-ratelimit-microsoft.costmanagement-qpu-consumed": "1",
    }
    assert requested_wait(headers, now=NOW) == 30.0
    assert set(requested_waits(headers, now=NOW)) == {
        "retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-entity-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-tenant-retry-after",
        "x-ms-ratelimit-microsoft.costmanagement-clienttype-retry-after",
    }


def test_requested_wait_accepts_pairs_and_http_dates():
    pairs = [("Retry-After", "Wed, 21 Oct 2015 07:29:00 GMT"), ("x-ms-ratelimit-microsoft.costmanagement-qpu-retry-after", "10")]
    assert requested_wait(pairs, now=NOW) == 60.0


def test_requested_wait_none_without_headers_or_with_garbage():
    assert requested_wait(None) is None
    assert requested_wait({}) is None
    assert requested_wait({"Retry-After": "later"}, now=NOW) is None


def test_requested_wait_works_with_requests_case_insensitive_dict():
    from requests.structures import CaseInsensitiveDict

    headers = CaseInsensitiveDict({"RETRY-AFTER": "4", "X-Ms-Ratelimit-Microsoft.Costmanagement-Qpu-Retry-After": "9"})
    assert requested_wait(headers, now=NOW) == 9.0


# The provider's clock, not ours: Retry-After's HTTP-date is measured from the Date header.
SERVER_DATE = "Wed, 21 Oct 2015 07:28:00 GMT"


@pytest.mark.parametrize("skew_s", [-300, 0, 300], ids=["behind", "in-sync", "ahead"])
def test_http_date_is_measured_from_the_response_date(skew_s):
    local_now = datetime.fromtimestamp(NOW.timestamp() + skew_s, timezone.utc)
    headers = {"Date": SERVER_DATE, "Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}
    assert requested_waits(headers, now=local_now) == {"retry-after": 30.0}
    assert requested_wait(list(headers.items()), now=local_now) == 30.0


def test_without_a_date_header_the_local_clock_is_the_reference():
    headers = {"Retry-After": "Wed, 21 Oct 2015 07:28:30 GMT"}
    assert requested_waits(headers, now=NOW) == {"retry-after": 30.0}
    assert requested_waits({**headers, "Date": "not a date"}, now=NOW) == {"retry-after": 30.0}
