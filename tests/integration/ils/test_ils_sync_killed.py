"""A sync killed mid-way (SIGKILL of a real process) and resumed sends no record twice."""
import collections
import multiprocessing
import os
import signal
import time
import uuid

import pytest

from tests.integration.ils.helpers import (assert_ils_holds_exactly, ingest_catalog,
                                           run_sync_in_child, sync_all, writes)

pytestmark = pytest.mark.integration


def test_killed_sync_resumes_without_sending_a_record_twice(store, ils, settings, client_factory,
                                                            warehouse_url, redis_url, tmp_path):
    made = ingest_catalog(store, tmp_path, bibs=400)
    ctx = multiprocessing.get_context("spawn")
    limiter_key = f"ratelimit:test:{uuid.uuid4().hex}"  # the killed run's and the resume's
    child = ctx.Process(target=run_sync_in_child, args=(
        settings.__dict__, warehouse_url, redis_url, limiter_key,
        made["batch_ids"], 40))
    child.start()
    deadline = time.monotonic() + 120
    while len(writes(ils)) < made["items"] // 3 and time.monotonic() < deadline and child.is_alive():
        time.sleep(0.05)
    assert child.is_alive(), "expected the sync still running when it is killed"
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    assert child.exitcode == -signal.SIGKILL
    before = len(writes(ils))
    assert 0 < before < made["items"]
    results = sync_all(store, client_factory(limiter_key), made["batch_ids"], 40)
    assert all(r["synced"] for r in results)
    assert_ils_holds_exactly(store, ils)
    accepted = collections.Counter(w["id"] for w in writes(ils) if w["status"] in (201, 204))
    twice = [rid for rid, n in accepted.items() if n > 1]
    assert twice == [], f"{len(twice)} records were sent twice, e.g. {twice[:3]}"
