"""AWS S3 CUR emulator, through boto3 against the sandbox's proxy endpoint."""
from __future__ import annotations

import csv
import gzip
import io
import json
from decimal import Decimal

import botocore.exceptions
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sandbox.aws.server import s3_client

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def s3(sandbox):
    return s3_client(sandbox.aws_url, retries={"total_max_attempts": 1})


def _manifest(s3, bucket, key):
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


def _cur1_rows(s3, bucket, keys):
    for key in keys:
        body = gzip.decompress(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        yield from csv.DictReader(io.StringIO(body.decode("utf-8")))


def test_listing_pages_through_every_cur_key(sandbox, s3):
    c = sandbox.config
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=c.aws_bucket, PaginationConfig={"PageSize": 5}))
    keys = [o["Key"] for p in pages for o in p.get("Contents", [])]
    assert len(pages) > 1 and len(keys) == len(set(keys))
    assert "cur/sandbox-cur/20240101-20240201/sandbox-cur-Manifest.json" in keys
    assert "cur2/sandbox-cur2/metadata/BILLING_PERIOD=2024-01/sandbox-cur2-Manifest.json" in keys
    assert any(k.startswith("cur2/sandbox-cur2/data/BILLING_PERIOD=2024-02/") and k.endswith(".snappy.parquet") for k in keys)


def test_legacy_manifest_shape_and_golden_totals_match_served_rows(sandbox, s3):
    c = sandbox.config
    manifest = _manifest(s3, c.aws_bucket, "cur/sandbox-cur/20240101-20240201/sandbox-cur-Manifest.json")
    assert manifest["billingPeriod"] == {"start": "20240101T000000.000Z", "end": "20240201T000000.000Z"}
    assert manifest["compression"] == "GZIP" and manifest["contentType"] == "text/csv"
    assert {"category": "lineItem", "name": "UnblendedCost", "type": "BigDecimal"} in manifest["columns"]
    golden = sandbox.golden("aws-cur", "2024-01")
    assert manifest["assemblyId"] == golden["version"]
    assert len(manifest["reportKeys"]) == 3  # 600 rows, 250 per file
    assert all(k.startswith(f"cur/sandbox-cur/20240101-20240201/{manifest['assemblyId']}/") for k in manifest["reportKeys"])
    rows = list(_cur1_rows(s3, c.aws_bucket, manifest["reportKeys"]))
    assert len(rows) == golden["rows"] == 600
    for column, expected in golden["sums"].items():
        served = sum((Decimal(r[column]) for r in rows if r[column] != ""), Decimal(0))
        assert served == Decimal(expected), column
    assert any(r["lineItem/LineItemType"] == "EdpDiscount" and r["lineItem/BlendedCost"] == "" for r in rows)
    ids = [r["identity/LineItemId"] for r in rows]
    assert len(set(ids)) < len(ids)  # LineItemId repeats within a file, as in real CUR
    assert rows[0]["lineItem/UsageStartDate"].endswith(".000Z")


def test_cur2_parquet_snake_case_maps_and_golden(sandbox, s3):
    c = sandbox.config
    key = "cur2/sandbox-cur2/metadata/BILLING_PERIOD=2024-02/sandbox-cur2-Manifest.json"
    manifest = _manifest(s3, c.aws_bucket, key)
    golden = sandbox.golden("aws-cur2", "2024-02")
    assert manifest["executionId"] == golden["version"]
    total, rows = Decimal(0), 0
    for uri in manifest["dataFiles"]:
        bucket, _, data_key = uri[len("s3://"):].partition("/")
        table = pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=data_key)["Body"].read()))
        assert "line_item_unblended_cost" in table.column_names and "lineItem/UnblendedCost" not in table.column_names
        assert pa.types.is_map(table.schema.field("resource_tags").type)
        assert table.schema.field("discount").type.item_type == pa.float64()
        rows += table.num_rows
        total += sum((Decimal(repr(v)) for v in table.column("line_item_unblended_cost").to_pylist()), Decimal(0))
    assert rows == golden["rows"]
    assert total == Decimal(golden["sums"]["line_item_unblended_cost"])


def test_restatement_replaces_period_manifest_and_keeps_old_assembly(sandbox, s3):
    c = sandbox.config
    key = "cur/sandbox-cur/20240201-20240301/sandbox-cur-Manifest.json"
    before = _manifest(s3, c.aws_bucket, key)
    new = sandbox.restate("aws", "2024-02", layout="cur1")
    after = _manifest(s3, c.aws_bucket, key)
    assert after["assemblyId"] == new["version"] != before["assemblyId"]
    assert new["version_number"] == 1 and new["rows"] > 600  # late charges
    assert sandbox.golden("aws-cur", "2024-02", version=0)["version"] == before["assemblyId"]
    s3.head_object(Bucket=c.aws_bucket, Key=before["reportKeys"][0])  # old assembly stays (CREATE_NEW_REPORT)
    rows = list(_cur1_rows(s3, c.aws_bucket, after["reportKeys"]))
    assert len(rows) == new["rows"]
    assert sum((Decimal(r["lineItem/UnblendedCost"]) for r in rows), Decimal(0)) == Decimal(new["sums"]["lineItem/UnblendedCost"])


