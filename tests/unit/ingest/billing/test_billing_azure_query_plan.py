"""Azure Query API planning: ≤ 31-day windows, scope kinds and groupings, the request body."""
import datetime as dt

import pytest

from include.ingest.billing.sources import azure_cost
from include.ingest.errors import PermanentError


def test_windows_cover_the_month_without_overlap():
    got = azure_cost.windows("2024-02", 10)
    assert got == [(dt.date(2024, 2, 1), dt.date(2024, 2, 10)), (dt.date(2024, 2, 11), dt.date(2024, 2, 20)),
                   (dt.date(2024, 2, 21), dt.date(2024, 2, 29))]
    assert azure_cost.windows("2024-01", 31) == [(dt.date(2024, 1, 1), dt.date(2024, 1, 31))]
    assert len(azure_cost.windows("2024-01", 1)) == 31


def test_windows_over_31_days_are_refused():
    with pytest.raises(PermanentError, match="window_days in 1..31"):
        azure_cost.windows("2024-01", 32)


@pytest.mark.parametrize("scope, kind, first", [
    ("subscriptions/abc", "subscription", "ResourceId"),
    ("/subscriptions/abc/resourceGroups/rg-web", "resourceGroup", "ResourceId"),
    ("providers/Microsoft.Billing/billingAccounts/12345678", "billingAccount", "SubscriptionId"),
])
def test_scope_kinds_pick_groupings_azure_accepts(scope, kind, first):
    assert azure_cost.scope_kind(scope) == kind
    assert azure_cost.groupings(scope)[0]["name"] == first


def test_unknown_scope_fails_with_a_hint():
    with pytest.raises(PermanentError, match="subscriptions/<id>"):
        azure_cost.scope_kind("tenants/x")


def test_body_is_a_daily_custom_window():
    body = azure_cost.query_body("ActualCost", dt.date(2024, 1, 1), dt.date(2024, 1, 10), [{"type": "Dimension",
                                                                                           "name": "ResourceId"}])
    assert body["timeframe"] == "Custom" and body["dataset"]["granularity"] == "Daily"
    assert body["timePeriod"] == {"from": "2024-01-01T00:00:00Z", "to": "2024-01-10T23:59:59Z"}
    with pytest.raises(PermanentError, match="cost_type"):
        azure_cost.query_body("Forecast", dt.date(2024, 1, 1), dt.date(2024, 1, 2), None)
