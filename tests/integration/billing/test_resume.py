"""Resume inside a chunk: a worker killed (SIGKILL) in the middle of a 50-page Azure chunk
(one subscription, one month), then the chunk retried -- with its Redis cursor, or after a
Redis FLUSHALL from the PostgreSQL mirror. The sandbox's request log shows no completed
page fetched again, and the published slice is exact: the subscription's records as the
sandbox generates them, and the provider's own aggregate (reconciled at publish)."""
import logging
import multiprocessing
import os
import signal
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
from airflow.sdk import RetryAction

from include.ingest.billing.reconcile import publish_reconciled
from include.ingest.billing.sources import azure_cost
from include.ingest.billing.sources.pages import MANIFEST, chunk_dir, page_name
from include.ingest.errors import ThrottledError
from include.ingest.retry_policy import IngestRetryPolicy
from include.ingest.billing.store.ledger import SliceVersion
from sandbox import Sandbox
from sandbox.azure.records import records
from tests.integration.billing.cloud_env import (AZURE_ACCOUNT, RELAXED, azure_client, azure_settings, cloud_env,  # noqa: F401
                                                 load_azure_chunk, page_offset, plan_azure_query, scopes,
                                                 slice_state)

pytestmark = pytest.mark.integration
PAGE = 10  # 1,492 rows a month: 500 in the first subscription -> a 50-page (subscription, month) chunk
# FLUSHALL on the session's own Redis; FLUSHDB (the cursor db only) when INGEST_REDIS_URL points the tests
# at an existing server, which may be a developer's stack whose Celery broker shares it
OWN_REDIS = not os.environ.get("INGEST_REDIS_URL")


@pytest.fixture(scope="module")
def sandbox():
    # the quota is not the subject here: relaxed, so the 50 pages take seconds, not a minute
    with Sandbox(seed=31, scale=1492, months=("2024-01",), providers=("azure",), azure_qpu_limits=RELAXED) as sb:
        yield sb


def _fetch(settings, redis_url, chunk):  # runs in the forked worker that gets killed
    azure_cost.fetch_query_chunk(azure_client(settings, redis_url), chunk, SliceVersion.from_json(chunk["slice"]))


def _pages_saved(conn, chunk):
    row = conn.execute("SELECT pages_landed FROM billing.cursors WHERE chunk_id = %s", (chunk["chunk_id"],)).fetchone()
    conn.commit()
    return row[0] if row else 0


def _kill_mid_chunk(conn, settings, redis_url, chunk, at_page=20):
    worker = multiprocessing.get_context("fork").Process(target=_fetch, args=(settings, redis_url, chunk))
    worker.start()
    deadline = time.monotonic() + 60
    while _pages_saved(conn, chunk) < at_page:
        assert worker.is_alive() and time.monotonic() < deadline, "the worker ended before it could be killed"
        time.sleep(0.01)
    os.kill(worker.pid, signal.SIGKILL)
    worker.join(10)
    return worker.exitcode


@pytest.mark.parametrize("flush_redis", [False, True], ids=["redis-cursor", "after-FLUSHALL"])
def test_a_killed_chunk_resumes_without_refetching_landed_pages(sandbox, cloud_env, redis_url, flush_redis, caplog):
    settings = azure_settings(sandbox, limits=RELAXED)
    client = azure_client(settings, redis_url)
    planned = plan_azure_query(client, scopes(sandbox)[:1], window_days=31, page_size=PAGE)
    (first,) = planned["chunks"]
    sv = SliceVersion.from_json(first["slice"])
    since = max((e["seq"] for e in sandbox.requests("azure")), default=0)

    assert _kill_mid_chunk(cloud_env, settings, redis_url, first) == -signal.SIGKILL
    base = chunk_dir(sv, first["chunk_id"])
    landed = sum(1 for n in range(1, 51) if (base / page_name(n)).exists())
    assert 20 <= landed < 50 and not (base / MANIFEST).exists()
    key = f"cursor:{sv.load_id}|{first['chunk_id']}"
    if flush_redis:
        client_redis = redis.Redis.from_url(redis_url)
        client_redis.flushall() if OWN_REDIS else client_redis.flushdb()
        assert redis.Redis.from_url(redis_url).get(key) is None  # only PostgreSQL remembers now

    caplog.set_level(logging.INFO, logger="include.ingest.billing.sources.pages")
    resumed = load_azure_chunk(client, first)  # the task's retry
    assert f"(cursor from {'postgresql' if flush_redis else 'redis'})" in caplog.text
    published = publish_reconciled(planned, "resume-run")

    scope_path = f"/{first['scope']}/providers/Microsoft.CostManagement/query"
    pages = [e for e in sandbox.requests("azure", "azure.query") if e["seq"] > since and e["path"].lower() == scope_path.lower()
             and e["status"] == 200 and ("$top" in e["query"] or "$skiptoken" in e["query"])]
    fetched = Counter(page_offset(e) for e in pages)
    refetched = sorted(offset // PAGE + 1 for offset, n in fetched.items() if n > 1)
    print(f"\nresume ({'after FLUSHALL' if flush_redis else 'Redis cursor'}): killed after {landed} of 50 pages "
          f"landed; {len(pages)} page fetches for 50 pages; pages fetched again: {refetched or 'none'}")
    assert sorted(fetched) == [PAGE * k for k in range(50)]  # every page, in order, none skipped
    assert all(page > landed for page in refetched) and len(refetched) <= 1  # only the page in flight
    assert resumed["rows_staged"] + resumed["rows_quarantined"] == 500

    expected = [r for r in records(31, AZURE_ACCOUNT, "2024-01", 0, 1492) if r.res.subscription == 0]
    count, keys, billed, _, _ = slice_state(cloud_env)
    assert published["status"] == "published" and published["reconciliation"][0]["status"] == "ok"
    assert count == keys == len(expected) == 500 and billed == sum(r.cost for r in expected)


def test_a_long_retry_after_ends_the_attempt_and_the_retry_resumes(sandbox, cloud_env, redis_url):
    client = azure_client(azure_settings(sandbox, limits=RELAXED), redis_url)
    planned = plan_azure_query(client, scopes(sandbox)[1:2], window_days=31, page_size=PAGE)
    (chunk,) = planned["chunks"]
    since = max((e["seq"] for e in sandbox.requests("azure")), default=0)
    sandbox.set_faults("azure.query:429:nth=21:retry_after=120")  # page 21: "come back in two minutes"
    try:
        with pytest.raises(ThrottledError) as caught:
            load_azure_chunk(client, chunk)
    finally:
        sandbox.clear_faults()
    decision = IngestRetryPolicy().evaluate(caught.value, try_number=1, max_tries=7)
    assert decision.action is RetryAction.RETRY and decision.retry_delay >= timedelta(seconds=120)
    assert "ends and Airflow retries" in str(caught.value)
    assert _pages_saved(cloud_env, chunk) == 20

    resumed = load_azure_chunk(client, chunk)  # Airflow's retry, two minutes later
    scope_path = f"/{chunk['scope']}/providers/Microsoft.CostManagement/query".lower()
    pages = Counter(page_offset(e) for e in sandbox.requests("azure", "azure.query")
                    if e["seq"] > since and e["path"].lower() == scope_path and e["status"] == 200)
    assert sorted(pages) == [PAGE * k for k in range(len(pages))] and set(pages.values()) == {1}
    assert len(pages) == 50 and resumed["rows_staged"] == 496  # the second subscription's 496 records
