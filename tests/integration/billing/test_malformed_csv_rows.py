"""One structurally bad row in a billing CSV costs that row only (issue 11 item 5).

Built from the real anonymized CUR sample (1,281 rows): line 101 gets an extra cell (a
comma inside an unquoted description, as hand-edited exports have), line 201 a cp1252 byte
(an export re-saved by a spreadsheet), line 301 loses its last cells. Before, the fast
reader's ArrowInvalid failed the whole chunk, named neither file nor line, and was retried.
"""
import csv
import gzip
import io
import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from include.ingest import landing
from include.ingest.billing import pipeline
from include.ingest.billing.normalize.aws_cur import normalize_batch
from include.ingest.billing.sources import aws_cur
from include.ingest.billing.store.ledger import SliceVersion

SAMPLE = Path(__file__).parents[2] / "fixtures/billing/aws-cur/sample-anonymous-aws-export-dataset.csv"
BAD_LINES = (101, 201, 301)


@pytest.fixture
def landing_zone(tmp_path, monkeypatch):
    monkeypatch.setenv("INGEST_LANDING_URL", (tmp_path / "landing").as_uri())


def _defective_sample() -> tuple[bytes, Decimal]:
    """The sample's bytes with three broken rows, and Σ UnblendedCost of the intact rows."""
    lines = SAMPLE.read_bytes().splitlines(keepends=True)
    lines[100] = lines[100].rstrip(b"\r\n") + b",an extra cell\n"
    lines[200] = lines[200].replace(b"Amazon", b"Amaz\xf6n", 1) if b"Amazon" in lines[200] \
        else lines[200].rstrip(b"\r\n") + b"\xf6\n"
    lines[300] = lines[300].rsplit(b",", 5)[0] + b"\n"
    rows = list(csv.DictReader(io.StringIO(SAMPLE.read_text())))
    intact = sum(Decimal(r["lineItem/UnblendedCost"]) for n, r in enumerate(rows, start=2)
                 if n not in BAD_LINES)
    return b"".join(lines), intact


@pytest.mark.parametrize("fmt", ["csv.gz", "csv"])
def test_a_malformed_row_is_quarantined_with_its_line_and_the_rest_is_kept(landing_zone, fmt):
    body, intact_cost = _defective_sample()
    sv = SliceVersion("aws", "123412340534", "2023-11", "malformed-v1", datetime(2023, 12, 1))
    target = landing.slice_dir("raw", "aws", sv.billing_account, sv.billing_period, sv.version) / f"f.{fmt}"
    landed = landing.land([gzip.compress(body) if fmt == "csv.gz" else body], target, f"s3://b/k.{fmt}")
    chunk = {"chunk_id": "00000", "format": fmt, "slice": sv.to_json()}
    read = aws_cur.read_batches if fmt == "csv.gz" else _plain_csv_batches

    result = pipeline.normalize(chunk, landed.to_json(), normalize_batch, read)

    assert result["rows_in"] == 1281
    quarantined = [json.loads(line) for line in Path(result["quarantine"].removeprefix("file://")).read_text().splitlines()]
    malformed = {q["line_number"]: q for q in quarantined if q["reason"].startswith("malformed CSV row")}
    assert sorted(malformed) == list(BAD_LINES)
    assert "expected 94 columns (the header's), got 95" in malformed[101]["reason"]
    assert "expected UTF-8 text" in malformed[201]["reason"] and "\\xf6" in malformed[201]["raw"]
    assert "got 89" in malformed[301]["reason"]
    assert result["rows_good"] + result["rows_quarantined"] == 1281
    assert result["rows_quarantined"] == len(quarantined) == 3
    import pyarrow.parquet as pq
    good = pq.read_table(result["normalized"].removeprefix("file://"))
    assert sum(good.column("BilledCost").to_pylist(), Decimal(0)) == intact_cost
    # lineage stays right after the skipped rows: every kept row names its own line
    assert set(good.column("x_source_line").to_pylist()) == set(range(2, 1283)) - set(BAD_LINES)


def _plain_csv_batches(path, fmt):
    """The fast reader on an uncompressed file (as the Azure export reader opens one)."""
    import pyarrow.csv as pacsv
    from airflow.sdk import ObjectStoragePath

    from include.ingest.billing.normalize.source import csv_convert_options, csv_read_options
    with ObjectStoragePath(path).open("rb") as raw:
        header = next(csv.reader([raw.readline().decode()]))
    with ObjectStoragePath(path).open("rb") as raw:
        yield from pacsv.open_csv(raw, read_options=pacsv.ReadOptions(
            column_names=header, skip_rows=1, block_size=csv_read_options().block_size),
            convert_options=csv_convert_options(header))
