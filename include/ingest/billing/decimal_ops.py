"""Exact decimal arithmetic on pyarrow arrays in the FOCUS money type.

Arrow refuses ``decimal128(38, 18) + decimal128(38, 18)`` (the result would need 39
digits), so we widen to ``decimal256`` for the operation and narrow back with a *safe*
cast: any value that no longer fits raises instead of wrapping. Products are rounded
half-to-even at the 18th decimal place, the only rounding in the billing path (FOCUS
``ListCost = ListUnitPrice x PricingQuantity`` style derivations).
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.focus import MONEY, MONEY_SCALE

_WIDE_SUM = pa.decimal256(40, MONEY_SCALE)
_WIDE_FACTOR = pa.decimal256(37, MONEY_SCALE)  # 37 + 37 + 1 = 75 <= 76 digits
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_LIMIT = Decimal(10) ** (MONEY.precision - MONEY_SCALE)

Array = pa.Array | pa.ChunkedArray


def to_money(values: Array) -> Array:
    """Cast a decimal array to ``MONEY`` without losing digits (raises if it would)."""
    return values if values.type == MONEY else pc.cast(values, MONEY)


def add(a: Array, b: Array) -> Array:
    return pc.cast(pc.add(pc.cast(a, _WIDE_SUM), pc.cast(b, _WIDE_SUM)), MONEY)


def subtract(a: Array, b: Array) -> Array:
    return pc.cast(pc.subtract(pc.cast(a, _WIDE_SUM), pc.cast(b, _WIDE_SUM)), MONEY)


def _multiply_slow(a: Array, b: Array) -> tuple[pa.Array, list[int]]:
    out: list[Decimal | None] = []
    overflow: list[int] = []
    with localcontext() as ctx:
        ctx.prec = 2 * MONEY.precision + 2  # exact: the default 28 digits would round
        for i, (x, y) in enumerate(zip(a.to_pylist(), b.to_pylist())):
            if x is None or y is None:
                out.append(None)
                continue
            product = (x * y).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
            if abs(product) >= _LIMIT:
                overflow.append(i)
                out.append(None)
            else:
                out.append(product)
    return pa.array(out, MONEY), overflow


def multiply(a: Array, b: Array) -> tuple[Array, list[int]]:
    """``round_half_even(a * b, 18)`` as ``MONEY``, plus the indices whose product does
    not fit ``MONEY`` (those come back NULL; callers turn them into quarantine reasons)."""
    try:
        product = pc.multiply(pc.cast(a, _WIDE_FACTOR), pc.cast(b, _WIDE_FACTOR))
        rounded = pc.round(product, ndigits=MONEY_SCALE, round_mode="half_to_even")
        return pc.cast(rounded, MONEY), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # A factor >= 1e19 or a product >= 1e20: rare enough to do row by row.
        return _multiply_slow(a, b)
