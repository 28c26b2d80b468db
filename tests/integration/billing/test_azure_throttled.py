"""Azure Query API under throttling: 30 % of calls answered 429 (half of them without any
retry header), two workers sharing the per-tenant limiter in Redis. Exact golden totals,
no duplicate, the sandbox's quota log never above 12 QPU / 10 s, and the wall time close
to what the quota alone allows."""
import queue
import threading
import time
from decimal import Decimal

import pytest

from include.ingest.billing.reconcile import publish_reconciled
from sandbox import Sandbox
from tests.integration.billing.cloud_env import (azure_client, azure_settings, cloud_env,  # noqa: F401
                                                 load_azure_chunk, plan_azure_query, quota_bound_seconds, scopes,
                                                 slice_state)

pytestmark = pytest.mark.integration
# 17 % with retry headers, then 20 % of the rest bare: with this seed exactly 12 of the 40 calls (30 %), 6 + 6
FAULTS = "azure.query:429:rate=0.17:retry_after=1;azure.query:429-bare:rate=0.2"

def test_quota_bound_ideal():
    assert quota_bound_seconds(12) == 0 and quota_bound_seconds(13) == 10 and quota_bound_seconds(27) == 20
    assert quota_bound_seconds(61) == 60  # the minute quota binds after 60 calls


def test_throttled_month_with_two_workers_is_exact_and_within_the_quota(cloud_env, redis_url):
    with Sandbox(seed=21, scale=480, months=("2024-01",), providers=("azure",), faults=FAULTS) as sb:
        settings = azure_settings(sb)
        started = time.monotonic()
        planned = plan_azure_query(azure_client(settings, redis_url), scopes(sb), window_days=31, page_size=20)
        work, errors = queue.Queue(), []
        for chunk in planned["chunks"]:
            work.put(chunk)

        def worker():
            client = azure_client(settings, redis_url)  # own session and token, shared Redis limiter
            while True:
                try:
                    chunk = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    load_azure_chunk(client, chunk)
                except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
                    errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        fetched = time.monotonic() - started
        assert errors == []
        published = publish_reconciled(planned, "throttled-run")
        wall = time.monotonic() - started
        log = sb.requests("azure", "azure.query")
        quota = sb.quota()["tenants"][settings.tenant_id]
        golden = sb.golden("azure", "2024-01")

    count, keys, billed, _, _ = slice_state(cloud_env)
    assert published["status"] == "published"
    assert count == keys == golden["rows"] and billed == Decimal(golden["sums"]["Cost"])
    distinct = cloud_env.execute("SELECT count(DISTINCT (sub_account_id, resource_id, charge_period_start, "
                                 "x_line_item_type)) FROM billing.line_items").fetchone()[0]
    assert distinct == count
    assert all(c["status"] == "ok" for c in published["reconciliation"])

    pages = [e for e in log if e["status"] == 200 and ("$top" in e["query"] or "$skiptoken" in e["query"])]
    assert len({(e["path"], e["query"]) for e in pages}) == len(pages)  # no page fetched twice
    refused = [e for e in log if e["status"] == 429]
    bare = [e for e in refused if e["fault"] == "429-bare"]
    assert quota["throttled"] == 0  # every 429 was an injected fault, none a real quota refusal
    assert quota["max_attempted_qpu_10s"] <= 12 and quota["max_attempted_qpu_60s"] <= 60
    ideal = quota_bound_seconds(quota["granted"])
    ratio = wall / ideal
    print(f"\nazure throttled: {len(log)} calls, {quota['granted']} granted ({len(pages)} pages), "
          f"{len(refused)} answered 429 ({len(refused) / len(log):.0%}; {len(bare)} without retry headers); "
          f"quota peaks {quota['max_attempted_qpu_10s']}/10 s, {quota['max_attempted_qpu_60s']}/60 s; "
          f"wall {wall:.1f} s (fetch {fetched:.1f} s) vs quota-bound ideal {ideal:.1f} s = {ratio:.2f}x")
    assert 0.25 <= len(refused) / len(log) <= 0.35 and 0 < len(bare) < len(refused)
    assert ratio <= 1.5
