"""Cost Management exports (v2, manifestVersion 2024-04-01) written into the blob store.

Layout per run (tutorial-improved-exports.md; dataOverwriteBehavior CreateNewReport, so older
runs stay): ``<root>/<exportName>/<yyyymmdd-yyyymmdd>/<runId>/part_0_<nnnn>.csv`` and
``.../<runId>/manifest.json`` (runInfo.runId, blobCount, byteCount, dataRowCount, per-blob
counts). The manifest is written last. A restatement writes a new run (later submittedTime)
from the month's new version. Files are streamed to disk; goldens come from the rows written.
"""
from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

from include.sandbox.azure.dataset import AzureDataset
from include.sandbox.azure.dialects import cost_value, dialect, render_row
from include.sandbox.detrand import stable_uuid
from include.sandbox.golden import GoldenSlice
from include.sandbox.periods import days_in, month_end, month_start

ROOT_FOLDER = "billing"


def export_name(dialect_name: str) -> str:
    return f"sandbox-{dialect_name}-actualcost"


def publish_run(ds: AzureDataset, container_dir: Path, dialect_name: str, month: str, version: int,
                rows_per_part: int, storage_account: str) -> GoldenSlice:
    d = dialect(dialect_name)
    name = export_name(dialect_name)
    run_id = stable_uuid(ds.seed, "azure-run", ds.account, dialect_name, month, version)
    start = month_start(month)
    last_day = start.replace(day=days_in(month))
    folder = f"{ROOT_FOLDER}/{name}/{start:%Y%m%d}-{last_day:%Y%m%d}/{run_id}"
    golden = GoldenSlice(f"azure-export:{dialect_name}", ds.account, month, run_id, version, (d.cost_column,))
    blobs: list[dict[str, Any]] = []
    part, handle, writer, rows_in_part = 0, None, None, 0

    def close() -> None:
        nonlocal handle
        if handle is not None:
            handle.close()
            path = container_dir / blobs[-1]["blobName"]
            blobs[-1]["byteCount"] = path.stat().st_size
            handle = None

    for rec in ds.records(month, version):
        if handle is None:
            part += 1
            blob_name = f"{folder}/part_0_{part:04d}.csv"
            path = container_dir / blob_name
            path.parent.mkdir(parents=True, exist_ok=True)
            handle = open(path, "w", encoding="utf-8-sig" if d.bom else "utf-8", newline="")
            writer = csv.writer(handle, lineterminator="\r\n")
            writer.writerow(d.header)
            blobs.append({"blobName": blob_name, "byteCount": 0, "dataRowCount": 0})
            rows_in_part = 0
        row = render_row(d, rec, ds.account)
        writer.writerow(row)
        golden.add({d.cost_column: cost_value(d, row)})
        blobs[-1]["dataRowCount"] += 1
        rows_in_part += 1
        if rows_in_part >= rows_per_part:
            close()
    close()
    submitted = month_end(month) + dt.timedelta(hours=2 + 12 * version)
    manifest = {
        "manifestVersion": "2024-04-01",
        "byteCount": sum(b["byteCount"] for b in blobs),
        "blobCount": len(blobs),
        "dataRowCount": golden.rows,
        "exportConfig": {
            "exportName": name,
            "resourceId": f"/providers/Microsoft.Billing/billingAccounts/{ds.account}/providers/Microsoft.CostManagement/exports/{name}",
            "dataVersion": "2023-05-01", "apiVersion": "2023-07-01-preview", "type": "ActualCost",
            "timeFrame": "TheLastMonth", "granularity": "Daily",
        },
        "deliveryConfig": {
            "partitionData": True, "dataOverwriteBehavior": "CreateNewReport", "fileFormat": "Csv",
            "compressionMode": "None",
            "containerUri": f"/subscriptions/{ds.subscription_ids()[0]}/resourceGroups/rg-shared/providers/Microsoft.Storage/storageAccounts/{storage_account}",
            "rootFolderPath": ROOT_FOLDER,
        },
        "runInfo": {
            "executionType": "Scheduled",
            "submittedTime": submitted.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
            "runId": run_id,
            "startDate": start.strftime("%Y-%m-%dT%H:%M:%S"),  # no Z here, as in the real manifest
            "endDate": last_day.strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "blobs": blobs,
    }
    manifest_name = f"{folder}/manifest.json"
    (container_dir / manifest_name).write_text(json.dumps(manifest, indent=2))
    golden.info = {"runId": run_id, "manifest": manifest_name, "blobCount": len(blobs),
                   "byteCount": manifest["byteCount"], "submittedTime": manifest["runInfo"]["submittedTime"],
                   "dialect": dialect_name}
    return golden
