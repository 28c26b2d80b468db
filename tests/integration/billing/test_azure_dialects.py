"""The sandbox's Azure exports in every header dialect (EA PascalCase with brace-less tags,
MCA camelCase, localized German, pay-as-you-go behind a BOM) and the Query API, published
one after another as the same slice: each exact to its golden, and the same charges give
the same FOCUS values in every column all of them carry."""
from decimal import Decimal

import pytest

from include.ingest.billing.reconcile import publish_reconciled
from sandbox import Sandbox
from tests.integration.billing.cloud_env import (RELAXED, azure_client, azure_settings, cloud_env,  # noqa: F401
                                                 load_azure_chunk, plan_azure_query, run_azure_export, scopes)

pytestmark = pytest.mark.integration
DIALECTS = ("ea", "mca", "de", "payg-bom")
# carried by every dialect; ChargeCategory / PricingCategory need ChargeType / PricingModel, which the German
# and pay-as-you-go files lack (they normalize to Usage / NULL there, and ConsumedQuantity/Unit follow the
# category), SubAccountName needs SubscriptionName
SHARED = ("billed_cost", "effective_cost", "list_cost", "billing_currency", "charge_period_start",
          "charge_period_end", "billing_period_start", "billing_period_end", "resource_id", "resource_name",
          "resource_type", "service_name", "service_category", "sub_account_id", "region_id", "region_name",
          "tags")
QUERY_SHARED = ("billed_cost", "charge_period_start", "resource_id", "resource_type", "service_name",
                "service_category", "sub_account_id", "charge_category")


def _rows(conn, columns):
    rows = conn.execute(f"SELECT {', '.join(columns)} FROM billing.line_items "
                        "ORDER BY sub_account_id, resource_id, charge_period_start").fetchall()
    conn.commit()
    return rows


def test_every_dialect_and_the_query_api_agree(cloud_env, redis_url):
    seen = {}
    with Sandbox(seed=61, scale=150, months=("2024-01",), providers=("azure",), azure_qpu_limits=RELAXED) as sb:
        client = azure_client(azure_settings(sb, limits=RELAXED), redis_url)
        for dialect in DIALECTS:
            planned, published = run_azure_export(client, f"sandbox-{dialect}-actualcost")
            golden = sb.golden(f"azure-export:{dialect}", "2024-01")
            assert planned["slice"]["version"] == golden["version"] == golden["info"]["runId"]
            assert (published["rows_published"], published["rows_quarantined"]) == (golden["rows"], 0)
            (cost,) = golden["sums"].values()  # the dialect's own cost column
            assert Decimal(published["billed_cost"]) == Decimal(cost)
            seen[dialect] = (_rows(cloud_env, SHARED), _rows(cloud_env, QUERY_SHARED))
        planned = plan_azure_query(client, scopes(sb), window_days=31, page_size=200)
        for chunk in planned["chunks"]:
            load_azure_chunk(client, chunk)
        assert publish_reconciled(planned)["status"] == "published"
        query_rows = _rows(cloud_env, QUERY_SHARED)
    for dialect in DIALECTS[1:]:
        assert seen[dialect][0] == seen["ea"][0], dialect
    assert query_rows == seen["ea"][1] == seen["mca"][1]  # ChargeType-bearing sources agree on the category too
    tagged = sum(1 for row in seen["ea"][0] if row[SHARED.index("tags")])
    print(f"\nazure dialects: {len(query_rows)} charges identical across {', '.join(DIALECTS)} and the "
          f"Query API ({tagged} tagged)")
    assert tagged > 0


def test_billing_account_scope_groups_by_subscription_and_type_and_stays_exact(cloud_env, redis_url):
    with Sandbox(seed=62, scale=150, months=("2024-01",), providers=("azure",), azure_qpu_limits=RELAXED) as sb:
        client = azure_client(azure_settings(sb, limits=RELAXED), redis_url)
        account_scope = sb.endpoints["azure"]["scope"]  # ResourceId grouping is refused at this scope
        planned = plan_azure_query(client, [account_scope], window_days=31, page_size=500)
        for chunk in planned["chunks"]:
            load_azure_chunk(client, chunk)
        published = publish_reconciled(planned)
        golden, subscriptions = sb.golden("azure", "2024-01"), set(sb.endpoints["azure"]["subscriptions"])
    assert published["status"] == "published" and published["rows_quarantined"] == 0
    assert Decimal(published["billed_cost"]) == Decimal(golden["sums"]["Cost"])
    assert published["rows_published"] < golden["rows"]  # one row per day, subscription and resource type
    subs, services = cloud_env.execute("SELECT array_agg(DISTINCT sub_account_id), array_agg(DISTINCT "
                                       "service_name) FROM billing.line_items").fetchone()
    assert set(subs) == subscriptions and all(s.startswith("microsoft.") for s in services)
