"""S3 key layout and manifest documents of AWS legacy CUR and CUR 2.0 (billing-formats.md §1-2).

Legacy CUR (CREATE_NEW_REPORT):
  <prefix>/<report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-<n>.csv.gz      data
  <prefix>/<report>/<yyyymmdd-yyyymmdd>/<report>-Manifest.json               period manifest,
      overwritten on every delivery, points at the current assembly
  <prefix>/<report>/<yyyymmdd-yyyymmdd>/<assemblyId>/<report>-Manifest.json  never overwritten
CUR 2.0 Data Exports:
  <prefix>/<export>/data/BILLING_PERIOD=YYYY-MM/<ts>-<executionId>/<export>-<nnnnn>.snappy.parquet
  <prefix>/<export>/metadata/BILLING_PERIOD=YYYY-MM/<export>-Manifest.json   replaced on refresh
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sandbox.periods import cur_folder, month_end, month_start


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def cur1_data_key(prefix: str, report: str, month: str, assembly_id: str, n: int) -> str:
    return _join(prefix, report, cur_folder(month), assembly_id, f"{report}-{n}.csv.gz")


def cur1_period_manifest_key(prefix: str, report: str, month: str) -> str:
    return _join(prefix, report, cur_folder(month), f"{report}-Manifest.json")


def cur1_assembly_manifest_key(prefix: str, report: str, month: str, assembly_id: str) -> str:
    return _join(prefix, report, cur_folder(month), assembly_id, f"{report}-Manifest.json")


def cur1_manifest(
    *, assembly_id: str, account: str, report: str, bucket: str, month: str,
    columns: list[tuple[str, str, str]], report_keys: list[str],
) -> dict[str, Any]:
    """Manifest as delivered by AWS (Koku fixture shape plus per-column ``type``).

    ``columns`` are (category, name, type); billingPeriod uses YYYYMMDDT000000.000Z with an
    exclusive end.
    """
    return {
        "assemblyId": assembly_id,
        "account": account,
        "reportId": f"{report}-{account}",
        "reportName": report,
        "billingPeriod": {
            "start": month_start(month).strftime("%Y%m%dT000000.000Z"),
            "end": month_end(month).strftime("%Y%m%dT000000.000Z"),
        },
        "bucket": bucket,
        "reportKeys": report_keys,
        "columns": [{"category": c, "name": n, "type": t} for c, n, t in columns],
        "charset": "UTF-8",
        "compression": "GZIP",
        "contentType": "text/csv",
    }


def cur2_execution_folder(execution_id: str, delivered_at: str) -> str:
    return f"{delivered_at}-{execution_id}"


def cur2_data_key(prefix: str, export: str, month: str, folder: str, n: int) -> str:
    return _join(prefix, export, "data", f"BILLING_PERIOD={month}", folder, f"{export}-{n:05d}.snappy.parquet")


def cur2_manifest_key(prefix: str, export: str, month: str) -> str:
    return _join(prefix, export, "metadata", f"BILLING_PERIOD={month}", f"{export}-Manifest.json")


def cur2_manifest(
    *, execution_id: str, account: str, export: str, bucket: str, month: str,
    columns: list[tuple[str, str]], data_keys: list[str],
) -> dict[str, Any]:
    """CUR 2.0 manifest (fields per billing-formats.md §2; marked 'verify' there)."""
    return {
        "executionId": execution_id,
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{account}:export/{export}-{execution_id[:8]}",
        "exportName": export,
        "billingPeriod": {
            "start": month_start(month).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            "end": month_end(month).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        },
        "columns": [{"name": n, "type": t} for n, t in columns],
        "dataFiles": [f"s3://{bucket}/{key}" for key in data_keys],
        "compression": "PARQUET",
        "format": "PARQUET",
    }


@dataclass(frozen=True)
class ParsedKey:
    layout: str  # "cur1" | "cur2"
    report: str
    month: str  # YYYY-MM


_CUR1 = re.compile(r"(?:^|/)(?P<report>[^/]+)/(?P<y>\d{4})(?P<m>\d{2})01-\d{8}/")
_CUR2 = re.compile(r"(?:^|/)(?P<report>[^/]+)/(?:data|metadata)/BILLING_PERIOD=(?P<month>\d{4}-\d{2})/")


def parse_key(key: str) -> ParsedKey | None:
    """Which report and month an S3 key belongs to (None for keys outside both layouts)."""
    m = _CUR2.search(key)
    if m:
        return ParsedKey("cur2", m.group("report"), m.group("month"))
    m = _CUR1.search(key)
    if m:
        return ParsedKey("cur1", m.group("report"), f"{m.group('y')}-{m.group('m')}")
    return None
