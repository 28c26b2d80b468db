"""Column parsers, batch shapes, decimal arithmetic and contexts shared by normalizers."""

import datetime as dt
from decimal import Decimal

import pyarrow as pa
import pytest

from include.ingest.billing import decimal_ops
from include.ingest.billing.focus import MONEY, TIMESTAMP
from include.ingest.billing.normalize import arrow_parse
from include.ingest.billing.normalize.context import NormalizeContext
from include.ingest.billing.normalize.source import SourceBatch, csv_convert_options

UTC = dt.timezone.utc


def test_strings_turn_empty_into_null():
    assert arrow_parse.strings(pa.array(["a", "", None])).to_pylist() == ["a", None, None]
    assert arrow_parse.strings(pa.array(["", ""])).to_pylist() == [None, None]
    assert arrow_parse.strings(pa.array([1, 2])).to_pylist() == ["1", "2"]


def test_decimals_from_text_exact_with_e_notation():
    values, problems = arrow_parse.decimals(pa.array(["6.71E-8", "1.68230869740", "", None, "-3"]))
    assert problems == {}
    assert values.type == MONEY
    assert values.to_pylist() == [Decimal("6.71E-8"), Decimal("1.68230869740"), None, None, Decimal("-3")]


def test_decimals_report_each_bad_value():
    values, problems = arrow_parse.decimals(pa.array(["1.0", "abc", "1e-39", "1e38", "inf", " 2.5 ", "1_000"]))
    assert values.to_pylist() == [Decimal("1.0"), None, None, None, None, Decimal("2.5"), None]
    assert problems == {
        1: "expected an exact decimal number, got 'abc' (not a number)",
        2: "expected an exact decimal number, got '1e-39' (more than 38 decimal places, the most stored exactly)",
        3: "expected an exact decimal number, got '1e38' (magnitude of 1e38 or more, beyond the stored range)",
        4: "expected an exact decimal number, got 'inf' (not a finite number)",
        6: "expected an exact decimal number, got '1_000' (not a number)",
    }


def test_decimals_from_floats_use_the_shortest_text_not_binary_noise():
    values, problems = arrow_parse.decimals(pa.array([0.1, 1.6823086974, None], pa.float64()))
    assert problems == {} and values.to_pylist() == [Decimal("0.1"), Decimal("1.6823086974"), None]
    nan_values, nan_problems = arrow_parse.decimals(pa.array([float("nan")]))
    assert nan_values.to_pylist() == [None] and "not" in nan_problems[0]


def test_decimals_from_ints_decimals_and_nulls():
    assert arrow_parse.decimals(pa.array([1, None]))[0].to_pylist() == [Decimal(1), None]
    assert arrow_parse.decimals(pa.array([Decimal("1.5")], pa.decimal128(10, 2)))[0].to_pylist() == [Decimal("1.5")]
    assert arrow_parse.decimals(pa.nulls(2))[0].to_pylist() == [None, None]


def test_timestamps_are_utc():
    values, problems = arrow_parse.timestamps(pa.array(["2023-11-01T00:00:00.000Z", "2023-11-01T01:00:00+01:00", ""]))
    assert problems == {} and values.type == TIMESTAMP
    assert values.to_pylist() == [dt.datetime(2023, 11, 1, tzinfo=UTC)] * 2 + [None]
    naive, _ = arrow_parse.timestamps(pa.array(["2023-11-01T05:00:00"]))
    assert naive.to_pylist() == [dt.datetime(2023, 11, 1, 5, tzinfo=UTC)]
    typed, _ = arrow_parse.timestamps(pa.array([dt.datetime(2023, 11, 1)], pa.timestamp("ns")))
    assert typed.to_pylist() == [dt.datetime(2023, 11, 1, tzinfo=UTC)]
    dates, _ = arrow_parse.timestamps(pa.array([dt.date(2023, 11, 1)]))
    assert dates.to_pylist() == [dt.datetime(2023, 11, 1, tzinfo=UTC)]


def test_timestamps_mixed_and_bad_values():
    values, problems = arrow_parse.timestamps(pa.array(["2023-11-01T00:00:00Z", "2023-11-01 02:00:00", "11/01/2023"]))
    assert values.to_pylist()[:2] == [dt.datetime(2023, 11, 1, tzinfo=UTC), dt.datetime(2023, 11, 1, 2, tzinfo=UTC)]
    assert problems == {2: "expected an ISO-8601 UTC timestamp like 2023-11-01T00:00:00Z, got '11/01/2023'"}


