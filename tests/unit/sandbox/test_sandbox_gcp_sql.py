"""The documented BigQuery query shapes (sandbox/gcp/sql.py)."""
from __future__ import annotations

import pytest

from sandbox.gcp.aggregate import aggregate
from sandbox.gcp.sql import QueryError, normalize, parse
from sandbox.gcp.table import DAY_US, GeneratedTable

GOOGLE_INVOICE_QUERY = """
SELECT
  invoice.month,
  SUM(cost)
    + SUM(IFNULL((SELECT SUM(c.amount)
                  FROM UNNEST(credits) c), 0))
    AS total,
  (SUM(CAST(cost AS NUMERIC))
    + SUM(IFNULL((SELECT SUM(CAST(c.amount AS NUMERIC))
                  FROM UNNEST(credits) AS c), 0)))
    AS total_exact
FROM `project.dataset.gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX`
GROUP BY 1
ORDER BY 1 ASC
;"""


@pytest.fixture(scope="module")
def table():
    return GeneratedTable(1, "A", ("2024-01", "2024-02"), 400)


def test_googles_invoice_query_gives_exact_totals(table):
    q = parse(GOOGLE_INVOICE_QUERY)
    assert q.table == ("project", "dataset", "gcp_billing_export_v1_XXXXXX_XXXXXX_XXXXXX")
    assert [(i.name, i.type) for i in q.items] == [("month", "STRING"), ("total", "FLOAT"), ("total_exact", "NUMERIC")]
    rows = aggregate(q, table.cores(table.runs(q.filter)))
    for row, month in zip(rows, ("2024-01", "2024-02")):
        assert row[0] == month.replace("-", "")
        assert row[1] == row[2] == format(table.golden(month, 0).sums["cost_plus_credits"].normalize(), "f")


def test_unnest_alias_and_spacing_do_not_matter():
    a = normalize("SUM(IFNULL((SELECT SUM(x.amount) FROM UNNEST(credits) AS x), 0))")
    b = normalize("sum( ifnull( ( select sum(c.amount) from unnest(credits) c ) , 0 ) )")
    assert a == b


def test_partition_filters_become_export_time_ranges():
    q = parse("SELECT * FROM ds.t WHERE DATE(_PARTITIONTIME) = DATE '2024-01-10' AND invoice.month IN ('202401','202312')")
    assert q.star and q.filter.months == {"202401", "202312"}
    assert q.filter.export_hi - q.filter.export_lo == DAY_US
    q = parse("SELECT COUNT(*) FROM ds.t WHERE export_time > TIMESTAMP('2024-01-10T00:00:00Z') AND cost_type = 'tax'")
    assert q.filter.export_lo % 1_000_000 == 1 and q.filter.cost_types == {"tax"}


def test_order_limit_and_count(table):
    q = parse("SELECT cost_type, COUNT(*) n FROM ds.t GROUP BY 1 ORDER BY n DESC LIMIT 2")
    rows = aggregate(q, table.cores(table.runs(q.filter)))
    assert len(rows) == 2 and rows[0][0] == "regular" and int(rows[0][1]) > int(rows[1][1])
    empty = parse("SELECT COUNT(*) FROM ds.t WHERE invoice.month = '209901'")
    assert aggregate(empty, table.cores(table.runs(empty.filter))) == [["0"]]


@pytest.mark.parametrize("sql, message", [
    ("DELETE FROM ds.t", "expected SELECT"),
    ("SELECT sku.id FROM ds.t", "unsupported select expression"),
    ("SELECT * FROM ds.t ORDER BY 1", "without GROUP BY / ORDER BY"),
    ("SELECT invoice.month, COUNT(*) FROM ds.t", "without GROUP BY"),
    ("SELECT * FROM ds.t WHERE cost > 1", "unsupported condition"),
    ("SELECT * FROM t", "expected FROM"),
    ("SELECT COUNT(*) + MAX(export_time) FROM ds.t", "only between cost/credit sums"),
])
def test_unsupported_shapes_are_named(sql, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")):
        parse(sql)
