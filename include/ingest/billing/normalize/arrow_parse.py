"""Column parsers shared by every provider normalizer: strings, exact decimals, UTC times.

Each parser takes one source column (pyarrow array) and returns the parsed array plus
``{row_index: problem}`` for values it could not parse; those rows come back NULL and
the caller turns problems into quarantine reasons. Nothing here raises on bad data.

Speed: the fast path is one vectorized Arrow cast per column. Only when that cast
fails (a bad value somewhere in the batch) does the column go through the row-by-row
slow path, which finds *which* rows are bad and why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.focus import MONEY, MONEY_LIMIT, MONEY_SCALE, TIMESTAMP

Problems = dict[int, str]
_NULL_STRING = pa.scalar(None, pa.string())


def strings(values: pa.Array) -> pa.Array:
    """As ``string``, with empty strings turned into NULL (FOCUS forbids empty strings)."""
    if not pa.types.is_string(values.type):
        values = pc.cast(values, pa.string())
    if values.null_count == len(values):
        return values
    # Byte lengths are far cheaper to compare than strings; most columns are either
    # fully set or fully empty, which the min/max shortcut handles without a copy.
    lengths = pc.binary_length(values)
    bounds = pc.min_max(lengths).as_py()
    if bounds["min"] > 0:
        return values
    if bounds["max"] == 0:
        return pa.nulls(len(values), pa.string())
    return pc.if_else(pc.equal(lengths, 0), _NULL_STRING, values)


def _decimal_from_text(text: str) -> tuple[Decimal | None, str | None]:
    if "_" in text:  # Python's Decimal accepts "1_000"; no billing format does
        return None, "not a number"
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None, "not a number"
    if not value.is_finite():
        return None, "not a finite number"
    # Only what MONEY cannot hold exactly is refused; any value a provider publishes
    # within 38 integer and 38 decimal digits is kept digit for digit.
    if value.as_tuple().exponent < -MONEY_SCALE:  # type: ignore[operator]
        return None, f"more than {MONEY_SCALE} decimal places, the most stored exactly"
    if abs(value) >= MONEY_LIMIT:
        return None, f"magnitude of 1e{MONEY.precision - MONEY_SCALE} or more, beyond the stored range"
    return value, None


def _decimals_slow(texts: list[Any]) -> tuple[pa.Array, Problems]:
    out: list[Decimal | None] = []
    problems: Problems = {}
    for i, text in enumerate(texts):
        if text is None or (isinstance(text, str) and not text.strip()):
            out.append(None)
            continue
        value, problem = _decimal_from_text(str(text))
        if problem:
            problems[i] = f"expected an exact decimal number, got {text!r} ({problem})"
        out.append(value)
    return pa.array(out, MONEY), problems


def decimals(values: pa.Array) -> tuple[pa.Array, Problems]:
    """Exact ``MONEY`` decimals from strings (plain or E-notation), ints, decimals or floats.

    Floats (Parquet exports that store money as DOUBLE) go through their shortest
    round-trip text, so ``0.1`` becomes ``Decimal("0.1")``, never
    ``0.1000000000000000055...``: the best a float can give, and never worse.
    """
    kind = values.type
    if pa.types.is_null(kind):
        return pa.nulls(len(values), MONEY), {}
    if pa.types.is_floating(kind):
        values = pc.cast(values, pa.string())
    elif pa.types.is_integer(kind) or pa.types.is_decimal(kind):
        try:
            return pc.cast(values, MONEY), {}
        except pa.ArrowInvalid:
            return _decimals_slow([None if v is None else str(v) for v in values.to_pylist()])
    values = strings(values)
    try:
        return pc.cast(values, MONEY), {}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _decimals_slow(values.to_pylist())


def _timestamp_from_text(text: str) -> dt.datetime | None:
    try:
        value = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    # Providers document their billing timestamps as UTC; a missing offset means UTC.
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def timestamps(values: pa.Array) -> tuple[pa.Array, Problems]:
    """UTC ``timestamp[us]`` from ISO-8601 strings (``Z``, offsets or none = UTC),
    timestamps (naive = UTC) or dates."""
    kind = values.type
    if pa.types.is_null(kind):
        return pa.nulls(len(values), TIMESTAMP), {}
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return pc.cast(values, TIMESTAMP), {}
    values = strings(values)
    for target in (TIMESTAMP, pa.timestamp("us")):  # with zone, then zone-less (= UTC)
        try:
            parsed = pc.cast(values, target)
            return (parsed if target == TIMESTAMP else pc.cast(parsed, TIMESTAMP)), {}
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    out: list[dt.datetime | None] = []
    problems: Problems = {}
    for i, text in enumerate(values.to_pylist()):
        parsed = None if text is None else _timestamp_from_text(text)
        if text is not None and parsed is None:
            problems[i] = f"expected an ISO-8601 UTC timestamp like 2023-11-01T00:00:00Z, got {text!r}"
        out.append(parsed)
    return pa.array(out, TIMESTAMP), problems


def exclusive_end(ends: pa.Array) -> pa.Array:
    """Turn inclusive ``hh:59:59[.fff]`` ends into the exclusive next second (FOCUS: every
    ``...End`` is exclusive). Some billing lines end at ``23:59:59``; hourly and daily
    lines already end on the boundary and are left alone."""
    if ends.null_count == len(ends):
        return ends
    inclusive = pc.and_(pc.equal(pc.minute(ends), 59), pc.equal(pc.second(ends), 59))
    if not pc.any(inclusive).as_py():
        return ends
    bumped = pc.add(pc.floor_temporal(ends, unit="second"), pa.scalar(dt.timedelta(seconds=1)))
    return pc.if_else(inclusive, bumped, ends)


class Distinct:
    """A column dictionary-encoded once, so derived columns cost one Python call per
    *distinct* value plus a vectorized ``take``.

    Billing columns repeat heavily (2 LineItemTypes and 14 product codes in the
    1,281-row sample), so this beats any per-row loop by orders of magnitude.
    """

    def __init__(self, values: pa.Array) -> None:
        encoded = pc.dictionary_encode(values)
        if isinstance(encoded, pa.ChunkedArray):
            encoded = encoded.combine_chunks()
        self.values: list[Any] = encoded.dictionary.to_pylist()
        self.indices = encoded.indices
        self.has_null = values.null_count > 0

    def map(self, fn: Callable[[Any], Any], out_type: pa.DataType) -> pa.Array:
        """``[fn(v) for v in values]`` (``fn(None)`` for nulls), computed per distinct value."""
        mapped = pa.array([fn(v) for v in self.values], out_type)
        result = mapped.take(self.indices)
        if self.has_null:
            # Nulls are not in the dictionary; take() gave NULL, fn(None) is the answer.
            result = pc.fill_null(result, pa.scalar(fn(None), out_type)) if fn(None) is not None else result
        return result

    def mask(self, predicate: Callable[[Any], bool]) -> pa.Array:
        """Boolean array (never NULL) of ``predicate(value)``."""
        return self.map(lambda v: bool(predicate(v)), pa.bool_())


def map_distinct(values: pa.Array, fn: Callable[[Any], Any], out_type: pa.DataType) -> pa.Array:
    """``[fn(v) for v in values]``, calling ``fn`` once per distinct value."""
    return Distinct(values).map(fn, out_type)


def cached(fn: Callable[[Hashable], Any]) -> Callable[[Hashable], Any]:
    """Memoize a per-value parser within one batch (e.g. JSON map columns)."""
    memo: dict[Hashable, Any] = {}

    def wrapper(value: Hashable) -> Any:
        if value not in memo:
            memo[value] = fn(value)
        return memo[value]

    return wrapper
