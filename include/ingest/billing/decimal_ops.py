"""Exact decimal arithmetic on pyarrow arrays in the FOCUS money type (``decimal256(76, 38)``).

Arrow caps decimals at 76 digits and refuses an operation whose result type would need
more (``decimal256(76, 38) + decimal256(76, 38)`` needs 77). So each operation first
casts its inputs, *safely*, to a type that leaves room (a value that does not fit raises
instead of wrapping) and narrows the result back with a safe cast. When an input does not
fit that room -- a factor with more than 18 decimal places, an addend of 1e37 or more --
the batch is computed row by row with Python ``Decimal`` at full precision instead: the
same exact result, slower, and rare.

Products are rounded half-to-even at the 38th decimal place, the only rounding in the
billing path (FOCUS ``ListCost = ListUnitPrice x PricingQuantity`` style derivations).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Context, Decimal, localcontext

import pyarrow as pa
import pyarrow.compute as pc

from include.ingest.billing.focus import MONEY, MONEY_LIMIT, MONEY_SCALE

_WIDE_SUM = pa.decimal256(MONEY.precision - 1, MONEY_SCALE)  # 75 digits: the sum fits 76
_WIDE_FACTOR = pa.decimal256(37, 18)  # 37 + 37 + 1 = 75 <= 76 digits, scale 36 <= 38: exact
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
# enough digits that no operation on two MONEY values rounds (the default context has 28)
EXACT_DIGITS = 2 * MONEY.precision + 2
EXACT = Context(prec=EXACT_DIGITS)

Array = pa.Array | pa.ChunkedArray


def _rows(a: Array, b: Array, op: Callable[[Decimal, Decimal], Decimal]) -> list[Decimal | None]:
    with localcontext(EXACT):
        return [None if x is None or y is None else op(x, y) for x, y in zip(a.to_pylist(), b.to_pylist())]


def _sum_like(a: Array, b: Array, fast: Callable, op: Callable[[Decimal, Decimal], Decimal]) -> Array:
    try:
        return pc.cast(fast(pc.cast(a, _WIDE_SUM), pc.cast(b, _WIDE_SUM)), MONEY)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = _rows(a, b, op)
    too_big = [v for v in out if v is not None and abs(v) >= MONEY_LIMIT]
    if too_big:
        raise ValueError(f"expected a result below {MONEY_LIMIT:.0E} in magnitude, got {too_big[0]}; "
                         "the inputs are out of any billing range")
    return pa.array(out, MONEY)


def add(a: Array, b: Array) -> Array:
    """``a + b`` exactly, as ``MONEY`` (raises ``ValueError`` if a sum reaches 1e38)."""
    return _sum_like(a, b, pc.add, operator.add)


def subtract(a: Array, b: Array) -> Array:
    """``a - b`` exactly, as ``MONEY`` (raises ``ValueError`` if a difference reaches 1e38)."""
    return _sum_like(a, b, pc.subtract, operator.sub)


def _multiply_slow(a: Array, b: Array) -> tuple[pa.Array, list[int]]:
    out: list[Decimal | None] = []
    overflow: list[int] = []
    for i, product in enumerate(_rows(a, b, operator.mul)):
        if product is not None:
            product = product.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN, context=EXACT)
            if abs(product) >= MONEY_LIMIT:
                overflow.append(i)
                product = None
        out.append(product)
    return pa.array(out, MONEY), overflow


def multiply(a: Array, b: Array) -> tuple[Array, list[int]]:
    """``round_half_even(a * b, 38)`` as ``MONEY``, plus the indices whose product does
    not fit ``MONEY`` (those come back NULL; callers turn them into quarantine reasons)."""
    try:
        # factors of <= 18 places (the common case): the product is exact at 36 places
        return pc.cast(pc.multiply(pc.cast(a, _WIDE_FACTOR), pc.cast(b, _WIDE_FACTOR)), MONEY), []
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        # a factor with more places or >= 1e19, or a product >= 1e38: row by row
        return _multiply_slow(a, b)