def test_exclusive_end():
    ends, _ = arrow_parse.timestamps(pa.array(["2023-11-30T23:59:59Z", "2023-11-05T00:00:00Z", "2023-11-05T10:59:59.999Z", None]))
    assert arrow_parse.exclusive_end(ends).to_pylist() == [
        dt.datetime(2023, 12, 1, tzinfo=UTC), dt.datetime(2023, 11, 5, tzinfo=UTC),
        dt.datetime(2023, 11, 5, 11, tzinfo=UTC), None,
    ]  # fmt: skip


def test_distinct_maps_once_per_value():
    calls = []

    def fn(v):
        calls.append(v)
        return None if v is None else v.upper()

    values = pa.array(["a", "b", "a", None, "b"])
    assert arrow_parse.Distinct(values).map(fn, pa.string()).to_pylist() == ["A", "B", "A", None, "B"]
    assert sorted(map(str, calls)) == ["None", "a", "b"]
    assert arrow_parse.Distinct(values).mask(lambda v: v == "a").to_pylist() == [True, False, True, False, False]


def test_decimal_ops_round_half_even_and_widen():
    a = pa.array([Decimal("0.000000000000000005"), Decimal("99999999999999999999"), None], MONEY)
    b = pa.array([Decimal("0.5"), Decimal("1"), Decimal("1")], MONEY)
    product, overflow = decimal_ops.multiply(a, b)
    assert product.to_pylist()[0] == Decimal("0.0000000000000000025")  # exact: 38 places kept
    assert overflow == [] and product.to_pylist()[1] == Decimal("99999999999999999999")
    tiny = pa.array([Decimal("0.00000000000000000000000000000000000005")], MONEY)  # 5e-38
    halved, _ = decimal_ops.multiply(tiny, pa.array([Decimal("0.5")], MONEY))
    assert halved.to_pylist() == [Decimal("2E-38")]  # 2.5e-38 -> half to even at the 38th place
    big = pa.array([Decimal("99999999999999999999999999999999999999")], MONEY)
    result, overflow = decimal_ops.multiply(big, pa.array([Decimal("10")], MONEY))
    assert overflow == [0] and result.to_pylist() == [None]
    total = decimal_ops.add(pa.array([Decimal("0.1")], MONEY), pa.array([Decimal("0.2")], MONEY))
    assert total.to_pylist() == [Decimal("0.3")]


@pytest.mark.parametrize(
    "batch",
    [
        [{"a": "1", "b": "x"}, {"a": "2", "b": "y"}],
        {"a": ["1", "2"], "b": ["x", "y"]},
        pa.record_batch({"a": ["1", "2"], "b": ["x", "y"]}),
        pa.table({"a": ["1", "2"], "b": ["x", "y"]}),
    ],
    ids=["rows", "columns", "record_batch", "table"],
)
def test_source_batch_shapes(batch):
    source = SourceBatch(batch)
    assert source.names == ["a", "b"] and source.num_rows == 2
    assert source.column("a").to_pylist() == ["1", "2"]
    assert source.raw_rows([1]) == [{"a": "2", "b": "y"}]


def test_source_batch_heterogeneous_rows_and_mixed_types():
    source = SourceBatch([{"a": "1"}, {"a": 2.5, "b": "x"}])
    assert source.names == ["a", "b"]
    assert source.column("a").to_pylist() == ["1", "2.5"]
    assert source.column("b").to_pylist() == [None, "x"]


def test_source_batch_rejects_other_shapes():
    with pytest.raises(TypeError, match="expected a list of row dicts"):
        SourceBatch("a,b\n1,2")
    with pytest.raises(ValueError, match="expected columns of equal length"):
        SourceBatch({"a": [1], "b": [1, 2]})


def test_csv_convert_options_keep_text():
    options = csv_convert_options(["lineItem/UnblendedCost"])
    assert options.column_types["lineItem/UnblendedCost"] == pa.string()
    assert options.strings_can_be_null is False


def test_context_lines_and_advance():
    ctx = NormalizeContext("aws", "1", "2023-11", "v", "c", first_row_ordinal=10, first_line=12)
    assert ctx.line_of(3) == 15
    nxt = ctx.advanced(100)
    assert (nxt.first_row_ordinal, nxt.first_line) == (110, 112)
    explicit = NormalizeContext("aws", "1", "2023-11", "v", "c", line_numbers=(2, 5))
    assert explicit.line_of(1) == 5
    parquet = NormalizeContext("aws", "1", "2023-11", "v", "c", first_line=None)
    assert parquet.line_of(0) is None and parquet.advanced(5).first_line is None
