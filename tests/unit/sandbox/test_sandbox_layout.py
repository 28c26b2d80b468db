"""CUR key layout and BigQuery value encodings."""
from __future__ import annotations

from sandbox.aws import cur_layout
from sandbox.gcp.jobs import make_token, read_token
from sandbox.gcp.rows import bq_micros, bq_timestamp

import pytest


def test_cur_keys_and_parse_back():
    key = cur_layout.cur1_data_key("cur", "rep", "2024-12", "abc", 2)
    assert key == "cur/rep/20241201-20250101/abc/rep-2.csv.gz"
    assert cur_layout.cur1_period_manifest_key("", "rep", "2024-01") == "rep/20240101-20240201/rep-Manifest.json"
    parsed = cur_layout.parse_key(key)
    assert (parsed.layout, parsed.report, parsed.month) == ("cur1", "rep", "2024-12")
    key2 = cur_layout.cur2_data_key("cur2", "exp", "2024-02", "2024-03-01T06:00:00.000Z-id", 1)
    assert key2 == "cur2/exp/data/BILLING_PERIOD=2024-02/2024-03-01T06:00:00.000Z-id/exp-00001.snappy.parquet"
    assert cur_layout.parse_key(key2).layout == "cur2" and cur_layout.parse_key("other/file.txt") is None


def test_bigquery_encodings():
    assert bq_timestamp(1_704_067_200_000_000) == "1.7040672E9"
    assert bq_timestamp(1_704_067_200_123_456) == "1.704067200123456E9"
    assert bq_micros(-1_250_000) == "-1.25" and bq_micros(1) == "0.000001" and bq_micros(0) == "0.0"
    assert bq_micros(3_000_000) == "3.0"


def test_page_tokens_are_bound_to_their_job():
    token = make_token("job", "j1", 40)
    assert read_token(token, "job", "j1") == 40
    with pytest.raises(ValueError, match="Invalid page token"):
        read_token(token, "job", "j2")
    with pytest.raises(ValueError, match="Invalid page token"):
        read_token("garbage!", "job", "j1")