@pytest.mark.parametrize("kind, status", [("503", 503), ("500", 500), ("429", 429)])
def test_status_faults_answer_in_s3_error_format(sandbox, s3, kind, status):
    sandbox.set_faults(f"aws.get:{kind}:first=1")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object(Bucket=sandbox.config.aws_bucket, Key="cur/sandbox-cur/20240101-20240201/sandbox-cur-Manifest.json")
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == status
    s3.get_object(Bucket=sandbox.config.aws_bucket, Key="cur/sandbox-cur/20240101-20240201/sandbox-cur-Manifest.json")
    log = sandbox.requests("aws", "aws.get")
    assert [e["fault"] for e in log[-2:]] == [kind, None]


def test_reset_and_truncate_break_the_body(sandbox, s3):
    c = sandbox.config
    key = sandbox.golden("aws-cur", "2024-01")["info"]["reportKeys"][0]
    sandbox.set_faults("aws.get:reset:first=1")
    with pytest.raises(Exception) as info:
        s3.get_object(Bucket=c.aws_bucket, Key=key)["Body"].read()
    assert "reset" in repr(info.value).lower() or "incomplete" in repr(info.value).lower() or "closed" in repr(info.value).lower()
    sandbox.set_faults("aws.get:truncate:first=1")
    body = s3.get_object(Bucket=c.aws_bucket, Key=key)["Body"].read()
    with pytest.raises((EOFError, OSError)):
        gzip.decompress(body)
    gzip.decompress(s3.get_object(Bucket=c.aws_bucket, Key=key)["Body"].read())  # next request is whole


def test_repeated_continuation_token_fault(sandbox, s3):
    c = sandbox.config
    first = s3.list_objects_v2(Bucket=c.aws_bucket, MaxKeys=3)
    token = first["NextContinuationToken"]
    sandbox.set_faults("aws.list:repeat-token:first=1")
    second = s3.list_objects_v2(Bucket=c.aws_bucket, MaxKeys=3, ContinuationToken=token)
    assert second["NextContinuationToken"] == token


def test_restate_fault_changes_manifest_between_two_gets(sandbox, s3):
    c = sandbox.config
    key = "cur/sandbox-cur/20240101-20240201/sandbox-cur-Manifest.json"
    manifest = _manifest(s3, c.aws_bucket, key)
    sandbox.set_faults("aws.get:restate:first=1")
    s3.get_object(Bucket=c.aws_bucket, Key=manifest["reportKeys"][0])["Body"].read()  # old file still served
    assert _manifest(s3, c.aws_bucket, key)["assemblyId"] != manifest["assemblyId"]


def test_admin_endpoints_on_the_proxy(sandbox):
    import requests

    base = sandbox.aws_url
    assert requests.get(f"{base}/_sandbox/health", timeout=5).json() == {"ok": True, "server": "aws"}
    resp = requests.post(f"{base}/_sandbox/faults", json={"rules": [{"endpoint": "aws.head", "fault": "502"}]}, timeout=5)
    assert resp.status_code == 200 and resp.json()["rules"][0]["fault"] == "502"
    assert requests.post(f"{base}/_sandbox/faults", json={"rules": [{"endpoint": "x", "fault": "nope"}]}, timeout=5).status_code == 400
    goldens = requests.get(f"{base}/_sandbox/golden", params={"provider": "aws-cur", "period": "2024-01", "latest": "1"}, timeout=5).json()
    assert len(goldens["goldens"]) == 1 and isinstance(goldens["goldens"][0]["sums"]["lineItem/UnblendedCost"], str)
    assert requests.get(f"{base}/_sandbox/endpoints", timeout=5).json()["aws"]["bucket"] == sandbox.config.aws_bucket
    assert requests.get(f"{base}/_sandbox/requests", params={"endpoint": "aws.*"}, timeout=5).json()["count"] > 0


def test_403_fault_is_a_permanent_s3_access_denied(sandbox, s3):
    c = sandbox.config
    sandbox.set_faults("aws.get:403:first=1")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.get_object(Bucket=c.aws_bucket, Key="cur/sandbox-cur/20240101-20240201/sandbox-cur-Manifest.json")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
