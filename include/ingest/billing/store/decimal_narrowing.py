"""Fit a batch's wide decimals into the ``decimal128`` the binary COPY encoder takes.

Money and quantities are ``decimal256(76, 38)`` in Arrow and unconstrained ``numeric`` in
PostgreSQL; pgpq (the Arrow → binary COPY encoder) encodes ``decimal128`` only. Per batch,
each decimal column is cast *safely* (a value that would lose a digit raises, it is never
rounded) to ``decimal128(38, 18)`` -- what nearly every provider value fits, so the common
case costs one cast per column -- else to the smallest ``decimal128(38, s)`` that holds it.
A column no ``decimal128`` holds (e.g. GCP byte-seconds near 1e17 beside quantities of
1e-10: 18 integer + 26 decimal digits) makes the batch go another exact way (text COPY).
"""
from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

NARROW_PRECISION = 38  # decimal128's most digits
COMMON_SCALE = 18  # tried first: the scale every provider's money fitted before wider values


def _cast(column: pa.Array, scale: int) -> pa.Array | None:
    try:
        return pc.cast(column, pa.decimal128(NARROW_PRECISION, scale))  # safe by default
    except pa.ArrowInvalid:
        return None


def _integer_digits(column: pa.Array) -> int:
    bounds = pc.min_max(column)
    largest = max(abs(bounds["min"].as_py() or 0), abs(bounds["max"].as_py() or 0))
    return max(largest.adjusted() + 1, 0) if largest else 0


def narrow_column(column: pa.Array) -> pa.Array | None:
    """``column`` as the smallest-scale ``decimal128(38, s)`` holding every value exactly,
    or ``None`` when none does. Other types come back unchanged."""
    if not pa.types.is_decimal256(column.type):
        return column
    if (common := _cast(column, COMMON_SCALE)) is not None:
        return common
    top = NARROW_PRECISION - _integer_digits(column)  # the most decimals the magnitude leaves
    if top < 0 or (found := _cast(column, top)) is None:
        return None
    # the largest scale fits; search down for the smallest (a safe cast fails below it),
    # so PostgreSQL keeps the source's digits without a tail of zeros
    low, high = min(COMMON_SCALE, top), top  # fits at `high`; not known to fit at `low`
    while high - low > 1:
        middle = (low + high) // 2
        if (attempt := _cast(column, middle)) is not None:
            high, found = middle, attempt
        else:
            low = middle
    return found


def narrow_batch(batch: pa.RecordBatch) -> pa.RecordBatch | None:
    """``batch`` with every ``decimal256`` column narrowed (``narrow_column``), or ``None``
    when a column fits no ``decimal128`` and the batch must be sent as text."""
    columns = []
    for column in batch.columns:
        narrowed = narrow_column(column)
        if narrowed is None:
            return None
        columns.append(narrowed)
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
