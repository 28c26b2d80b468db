"""Values spliced into BigQuery SQL and Azure nextLinks are untrusted (issue 11 item 6):
a DLQ entry or a connection carrying a quote or another host is refused, never run."""
import pytest

from include.ingest.billing.sources.azure_cost import same_origin
from include.ingest.billing.sources.gcp_bigquery import chunk_sql
from include.ingest.http.exceptions import PermanentError

TABLE = "sandbox-project.billing.gcp_billing_export_v1_010101_ABCDEF_123456"
CHUNK = {"partition": "2024-01-31", "max_export_time": "2024-02-01T03:04:05.123456Z"}


def test_a_well_formed_chunk_gives_the_query():
    sql = chunk_sql(TABLE, "2024-01", CHUNK)
    assert "invoice.month = '202401'" in sql and "TIMESTAMP('2024-02-01T03:04:05.123456Z')" in sql


@pytest.mark.parametrize("field,value", [
    ("partition", "2024-01-31' OR '1'='1"),
    ("max_export_time", "2024-02-01') UNION ALL SELECT * FROM `other.secret.table` --"),
    ("max_export_time", "now"),
])
def test_an_injected_chunk_value_is_refused(field, value):
    with pytest.raises(PermanentError, match="nothing else is accepted"):
        chunk_sql(TABLE, "2024-01", {**CHUNK, field: value})


@pytest.mark.parametrize("table,period", [
    ("p.d.t` WHERE 1=1 --", "2024-01"), ("only.two", "2024-01"), (TABLE, "2024-13"),
    (TABLE, "2024-01' OR 1=1 --"),
])
def test_an_injected_table_or_period_is_refused(table, period):
    with pytest.raises(PermanentError, match="expected a (BigQuery table|billing period)"):
        chunk_sql(table, period, CHUNK)


def test_a_next_link_on_the_same_origin_is_followed():
    first = "https://management.azure.com/subscriptions/1/providers/Microsoft.CostManagement/query?api-version=2023-11-01"
    nxt = first + "&$skiptoken=abc"
    assert same_origin(nxt, first) == nxt


@pytest.mark.parametrize("nxt", [
    "https://attacker.example/collect?$skiptoken=abc",
    "http://management.azure.com/subscriptions/1/query?$skiptoken=abc",  # downgraded scheme
    "https://management.azure.com:8443/subscriptions/1/query?$skiptoken=abc",
    "https://management.azure.com.attacker.example/q",
])
def test_a_next_link_to_another_origin_never_gets_the_token(nxt):
    with pytest.raises(PermanentError, match="refusing to send the token there"):
        same_origin(nxt, "https://management.azure.com/subscriptions/1/query?api-version=2023-11-01")
