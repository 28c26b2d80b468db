"""One read interface over the batch shapes normalizers accept.

A batch can arrive as

* a list of row dicts (``csv.DictReader`` output, hand-written test rows),
* a dict of columns (``{"lineItem/UnblendedCost": [...], ...}``), or
* a ``pyarrow.RecordBatch`` / ``Table`` (``pyarrow.csv.open_csv`` with string
  columns, ``ParquetFile.iter_batches``).

Normalizers only ask for what they need -- ``column(name)`` as an Arrow array,
``pylist(name)`` for map columns, ``raw_rows(indices)`` for quarantine -- so untouched
columns of a 94-column CUR row are never converted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any, Union

import pyarrow as pa
import pyarrow.csv as pa_csv

Batch = Union[Sequence[Mapping[str, Any]], Mapping[str, Sequence[Any]], pa.RecordBatch, pa.Table]


# ~32 MiB of CSV text is ~50,000 CUR rows: big enough that the fixed cost of a batch
# (a few hundred Arrow kernel calls, ~5 ms) is noise, small enough for flat memory.
CSV_BLOCK_SIZE = 32 << 20


def csv_read_options(block_size: int = CSV_BLOCK_SIZE) -> pa_csv.ReadOptions:
    """``pyarrow.csv`` read options for billing CSVs. The Arrow default (1 MiB, ~1,500 CUR
    rows per batch) would make per-batch overhead dominate normalization time."""
    return pa_csv.ReadOptions(block_size=block_size, use_threads=True)


def csv_convert_options(header: Sequence[str]) -> pa_csv.ConvertOptions:
    """``pyarrow.csv`` options that keep every column as text, for ``open_csv``.

    Arrow would otherwise infer money columns as float64 and lose exactness; with text
    columns ``normalize_batch`` parses each number exactly, and empty cells stay empty
    strings (the normalizers turn them into NULL). Read the header line first to get
    ``header``.
    """
    return pa_csv.ConvertOptions(
        column_types={name: pa.string() for name in header},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )


def _to_arrow(values: Sequence[Any]) -> pa.Array:
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    try:
        return pa.array(values, pa.string())  # the common case: text from a CSV reader
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        pass
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        # Mixed Python types in one column: keep the text, parsers decide what it means.
        return pa.array([None if v is None else str(v) for v in values], pa.string())


class SourceBatch:
    """Column access to a batch, whatever its shape. Raises ``TypeError`` for other shapes."""

    def __init__(self, batch: Batch) -> None:
        self._rows: Sequence[Mapping[str, Any]] | None = None
        self._columns: Mapping[str, Sequence[Any]] | None = None
        self._arrow: pa.RecordBatch | pa.Table | None = None
        if isinstance(batch, (pa.RecordBatch, pa.Table)):
            self._arrow = batch
            self.names = list(batch.schema.names)
            self.num_rows = batch.num_rows
        elif isinstance(batch, Mapping):
            self._columns = batch
            self.names = list(batch)
            lengths = {len(v) for v in batch.values()}
            if len(lengths) > 1:
                raise ValueError(f"expected columns of equal length, got lengths {sorted(lengths)}")
            self.num_rows = lengths.pop() if lengths else 0
        elif isinstance(batch, Sequence) and not isinstance(batch, (str, bytes)):
            self._rows = batch
            self._uniform = True
            self.num_rows = len(batch)
            self.names = self._row_names(batch)
        else:
            raise TypeError(
                f"expected a list of row dicts, a dict of columns or a pyarrow RecordBatch/Table, "
                f"got {type(batch).__name__}"
            )
        self._cache: dict[str, pa.Array] = {}

    def _row_names(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        # csv.DictReader rows all share the header's keys; checking lengths is cheap, and
        # a row with other keys of the same length fails itemgetter in pylist() instead.
        self._uniform = True
        if not rows:
            return []
        width = len(rows[0])
        if all(len(row) == width for row in rows):
            return [name for name in rows[0] if name is not None]
        self._uniform = False
        union = dict.fromkeys(name for row in rows for name in row)  # first-seen order
        return [name for name in union if name is not None]

    def malformed_rows(self) -> list[int]:
        """Rows with more fields than the header (``csv.DictReader`` puts the extras
        under the key ``None``); their values cannot be trusted to be in the right
        columns, so normalizers quarantine them."""
        if self._rows is None:
            return []
        return [i for i, row in enumerate(self._rows) if None in row]

    def pylist(self, name: str) -> list[Any]:
        """The column as Python values (``None`` where a row lacks it)."""
        if self._rows is not None:
            if self._uniform:
                try:
                    return list(map(itemgetter(name), self._rows))
                except KeyError:
                    self._uniform = False
            return [row.get(name) for row in self._rows]
        if self._columns is not None:
            values = self._columns[name]
            return values.to_pylist() if isinstance(values, (pa.Array, pa.ChunkedArray)) else list(values)
        assert self._arrow is not None
        return self._arrow.column(name).to_pylist()

    def column(self, name: str) -> pa.Array:
        """The column as one Arrow array (strings stay strings; types are inferred for
        Python values, falling back to text when a column mixes types)."""
        if name not in self._cache:
            if self._arrow is not None:
                array = self._arrow.column(name)
                self._cache[name] = array.combine_chunks() if isinstance(array, pa.ChunkedArray) else array
            elif self._columns is not None:
                self._cache[name] = _to_arrow(self._columns[name])
            else:
                self._cache[name] = _to_arrow(self.pylist(name))
        return self._cache[name]

    def raw_rows(self, indices: Sequence[int]) -> list[dict[str, Any]]:
        """Rows ``indices`` as read, for the quarantine table (one Arrow ``take`` for
        Arrow input, so a batch that is entirely bad is still cheap to quarantine)."""
        if self._rows is not None:
            return [dict(self._rows[i]) for i in indices]
        if self._columns is not None:
            return [{name: self._value(name, i) for name in self.names} for i in indices]
        assert self._arrow is not None
        return self._arrow.take(pa.array(indices, pa.int64())).to_pylist()

    def _value(self, name: str, index: int) -> Any:
        assert self._columns is not None
        value = self._columns[name][index]
        return value.as_py() if isinstance(value, pa.Scalar) else value
