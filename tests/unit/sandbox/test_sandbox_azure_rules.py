"""Azure query validation, window rules, columns, filters and the QPU quota (fake clock)."""
from __future__ import annotations

import datetime as dt

import pytest

from sandbox.azure.dataset import AzureDataset
from sandbox.azure.query import DATASET_MISSING, QueryError, matches, parse_body, window
from sandbox.azure.results import compute
from sandbox.azure.quota import QpuQuota
from sandbox.azure.records import record
from sandbox.config import SandboxConfig

TODAY = dt.date(2024, 2, 29)
DS = AzureDataset(SandboxConfig(scale=300))
ACCOUNT = DS.resolve_scope("providers/Microsoft.Billing/billingAccounts/12345678")


def body(frm="2024-01-01", to="2024-01-31", granularity="Daily", grouping=None, **dataset):
    return {"type": "Usage", "timeframe": "Custom", "timePeriod": {"from": f"{frm}T00:00:00Z", "to": f"{to}T00:00:00Z"},
            "dataset": {"granularity": granularity, "aggregation": {"PreTaxCost": {"name": "PreTaxCost", "function": "Sum"}},
                        "grouping": grouping or [], **dataset}}


def test_columns_follow_the_real_example_order():
    spec = parse_body(body(grouping=[{"type": "Dimension", "name": "ResourceGroup"}]), TODAY, "truncate", ACCOUNT)
    assert [c["name"] for c in spec.columns()] == ["PreTaxCost", "ResourceGroup", "UsageDate", "Currency"]
    tag = parse_body(body(granularity="None", grouping=[{"type": "TagKey", "name": "Environment"}]), TODAY, "truncate", ACCOUNT)
    assert [c["name"] for c in tag.columns()] == ["PreTaxCost", "TagKey", "TagValue", "Currency"]


def test_window_rules():
    assert window({"timeframe": "Custom", "timePeriod": {"from": "2024-02-10", "to": "2024-02-01"}}, TODAY) == (dt.date(2024, 2, 1), dt.date(2024, 2, 10))
    assert window({"timeframe": "TheLastMonth"}, TODAY) == (dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert window({"timeframe": "MonthToDate"}, TODAY) == (dt.date(2024, 2, 1), TODAY)
    spec = parse_body(body("2024-01-01", "2024-03-15"), TODAY, "truncate", ACCOUNT)
    assert spec.start == dt.date(2024, 2, 16) and spec.qpu == 2
    with pytest.raises(QueryError, match="at most 31 days"):
        parse_body(body("2024-01-01", "2024-03-15"), TODAY, "error", ACCOUNT)
    with pytest.raises(QueryError, match="37 months"):
        parse_body(body("2020-01-01", "2024-01-31", granularity="None"), TODAY, "truncate", ACCOUNT)
    assert parse_body(body("2023-03-01", "2024-02-29", granularity="None"), TODAY, "truncate", ACCOUNT).qpu == 12


@pytest.mark.parametrize("bad, message", [
    (None, DATASET_MISSING), ({"type": "Usage"}, DATASET_MISSING),
    (dict(body(), type="Forecast"), "expected type one of"),
    (body(granularity="Monthly"), "expected granularity Daily or None"),
    (body(aggregation={"x": {"name": "Cost", "function": "Avg"}}), "expected aggregation"),
    (body(grouping=[{"type": "Dimension", "name": "Colour"}]), "expected grouping type"),
    (body(grouping=[{"type": "Dimension", "name": n} for n in ("ResourceGroup", "Meter", "ServiceName")]), "at most 2"),
    (body(grouping=[{"type": "Dimension", "name": "ResourceId"}]), "subscription or resource group scope"),
    (body(filter={"dimensions": {"name": "ResourceGroup", "operator": "Contains", "values": ["x"]}}), "operator 'In'"),
])
def test_invalid_bodies_are_400_with_reasons(bad, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(")):
        parse_body(bad, TODAY, "truncate", ACCOUNT)


def test_filters_and_aggregation_agree_with_records():
    flt = {"and": [{"dimensions": {"name": "ResourceGroup", "operator": "In", "values": ["RG-WEB", "rg-data"]}},
                   {"not": {"tags": {"name": "Environment", "operator": "In", "values": ["dev"]}}}]}
    spec = parse_body(body(granularity="None", filter=flt), TODAY, "truncate", ACCOUNT)
    result = compute(DS, spec, ACCOUNT)
    expected = sum(r.cost for r in DS.records("2024-01", 0) if matches(flt, r))
    assert result.total == 1 and result.rows(0, 1)[0][0] == expected
    assert matches(flt, record(1, "12345678", "2024-01", 0, 300, 0)) in (True, False)


def test_quota_refuses_over_12_per_10_seconds_and_says_when_to_retry():
    now = [0.0]
    quota = QpuQuota(((10, 12), (60, 60), (3600, 600)), clock=lambda: now[0])
    assert all(quota.charge("t", 1)[0] for _ in range(12))
    granted, retry_after, remaining = quota.charge("t", 1)
    assert not granted and retry_after == 10 and remaining["10s"] == 0
    assert quota.charge("other", 1)[0]
    now[0] = 10.5
    assert quota.charge("t", 1)[0]
    summary = quota.summary()["tenants"]["t"]
    assert summary["max_granted_qpu_10s"] == 12 and summary["throttled"] == 1 and summary["max_attempted_qpu_10s"] == 13
