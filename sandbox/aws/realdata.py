"""Serve a user's own AWS files: a CUR bucket tree verbatim, or loose CUR CSVs with a manifest.

- ``upload_tree(s3, root)``: every ``root/<bucket>/<key...>`` file becomes ``s3://<bucket>/<key>``
  byte for byte (a real CUR bucket copied to disk serves exactly as it was).
- ``publish_cur_csv(s3, bucket, paths, ...)``: legacy CUR CSV files (plain or ``.gz``) of one
  billing period become one assembly: each file is gzipped unchanged (gunzip gives back the
  exact bytes), and both manifests are written. The billing period comes from the file's
  ``bill/BillingPeriodStartDate`` column; the assemblyId is derived from the files' sha256 so
  the same files always give the same version token. The golden sums every cost column
  present in the header, read as Decimal.
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import shutil
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from sandbox.aws import cur_layout
from sandbox.aws.generator import COST_COLUMNS
from sandbox.golden import GoldenSlice

PROVIDER_REAL = "aws-cur"


def upload_tree(s3: Any, root: Path) -> list[str]:
    """Upload ``root/<bucket>/...``; returns the s3:// URIs written."""
    written = []
    for bucket_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        _ensure_bucket(s3, bucket_dir.name)
        for path in sorted(p for p in bucket_dir.rglob("*") if p.is_file()):
            key = path.relative_to(bucket_dir).as_posix()
            s3.upload_file(str(path), bucket_dir.name, key)
            written.append(f"s3://{bucket_dir.name}/{key}")
    return written


def _ensure_bucket(s3: Any, bucket: str) -> None:
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        s3.create_bucket(Bucket=bucket)


def _open_text(path: Path) -> io.TextIOBase:
    raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def billing_month(path: Path) -> str:
    """YYYY-MM of the first data row's bill/BillingPeriodStartDate."""
    return billing_slice(path)[0]


def billing_slice(path: Path) -> tuple[str, str]:
    """(YYYY-MM, payer account) of the first data row: the slice a real CUR file belongs to,
    so its manifest names the payer as AWS's does."""
    with _open_text(path) as text:
        reader = csv.reader(text)
        header = next(reader)
        if "bill/BillingPeriodStartDate" not in header:
            raise ValueError(
                f"expected a legacy CUR CSV with a bill/BillingPeriodStartDate column in {path}, "
                f"got header starting {header[:5]}; put CUR 2.0 or other files under aws/<bucket>/ instead"
            )
        column = header.index("bill/BillingPeriodStartDate")
        first = next(reader, None)
        if first is None:
            raise ValueError(f"expected at least one data row in {path}, got none")
        payer = first[header.index("bill/PayerAccountId")] if "bill/PayerAccountId" in header else ""
        return first[column][:7], payer or "000000000000"


def publish_cur_csv(
    s3: Any, bucket: str, paths: Iterable[Path], *, prefix: str = "user", report: str = "user-cur",
    account: str | None = None, workdir: Path | None = None,
) -> GoldenSlice:
    """Publish the files (all of one billing period and payer) as one assembly; returns its
    golden. The manifest's account is `account`, else the files' bill/PayerAccountId."""
    paths = list(paths)
    slices = {billing_slice(p) for p in paths}
    if len(slices) != 1:
        raise ValueError(f"expected files of one billing period and payer, got {sorted(slices)} in {paths}")
    month, payer = slices.pop()
    account = account or payer
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    assembly = str(uuid.UUID(bytes=digest.digest()[:16], version=4))
    _ensure_bucket(s3, bucket)
    header: list[str] = []
    golden: GoldenSlice | None = None
    keys = []
    for n, path in enumerate(paths, start=1):
        key = cur_layout.cur1_data_key(prefix, report, month, assembly, n)
        with tempfile.TemporaryFile(dir=workdir) as tmp:
            with gzip.GzipFile(fileobj=tmp, mode="wb", mtime=0) as gz:
                raw = gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")
                with raw:
                    shutil.copyfileobj(raw, gz, 1 << 20)
            tmp.seek(0)
            s3.upload_fileobj(tmp, bucket, key)
        keys.append(key)
        with _open_text(path) as text:
            reader = csv.DictReader(text)
            header = list(reader.fieldnames or [])
            if golden is None:
                golden = GoldenSlice(PROVIDER_REAL, account, month, assembly, 0, tuple(c for c in COST_COLUMNS if c in header))
            for row in reader:
                golden.add({c: Decimal(row[c]) if row[c] else None for c in golden.columns})
    columns = [(*h.split("/", 1), "String") if "/" in h else ("", h, "String") for h in header]
    manifest = cur_layout.cur1_manifest(
        assembly_id=assembly, account=account, report=report, bucket=bucket, month=month,
        columns=columns, report_keys=keys,
    )
    body = json.dumps(manifest, indent=2).encode()
    s3.put_object(Bucket=bucket, Key=cur_layout.cur1_assembly_manifest_key(prefix, report, month, assembly), Body=body)
    period_key = cur_layout.cur1_period_manifest_key(prefix, report, month)
    s3.put_object(Bucket=bucket, Key=period_key, Body=body)
    assert golden is not None
    golden.info = {"bucket": bucket, "manifestKey": period_key, "assemblyId": assembly, "reportKeys": keys,
                   "sources": [str(p) for p in paths]}
    return golden


def publish_cur_dir(s3: Any, bucket: str, directory: Path, workdir: Path | None = None, **kwargs: Any) -> list[GoldenSlice]:
    """Every ``*.csv`` / ``*.csv.gz`` in ``directory``, grouped by billing period."""
    by_slice: dict[tuple[str, str], list[Path]] = {}
    for path in sorted(list(directory.glob("*.csv")) + list(directory.glob("*.csv.gz"))):
        by_slice.setdefault(billing_slice(path), []).append(path)
    return [publish_cur_csv(s3, bucket, paths, workdir=workdir, **kwargs) for _, paths in sorted(by_slice.items())]
