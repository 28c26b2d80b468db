"""Publishes generated CUR deliveries into the S3 emulator, streaming, with goldens.

Each ``publish_*`` call writes one complete delivery (a new assembly / execution) for a month:
data files first (gzip CSV or Parquet, built in a temp file so memory stays flat, uploaded
with multipart for big files), then the manifest(s) last, as AWS does. Publishing version v+1
of a month replaces the period manifest (restatement); older assembly folders remain.
Goldens are folded from the very rows written.
"""
from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import json
import tempfile
import threading
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from sandbox.aws import cur_layout
from sandbox.aws.formats import (
    CUR2_COST_COLUMNS, CUR2_SCHEMA, cur1_columns, cur1_manifest_columns, cur1_row, cur2_batches,
    cur2_manifest_columns, snake,
)
from sandbox.aws.generator import COST_COLUMNS, line_items
from sandbox.config import SandboxConfig
from sandbox.detrand import stable_uuid
from sandbox.golden import GoldenRegistry, GoldenSlice
from sandbox.periods import month_end

PROVIDER_CUR1 = "aws-cur"
PROVIDER_CUR2 = "aws-cur2"


class CurPublisher:
    def __init__(self, s3: Any, config: SandboxConfig, goldens: GoldenRegistry, workdir: Path) -> None:
        self.s3, self.config, self.goldens, self.workdir = s3, config, goldens, workdir
        self.versions: dict[tuple[str, str], int] = {}
        self._lock = threading.RLock()

    def publish_all(self) -> None:
        for month in self.config.months:
            self.publish("cur1", month)
            self.publish("cur2", month)

    def restate(self, layout: str, month: str) -> GoldenSlice:
        """Publish the next version of ``month`` (a new assembly replacing the period manifest)."""
        with self._lock:
            return self.publish(layout, month, self.versions.get((layout, month), -1) + 1)

    def publish(self, layout: str, month: str, version: int = 0) -> GoldenSlice:
        if layout not in ("cur1", "cur2"):
            raise ValueError(f"expected layout 'cur1' or 'cur2', got {layout!r}")
        with self._lock:
            golden = self._publish_cur1(month, version) if layout == "cur1" else self._publish_cur2(month, version)
            self.versions[(layout, month)] = version
            self.goldens.put(golden)
            return golden

    def _final(self, month: str) -> bool:
        return month != max(self.config.months)

    def _items(self, month: str, version: int):
        c = self.config
        return line_items(c.seed, c.aws_payer, month, version, c.scale, self._final(month))

    def _publish_cur1(self, month: str, version: int) -> GoldenSlice:
        c = self.config
        assembly = stable_uuid(c.seed, "cur1", c.aws_payer, month, version)
        golden = GoldenSlice(PROVIDER_CUR1, c.aws_payer, month, assembly, version, COST_COLUMNS)
        columns = cur1_columns(month)
        keys: list[str] = []
        items = self._items(month, version)
        exhausted = False
        while not exhausted:
            key = cur_layout.cur1_data_key(c.cur_prefix, c.cur_report, month, assembly, len(keys) + 1)
            with tempfile.TemporaryFile(dir=self.workdir) as tmp:
                with gzip.GzipFile(fileobj=tmp, mode="wb", compresslevel=6, mtime=0) as gz:
                    text = io.TextIOWrapper(gz, encoding="utf-8", newline="")
                    writer = csv.writer(text, lineterminator="\n")
                    writer.writerow(columns)
                    written = 0
                    for item in items:
                        writer.writerow(cur1_row(item, columns))
                        golden.add(item)
                        written += 1
                        if written >= c.aws_rows_per_file:
                            break
                    else:
                        exhausted = True
                    text.flush()
                    text.detach()
                if written == 0 and keys:
                    break  # the previous file ended exactly at the last row
                tmp.seek(0)
                self.s3.upload_fileobj(tmp, c.aws_bucket, key)
            keys.append(key)
        manifest = cur_layout.cur1_manifest(
            assembly_id=assembly, account=c.aws_payer, report=c.cur_report, bucket=c.aws_bucket,
            month=month, columns=cur1_manifest_columns(month), report_keys=keys,
        )
        body = json.dumps(manifest, indent=2).encode()
        self._put(cur_layout.cur1_assembly_manifest_key(c.cur_prefix, c.cur_report, month, assembly), body)
        period_key = cur_layout.cur1_period_manifest_key(c.cur_prefix, c.cur_report, month)
        self._put(period_key, body)
        golden.info = {"bucket": c.aws_bucket, "manifestKey": period_key, "assemblyId": assembly, "reportKeys": keys}
        return golden

    def _publish_cur2(self, month: str, version: int) -> GoldenSlice:
        c = self.config
        execution = stable_uuid(c.seed, "cur2", c.aws_payer, month, version)
        delivered = month_end(month) + dt.timedelta(hours=6 + 8 * version)
        folder = cur_layout.cur2_execution_folder(execution, delivered.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
        golden = GoldenSlice(PROVIDER_CUR2, c.aws_payer, month, execution, version, CUR2_COST_COLUMNS)
        keys: list[str] = []
        state: dict[str, Any] = {"tmp": None, "writer": None, "rows": 0}

        def counted(items):
            for item in items:
                golden.add({snake(k): item[k] for k in COST_COLUMNS})
                yield item

        def close_file() -> None:
            key = cur_layout.cur2_data_key(c.cur2_prefix, c.cur2_export, month, folder, len(keys) + 1)
            state["writer"].close()
            tmp = state["tmp"]
            tmp.seek(0)
            self.s3.upload_fileobj(tmp, c.aws_bucket, key)
            tmp.close()
            keys.append(key)
            state.update(tmp=None, writer=None, rows=0)

        batch_rows = min(10_000, c.aws_rows_per_file)
        for batch in cur2_batches(counted(self._items(month, version)), month, batch_rows):
            if state["writer"] is None:
                state["tmp"] = tempfile.TemporaryFile(dir=self.workdir)
                state["writer"] = pq.ParquetWriter(state["tmp"], CUR2_SCHEMA, compression="snappy")
            state["writer"].write_batch(batch)
            state["rows"] += batch.num_rows
            if state["rows"] >= c.aws_rows_per_file:
                close_file()
        if state["writer"] is not None:
            close_file()
        manifest = cur_layout.cur2_manifest(
            execution_id=execution, account=c.aws_payer, export=c.cur2_export, bucket=c.aws_bucket,
            month=month, columns=cur2_manifest_columns(), data_keys=keys,
        )
        manifest_key = cur_layout.cur2_manifest_key(c.cur2_prefix, c.cur2_export, month)
        self._put(manifest_key, json.dumps(manifest, indent=2).encode())
        golden.info = {"bucket": c.aws_bucket, "manifestKey": manifest_key, "executionId": execution, "dataKeys": keys}
        return golden

    def _put(self, key: str, body: bytes) -> None:
        self.s3.put_object(Bucket=self.config.aws_bucket, Key=key, Body=body, ContentType="application/json")
