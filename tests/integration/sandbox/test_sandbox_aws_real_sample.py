"""Must-show 3: the real anonymized CUR sample served as a bucket with a manifest, read back
byte-identical (after gunzip), plus a verbatim bucket tree from --data."""
from __future__ import annotations

import csv
import gzip
import io
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox import Sandbox
from sandbox.aws.server import s3_client

pytestmark = pytest.mark.integration
SAMPLE = Path(__file__).resolve().parents[2] / "fixtures/billing/aws-cur/sample-anonymous-aws-export-dataset.csv"


@pytest.fixture(scope="module")
def real_sandbox(tmp_path_factory):
    if not SAMPLE.exists():
        pytest.skip(f"expected the shared CUR sample at {SAMPLE}")
    data = tmp_path_factory.mktemp("data")
    (data / "aws-cur").mkdir()
    shutil.copy(SAMPLE, data / "aws-cur" / SAMPLE.name)
    tree = data / "aws" / "customer-cur-bucket" / "exports" / "team-a"
    tree.mkdir(parents=True)
    (tree / "note.json").write_bytes(b'{"kept": "verbatim"}\n')
    with Sandbox(seed=1, scale=10, months=(), providers=("aws",), data_dir=data) as sb:
        yield sb


def test_real_cur_sample_served_with_manifest_and_byte_identical(real_sandbox):
    sb = real_sandbox
    s3 = s3_client(sb.aws_url)
    bucket = sb.config.aws_bucket
    manifest = json.loads(s3.get_object(Bucket=bucket, Key="user/user-cur/20231101-20231201/user-cur-Manifest.json")["Body"].read())
    assert manifest["billingPeriod"] == {"start": "20231101T000000.000Z", "end": "20231201T000000.000Z"}
    assert manifest["compression"] == "GZIP" and len(manifest["reportKeys"]) == 1
    header = SAMPLE.read_text().splitlines()[0].split(",")
    assert [f"{c['category']}/{c['name']}" for c in manifest["columns"]] == header
    served = gzip.decompress(s3.get_object(Bucket=bucket, Key=manifest["reportKeys"][0])["Body"].read())
    assert served == SAMPLE.read_bytes()
    rows = list(csv.DictReader(io.StringIO(served.decode())))
    total = sum((Decimal(r["lineItem/UnblendedCost"]) for r in rows if r["lineItem/UnblendedCost"]), Decimal(0))
    golden = sb.golden("aws-cur", "2023-11")
    assert golden["version"] == manifest["assemblyId"]
    assert len(rows) == golden["rows"] == 1281
    assert total == Decimal(golden["sums"]["lineItem/UnblendedCost"]) == Decimal("1.68230869740")


def test_bucket_tree_from_data_dir_is_served_verbatim(real_sandbox):
    s3 = s3_client(real_sandbox.aws_url)
    body = s3.get_object(Bucket="customer-cur-bucket", Key="exports/team-a/note.json")["Body"].read()
    assert body == b'{"kept": "verbatim"}\n'
