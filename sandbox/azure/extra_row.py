"""The ``extra-row`` fault on Azure: listings carry one record the totals do not count.

The extra record of a month (``extra_record``) is a late-style record with a resource
number no generated record uses, so its (UsageDate, ResourceId) is new. When the fault
fires on a request:

* Query API (``azure.query``) with a grouping -- a row listing -- gets the month's extra
  record as one more row at the end of the result (when the scope, window and filter
  include it). Queries without grouping are the provider's aggregate (what pipelines read
  as the declared totals) and stay true, as do the goldens.
* Exports (``azure.blob.get``): the last CSV part of a generated run gets the record as
  one more line in the run's dialect, and the run's ``manifest.json`` is served with the
  byteCounts of what is served but the true ``dataRowCount``.

``fault.covers(month)`` limits it to the rule's ``period``.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from sandbox.azure.dataset import AzureDataset, Scope
from sandbox.azure.dialects import dialect, render_row
from sandbox.azure.query import QuerySpec, matches
from sandbox.azure.records import CostRecord, record
from sandbox.azure.results import months_in_window, render
from sandbox.faults import Fault

EXTRA_INDEX = 999_999_999  # record (and resource) number of the extra record: far past any scale


def extra_record(ds: AzureDataset, month: str, version: int | None = None) -> CostRecord:
    """The month's extra record at ``version`` (default: the month's current version)."""
    version = ds.version(month) if version is None else version
    return record(ds.seed, ds.account, month, version, ds.n, EXTRA_INDEX)


class WithExtraRows:
    """A query result (ListResult / RecordResult) followed by ``extra`` rows."""

    def __init__(self, result: Any, extra: list[list[Any]]) -> None:
        self.result, self.extra = result, extra
        self.total = result.total + len(extra)

    def rows(self, offset: int, count: int) -> list[list[Any]]:
        out = self.result.rows(offset, count) if offset < self.result.total else []
        lo, hi = max(0, offset - self.result.total), offset + count - self.result.total
        return out + self.extra[lo:max(lo, hi)]


def query_result(result: Any, ds: AzureDataset, spec: QuerySpec, scope: Scope, fault: Fault) -> Any:
    """``result`` with the extra record of each covered month the query would list."""
    if not spec.groupings:
        return result  # an aggregate: the provider's declared totals stay true
    extra = []
    for month in months_in_window(spec, ds):
        rec = extra_record(ds, month)
        day = dt.date(rec.date // 10000, rec.date // 100 % 100, rec.day)
        if (fault.covers(month) and EXTRA_INDEX % scope.stride == scope.offset
                and spec.start <= day <= spec.end and matches(spec.filter, rec)):
            extra.append(render(spec, rec))
    return WithExtraRows(result, extra) if extra else result


class ExportExtras:
    """Generated export runs by blob name: which part is a run's last, and its manifest."""

    def __init__(self, ds: AzureDataset, container_dir: Path) -> None:
        self.ds, self.container_dir = ds, container_dir
        self._runs: dict[str, tuple[str, str, int, str]] = {}  # manifest -> (dialect, month, version, last part)
        self._last_parts: dict[str, str] = {}  # last part -> manifest

    def add_run(self, manifest_name: str, dialect_name: str, month: str, version: int) -> None:
        blobs = json.loads((self.container_dir / manifest_name).read_text())["blobs"]
        if blobs:
            last = blobs[-1]["blobName"]
            self._runs[manifest_name] = (dialect_name, month, version, last)
            self._last_parts[last] = manifest_name

    def _line(self, manifest_name: str) -> bytes:
        dialect_name, month, version, _ = self._runs[manifest_name]
        text = io.StringIO()
        rec = extra_record(self.ds, month, version)
        csv.writer(text, lineterminator="\r\n").writerow(render_row(dialect(dialect_name), rec, self.ds.account))
        return text.getvalue().encode("utf-8")

    def part_suffix(self, name: str, fault: Fault) -> bytes:
        """Bytes served after blob ``name`` (the extra line when it is a covered run's last part)."""
        manifest = self._last_parts.get(name)
        if manifest is None or not fault.covers(self._runs[manifest][1]):
            return b""
        return self._line(manifest)

    def manifest(self, name: str, fault: Fault) -> bytes | None:
        """The manifest as served under the fault (byteCounts of the served parts, the true
        dataRowCount), or None when ``name`` is not a covered generated run's manifest."""
        run = self._runs.get(name)
        if run is None or not fault.covers(run[1]):
            return None
        doc = json.loads((self.container_dir / name).read_text())
        grown = len(self._line(name))
        doc["byteCount"] += grown
        doc["blobs"][-1]["byteCount"] += grown
        return json.dumps(doc, indent=2).encode()
