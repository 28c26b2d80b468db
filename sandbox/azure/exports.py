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

from sandbox.azure.dataset import AzureDataset
from sandbox.azure.dialects import cost_value, dialect, render_row
from sandbox.detrand import stable_uuid
from sandbox.golden import GoldenSlice
from sandbox.periods import days_in, month_end, month_start

ROOT_FOLDER = "billing"


def export_name(dialect_name: str) -> str:
    return f"sandbox-{dialect_name}-actualcost"


class _RunWriter:
    """One export run of one dialect: CSV parts (rolled every ``rows_per_part``) + golden."""

    def __init__(self, ds: AzureDataset, container_dir: Path, dialect_name: str, month: str, version: int,
                 rows_per_part: int) -> None:
        self.ds, self.container_dir, self.month, self.version = ds, container_dir, month, version
        self.d, self.dialect_name, self.rows_per_part = dialect(dialect_name), dialect_name, rows_per_part
        self.name = export_name(dialect_name)
        self.run_id = stable_uuid(ds.seed, "azure-run", ds.account, dialect_name, month, version)
        start = month_start(month)
        self.start, self.last_day = start, start.replace(day=days_in(month))
        self.folder = f"{ROOT_FOLDER}/{self.name}/{start:%Y%m%d}-{self.last_day:%Y%m%d}/{self.run_id}"
        self.golden = GoldenSlice(f"azure-export:{dialect_name}", ds.account, month, self.run_id, version, (self.d.cost_column,))
        self.blobs: list[dict[str, Any]] = []
        self._handle: Any = None
        self._writer: Any = None
        self._rows_in_part = 0

    def add(self, rec: Any) -> None:
        if self._handle is None:
            blob_name = f"{self.folder}/part_0_{len(self.blobs) + 1:04d}.csv"
            path = self.container_dir / blob_name
            path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = open(path, "w", encoding="utf-8-sig" if self.d.bom else "utf-8", newline="")
            self._writer = csv.writer(self._handle, lineterminator="\r\n")
            self._writer.writerow(self.d.header)
            self.blobs.append({"blobName": blob_name, "byteCount": 0, "dataRowCount": 0})
            self._rows_in_part = 0
        row = render_row(self.d, rec, self.ds.account)
        self._writer.writerow(row)
        self.golden.add({self.d.cost_column: cost_value(self.d, row)})
        self.blobs[-1]["dataRowCount"] += 1
        self._rows_in_part += 1
        if self._rows_in_part >= self.rows_per_part:
            self._close_part()

    def _close_part(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self.blobs[-1]["byteCount"] = (self.container_dir / self.blobs[-1]["blobName"]).stat().st_size
            self._handle = None

    def finish(self, storage_account: str) -> GoldenSlice:
        """Close the last part, then write the manifest (always last, as Azure does)."""
        self._close_part()
        ds, golden = self.ds, self.golden
        submitted = month_end(self.month) + dt.timedelta(hours=2 + 12 * self.version)
        manifest = {
            "manifestVersion": "2024-04-01",
            "byteCount": sum(b["byteCount"] for b in self.blobs),
            "blobCount": len(self.blobs),
            "dataRowCount": golden.rows,
            "exportConfig": {
                "exportName": self.name,
                "resourceId": f"/providers/Microsoft.Billing/billingAccounts/{ds.account}/providers/Microsoft.CostManagement/exports/{self.name}",
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
                "runId": self.run_id,
                "startDate": self.start.strftime("%Y-%m-%dT%H:%M:%S"),  # no Z here, as in the real manifest
                "endDate": self.last_day.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
            "blobs": self.blobs,
        }
        manifest_name = f"{self.folder}/manifest.json"
        (self.container_dir / manifest_name).write_text(json.dumps(manifest, indent=2))
        golden.info = {"runId": self.run_id, "manifest": manifest_name, "blobCount": len(self.blobs),
                       "byteCount": manifest["byteCount"], "submittedTime": manifest["runInfo"]["submittedTime"],
                       "dialect": self.dialect_name}
        return golden


def publish_runs(ds: AzureDataset, container_dir: Path, dialect_names: tuple[str, ...], month: str, version: int,
                 rows_per_part: int, storage_account: str) -> list[GoldenSlice]:
    """One run per dialect for the month's version, from a single pass over the records."""
    writers = [_RunWriter(ds, container_dir, name, month, version, rows_per_part) for name in dialect_names]
    for rec in ds.records(month, version):
        for writer in writers:
            writer.add(rec)
    return [writer.finish(storage_account) for writer in writers]
