"""Cost of the wide money type (issue 12): money and quantities went from decimal128(38, 18)
to decimal256(76, 38) so long published decimals keep every digit. Measured here, with no
server: parse + narrow + binary-encode rows/s and Parquet bytes of the same decimal columns,
for a month of today's values (<= 18 places) and for a month with long decimals, next to the
old type on the same short values."""
from __future__ import annotations

import io
import random
import time

import pyarrow as pa
import pyarrow.parquet as pq

from include.ingest.billing.normalize.arrow_parse import decimals
from include.ingest.billing.store import load_tables
from include.ingest.billing.store.decimal_narrowing import narrow_batch
from include.ingest.billing.pipeline import NORMALIZED_PARQUET

COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "PricingQuantity")
OLD_MONEY = pa.decimal128(38, 18)


def _texts(rows: int, long_share: float, seed: int) -> dict[str, list[str]]:
    rng = random.Random(seed)
    def value() -> str:
        if rng.random() < long_share:  # AWS/EA/GCP shapes: 21-28 places, E-notation floats
            return rng.choice(("0.078035218197112280184", "0.0000000072922557592391990000",
                               repr(rng.random() * 1e-9).replace("e-", "E-")))
        return f"{rng.random() * 100:.10f}"
    return {name: [value() for _ in range(rows)] for name in COLUMNS}


def _measure(texts: dict[str, list[str]], money: pa.DataType | None) -> dict:
    started = time.perf_counter()
    arrays = {}
    for name, column in texts.items():
        parsed, _ = decimals(pa.array(column))
        arrays[name] = parsed if money is None else parsed.cast(money)
    batch = pa.RecordBatch.from_pydict(arrays)
    narrowed = narrow_batch(batch)
    if narrowed is not None:
        encoder = load_tables.encoder(narrowed.schema)
        encoder.write_header()
        encoder.write_batch(narrowed)
    seconds = time.perf_counter() - started
    sink = io.BytesIO()
    pq.write_table(pa.Table.from_batches([batch]), sink, **NORMALIZED_PARQUET)
    return {"rows_per_s": round(batch.num_rows / seconds), "parquet_bytes": sink.tell(),
            "binary_copy": narrowed is not None}


def run(rows: int = 200_000) -> dict:
    """Figures: today's values in the old type, the same in the wide type, a long-decimal month."""
    short, long_month = _texts(rows, 0.0, 1), _texts(rows, 0.25, 2)
    old = _measure(short, OLD_MONEY)
    wide = _measure(short, None)
    long_ = _measure(long_month, None)
    return {"billing_decimal_cost": {
        "rows": rows, "columns": list(COLUMNS),
        "old_decimal128_short_values": old, "decimal256_short_values": wide,
        "decimal256_long_decimal_month": long_,
        "wide_vs_old_rows_per_s": round(wide["rows_per_s"] / old["rows_per_s"], 3),
        "wide_vs_old_parquet_bytes": round(wide["parquet_bytes"] / old["parquet_bytes"], 3)}}
