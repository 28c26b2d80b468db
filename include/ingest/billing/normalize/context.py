"""Values passed into and out of every ``normalize_batch`` (all providers).

``normalize_batch(batch, context) -> NormalizedBatch(good, quarantined)``:

* ``good`` is a ``pyarrow.RecordBatch`` with exactly ``focus.SCHEMA``;
* ``quarantined`` lists every input row that did not make it, with its raw value,
  a reason ("expected X, got Y; ...") and its location.

Invariant the persist layer checks: ``good.num_rows + len(quarantined) == rows in``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import pyarrow as pa


@dataclass(frozen=True)
class NormalizeContext:
    """Where a batch comes from. One context per batch; ``advanced(n)`` gives the next.

    ``first_row_ordinal`` is the position, within the chunk, of the batch's first row
    (0-based; it feeds the idempotency key, so it must not depend on how the chunk was
    split into batches). ``first_line`` is the source line of that row (header = line
    1, so the first data row of a CSV is line 2); ``None`` when lines mean nothing
    (Parquet) or the CSV has quoted newlines -- then pass ``line_numbers`` explicitly.
    """

    provider: str
    billing_account: str
    billing_period: str  # "YYYY-MM": the slice
    version: str  # delivery token (CUR assemblyId / CUR 2.0 execution id)
    chunk_id: str
    source_file: str | None = None
    first_row_ordinal: int = 0
    first_line: int | None = 2
    line_numbers: tuple[int, ...] | None = None

    def line_of(self, index: int) -> int | None:
        """Source line of the ``index``-th row of this batch, when known."""
        if self.line_numbers is not None:
            return self.line_numbers[index]
        return None if self.first_line is None else self.first_line + index

    def advanced(self, rows: int) -> NormalizeContext:
        """The context of the batch that follows a batch of ``rows`` rows."""
        return dataclasses.replace(
            self,
            first_row_ordinal=self.first_row_ordinal + rows,
            first_line=None if self.first_line is None else self.first_line + rows,
            line_numbers=None,
        )


class QuarantinedRow(NamedTuple):
    raw: dict[str, Any] | str  # the input row as read (dict), or the raw line
    reason: str
    line_number: int | None
    row_ordinal: int  # position in the chunk: locates the row when lines are unknown


class NormalizedBatch(NamedTuple):
    good: pa.RecordBatch
    quarantined: list[QuarantinedRow]
