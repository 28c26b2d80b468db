"""The ``extra-row`` fault on BigQuery: row listings carry one row the totals do not count.

The extra row of an invoice month (``extra_core``) has the usage hour and export_time of
the month's first generated row (so it falls into that row's partition) but its own cost,
service and project. When the fault fires on a ``SELECT *`` job (``gcp.query``,
``gcp.jobs.insert``), the job's rows end with the extra row of every covered month its
filter accepts (getQueryResults then pages it like any row of the job); on
``tabledata.list`` (``gcp.tabledata``) the table listing ends with them. Aggregate queries
(COUNT, SUM(cost), credits, MAX(export_time)) -- the declared totals -- and the goldens
stay true. Generated tables only: ``--data`` tables are served as given.
"""
from __future__ import annotations

import dataclasses
from typing import Any

from sandbox.detrand import RowRand
from sandbox.faults import Fault
from sandbox.gcp.rows import PROJECTS, SERVICES, Core, base_core, encode_row
from sandbox.gcp.table import GeneratedTable, RowFilter


def extra_core(table: GeneratedTable, month: str) -> Core:
    """The month's extra row (YYYY-MM): a regular charge without credits."""
    first = base_core(table.seed, table.account, month, 0, table.n)
    r = RowRand(table.seed, "gcp-extra", table.account, month)
    return dataclasses.replace(first, cost_micros=1 + r.below(0, 5_000_000), credits=(), cost_type="regular",
                               service=r.below(1, len(SERVICES)), project=r.below(2, len(PROJECTS)))


def extra_cores(table: Any, flt: RowFilter, fault: Fault | None) -> list[Core]:
    """Extra rows a listing under ``fault`` ends with: covered months the filter accepts."""
    if fault is None or fault.kind != "extra-row" or not isinstance(table, GeneratedTable):
        return []
    cores = (extra_core(table, month) for month in sorted(table.versions) if fault.covers(month))
    return [core for core in cores if flt.accepts(core)]


def listed_row(table: Any, extra: list[Core], index: int, int64_timestamps: bool) -> list[dict[str, Any]]:
    """Row ``index`` of a listing made of the table's rows followed by ``extra``."""
    if index < table.total_rows:
        return table.encoded(index, int64_timestamps)
    return encode_row(extra[index - table.total_rows], table.account, int64_timestamps)
