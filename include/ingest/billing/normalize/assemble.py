"""The last step every provider's ``normalize_batch`` shares: assemble the FOCUS batch,
check the FOCUS rules, and split the rows that failed anything off into quarantine."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.focus import SCHEMA
from include.ingest.billing.focus_rules import find_violations
from include.ingest.billing.normalize.context import NormalizeContext, NormalizedBatch, QuarantinedRow
from include.ingest.billing.normalize.source import SourceBatch


def finish_batch(source: SourceBatch, arrays: dict[str, pa.Array], reasons: dict[int, list[str]],
                 context: NormalizeContext, *, lines: bool = True) -> NormalizedBatch:
    """``arrays`` (one per FOCUS column) → ``NormalizedBatch``: every row with a source
    reason (``reasons``: row index → reasons) or a FOCUS rule violation is quarantined with
    its raw value, all its reasons, its line (when ``lines``; Parquet/JSON have none) and
    its ordinal; the rest is the good batch."""
    good = pa.RecordBatch.from_arrays([arrays[f.name] for f in SCHEMA], schema=SCHEMA)
    for i, focus_reasons in find_violations(good).items():
        # Source-level reasons already explain the row; FOCUS ones would only echo them.
        reasons.setdefault(i, focus_reasons)
    if not reasons:
        return NormalizedBatch(good, [])
    bad = sorted(reasons)
    keep = pc.invert(pc.is_in(pa.array(range(source.num_rows), pa.int64()),
                              value_set=pa.array(bad, pa.int64())))
    quarantined = [
        QuarantinedRow(raw, "; ".join(reasons[i]), context.line_of(i) if lines else None,
                       context.first_row_ordinal + i)
        for i, raw in zip(bad, source.raw_rows(bad))
    ]
    return NormalizedBatch(good.filter(keep), quarantined)
