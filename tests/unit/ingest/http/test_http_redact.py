"""URLs in messages never carry credentials."""

import pytest

from include.ingest.http.redact import redact_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://acct.blob.core.windows.net/exports/part0.csv?sv=2022-11-02&sig=abc%2Bdef&se=2030",
            "https://acct.blob.core.windows.net/exports/part0.csv?sv=***&sig=***&se=***",
        ),
        (
            "https://bucket.s3.amazonaws.com/cur/a.csv.gz?X-Amz-Signature=deadbeef&X-Amz-Credential=AKIA",
            "https://bucket.s3.amazonaws.com/cur/a.csv.gz?X-Amz-Signature=***&X-Amz-Credential=***",
        ),
        (
            "https://user:pass@example.com:8443/p?api-version=2023-11-01&access_token=t",
            "https://example.com:8443/p?api-version=2023-11-01&access_token=***",
        ),
        ("https://bigquery.googleapis.com/bigquery/v2/projects/p/queries/j?maxResults=500&pageToken=tok",
         "https://bigquery.googleapis.com/bigquery/v2/projects/p/queries/j?maxResults=500&pageToken=***"),
        ("https://example.com/no-query", "https://example.com/no-query"),
        ("", "<no URL>"),
        (None, "<no URL>"),
    ],
)
def test_redact_url(url, expected):
    assert redact_url(url) == expected


def test_unparseable_url_is_not_echoed():
    assert redact_url("http://[::1/secret?key=x") == "<unparseable URL>"
