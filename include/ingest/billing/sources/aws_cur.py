"""AWS Cost and Usage Reports from S3: legacy CUR (csv.gz) and CUR 2.0 Data Exports (Parquet).

billing-formats.md §1–2. The period manifest names the current delivery (legacy
`assemblyId` → `reportKeys`; CUR 2.0 `executionId` → `dataFiles`); that id is the slice
version, and the manifest's S3 LastModified orders versions. Each data file is one chunk.
Files are streamed to the landing zone unchanged (never held in memory) and read back in
Arrow batches; the file's own header wins over the manifest's column list.
"""
from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from airflow.sdk import ObjectStoragePath

from include.ingest import landing
from include.ingest.billing.normalize.source import csv_convert_options, csv_read_options
from include.ingest.http import throttle_log
from include.ingest.http.client import resilient_request
from include.ingest.errors import PermanentError, TransientError
from include.ingest.billing.store.ledger import SliceVersion

LAYOUTS = ("cur1", "cur2")
STREAM_BLOCK = 1 << 20
PARQUET_BATCH_ROWS = 50_000
# ~13k CUR rows per batch: per-batch overhead stays under 1 µs/row, and the reader (which
# reads a few blocks ahead) holds tens of MiB instead of hundreds.
READ_BLOCK = 8 << 20


@dataclass(frozen=True)
class CurReport:
    """Where a report lives: bucket, prefix, report (legacy) or export (CUR 2.0) name."""

    bucket: str
    prefix: str
    name: str
    layout: str  # cur1 | cur2

    def manifest_key(self, period: str) -> str:
        if self.layout == "cur1":
            start = datetime.strptime(period, "%Y-%m")
            end = datetime(start.year + start.month // 12, start.month % 12 + 1, 1)
            folder = f"{start:%Y%m%d}-{end:%Y%m%d}"
            parts = (self.prefix, self.name, folder, f"{self.name}-Manifest.json")
        elif self.layout == "cur2":
            parts = (self.prefix, self.name, "metadata", f"BILLING_PERIOD={period}",
                     f"{self.name}-Manifest.json")
        else:
            raise PermanentError(f"expected layout one of {LAYOUTS}, got {self.layout!r}")
        return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class _Done:
    """What a successful S3 step hands back to the retry loop (it only reads status)."""

    status_code, headers = 200, {}

    def __init__(self, value):
        self.value = value


def _s3_call(fn, url: str):
    """Run one S3 step under the error table (short waits in-task, long ones end the try)."""
    return resilient_request(lambda: _Done(fn()), url=url, max_attempts=4,
                             on_decision=throttle_log.on_decision_for("aws")).value


def find_delivery(s3, report: CurReport, period: str, billing_account: str) -> tuple[SliceVersion, list[dict], dict]:
    """Read the period manifest: (slice version, chunk descriptors, source facts)."""
    key = report.manifest_key(period)
    url = f"s3://{report.bucket}/{key}"

    def read_manifest():
        obj = s3.get_object(Bucket=report.bucket, Key=key)
        return obj["LastModified"], json.loads(obj["Body"].read())
    modified, manifest = _s3_call(read_manifest, url)
    if report.layout == "cur1":
        version, keys = manifest.get("assemblyId"), manifest.get("reportKeys") or []
        account = manifest.get("account")
    else:
        version, keys = manifest.get("executionId"), manifest.get("dataFiles") or []
        arn = manifest.get("exportArn", "")
        account = arn.split(":")[4] if arn.count(":") >= 5 else None
    if not version:
        raise PermanentError(f"{url}: expected a manifest with "
                             f"{'assemblyId' if report.layout == 'cur1' else 'executionId'}, "
                             f"got keys {sorted(manifest)}; is the layout param right?")
    if account and account != billing_account:
        raise PermanentError(f"{url}: expected billing account {billing_account}, got "
                             f"{account} in the manifest; fix the billing_account param")
    sv = SliceVersion("aws", billing_account, period, version, modified)
    chunks = []
    for n, data_key in enumerate(keys):
        data_key = data_key.split(f"s3://{report.bucket}/", 1)[-1].lstrip("/")
        chunks.append({"chunk_id": f"{n:05d}", "bucket": report.bucket, "key": data_key,
                       "format": "parquet" if data_key.endswith(".parquet") else "csv.gz"})
    return sv, chunks, {"manifest": url, "layout": report.layout, "files": len(keys),
                        "compression": manifest.get("compression")}


def _check_integrity(path: ObjectStoragePath, fmt: str, expected_size: int | None, size: int,
                     source: str) -> None:
    """A truncated gzip or Parquet file is a transient fetch failure, caught here before
    anything parses it (the sandbox and real networks both cut bodies short)."""
    if expected_size is not None and size != expected_size:
        raise TransientError(f"{source}: expected {expected_size} bytes (Content-Length), got "
                             f"{size}; fetching again")
    try:
        if fmt == "csv.gz":
            with path.open("rb") as raw, gzip.GzipFile(fileobj=raw) as unzipped:
                while unzipped.read(STREAM_BLOCK):
                    pass
        else:
            with path.open("rb") as raw:
                pq.ParquetFile(raw).metadata  # footer present and readable
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError, pa.ArrowInvalid) as exc:
        raise TransientError(f"{path}: expected a complete {fmt} file, got {type(exc).__name__}: "
                             f"{exc}; fetching again") from exc


def fetch(s3, chunk: dict, sv: SliceVersion) -> landing.LandedFile:
    """Land the chunk's S3 object unchanged (streamed), verified complete; idempotent."""
    source = f"s3://{chunk['bucket']}/{chunk['key']}"
    target = landing.slice_dir("raw", sv.provider, sv.billing_account, sv.billing_period,
                               sv.version) / f"{chunk['chunk_id']}-{chunk['key'].rsplit('/', 1)[-1]}"
    if (done := landing.already_landed(target)) is not None:
        return done

    def download():
        obj = s3.get_object(Bucket=chunk["bucket"], Key=chunk["key"])
        expected = obj.get("ContentLength")
        return landing.land(obj["Body"].iter_chunks(STREAM_BLOCK), target, source,
                            check=lambda written, size: _check_integrity(
                                written, chunk["format"], expected, size, source))
    return _s3_call(download, source)


def read_batches(path: str, fmt: str) -> Iterator[pa.RecordBatch]:
    """Stream the landed file as Arrow batches of text (CSV) or typed (Parquet) columns."""
    file = ObjectStoragePath(path)
    if fmt == "parquet":
        with file.open("rb") as raw:
            yield from pq.ParquetFile(raw).iter_batches(batch_size=PARQUET_BATCH_ROWS)
        return
    with file.open("rb") as raw, gzip.GzipFile(fileobj=raw) as text:
        header = pacsv.open_csv(text, read_options=pacsv.ReadOptions(block_size=1 << 16)).schema.names
    with file.open("rb") as raw:
        stream = pa.CompressedInputStream(pa.PythonFile(raw, mode="r"), "gzip")
        reader = pacsv.open_csv(stream, read_options=csv_read_options(READ_BLOCK),
                                convert_options=csv_convert_options(header))
        yield from reader


def s3_client(conn_id: str):
    """An S3 client from an Airflow AWS connection (`endpoint_url` in its extra points it
    at the sandbox or any S3-compatible store). botocore's own retries are off: the error
    table decides (one place for retry/wait/fail)."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from botocore.config import Config

    config = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=10,
                    read_timeout=120)
    return AwsBaseHook(aws_conn_id=conn_id, client_type="s3", config=config).get_conn()
