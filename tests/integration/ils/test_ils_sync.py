"""ILS sync against the emulator over HTTP, the catalog store in real PostgreSQL and the
shared limiter in real Redis: the ILS ends with exactly the store's holdings and items."""
import pytest

from tests.integration.ils.helpers import (assert_ils_holds_exactly, ingest_catalog, request_log,
                                           sync_all, writes)

pytestmark = pytest.mark.integration
WRITE_ENDPOINTS = ("ils.instances.batch", "ils.holdings.batch", "ils.items.batch",
                   "ils.instances.put", "ils.holdings.put", "ils.items.put")


def test_small_catalog_syncs_and_a_second_run_sends_nothing(store, ils, client_factory, tmp_path):
    made = ingest_catalog(store, tmp_path, bibs=60)
    client = client_factory()
    first = sync_all(store, client, made["batch_ids"])
    counts = assert_ils_holds_exactly(store, ils)
    assert counts["items"] == made["items"] and all(r["synced"] for r in first)
    seq = request_log(ils)[-1]["seq"]
    second = sync_all(store, client, made["batch_ids"])
    assert request_log(ils, since=seq) == [], "a second run must not call the ILS at all"
    assert sum(r[k]["sent"] for r in second for k in ("instances", "holdings", "items")) == 0
    assert store.execute("SELECT count(*) FROM catalog.batches WHERE state = 'synced'").fetchone()[0] \
        == len(made["batch_ids"])


FAULTS = {"seed": 14, "rules": [
    # 20 % of every API call throttled: half with Retry-After, half bare (Alma sends none)
    {"endpoint": "ils.*", "fault": "429", "rate": 0.1, "retry_after": "0"},
    {"endpoint": "ils.*", "fault": "429-bare", "rate": 0.1},
    {"endpoint": "ils.*", "fault": "expire-token", "nth": [10, 40]},  # tokens die mid-run
    {"endpoint": "ils.*.batch", "fault": "edit-conflict", "rate": 0.2},  # a librarian edits
    {"endpoint": "ils.*.put", "fault": "edit-conflict", "rate": 0.2},
]}


def test_ten_thousand_items_under_conflicts_throttling_and_token_expiry(store, ils, client_factory,
                                                                       tmp_path):
    made = ingest_catalog(store, tmp_path, bibs=2000)
    assert made["items"] >= 10_000
    ils.set_faults(FAULTS)
    client = client_factory()
    results = sync_all(store, client, made["batch_ids"])
    counts = assert_ils_holds_exactly(store, ils)
    assert counts["items"] == made["items"]
    assert all(r["synced"] for r in results)
    log = request_log(ils)
    faulted = [e for e in log if e["fault"] in ("429", "429-bare")]
    conflicts = [e for e in log if e["status"] == 409]
    assert len(faulted) / len(log) > 0.15 and conflicts, (len(faulted), len(conflicts), len(log))
    assert client.reauths >= 2, "the expired tokens were refreshed"
    limiter = ils.ils.limiter.summary()
    assert limiter["throttled"] == 0 and limiter["max_attempted_in_window"] <= limiter["threshold"], limiter
    # the librarians' edits stay (their fields are the ILS's), ours won on our fields
    edited = [a for a in ils.ils.store.audit if a.actor == "librarian"]
    assert edited
    for entry in edited[:50]:
        assert ils.ils.store.get(entry.kind, entry.id)["administrativeNotes"]
    ils.clear_faults()
    seq = log[-1]["seq"]
    sync_all(store, client, made["batch_ids"])
    assert request_log(ils, since=seq) == [], "a second run must send nothing"


def test_a_crash_between_the_ils_commit_and_ours_sends_nothing_again(store, ils, settings, client_factory,
                                                                   warehouse_url, redis_url, tmp_path):
    """The exact crash window: the ILS applied a batch of instances, the worker is killed
    (SIGKILL of a real process) before the answer arrives, so our confirm never commits.
    The emulator's `stall-after-write` fault holds the answer back while the test kills."""
    import multiprocessing
    import os
    import signal
    import time
    import uuid

    from tests.integration.ils.helpers import run_sync_in_child

    made = ingest_catalog(store, tmp_path, bibs=30)
    batch = made["batch_ids"][0]
    ils.set_faults({"rules": [{"endpoint": "ils.instances.batch", "fault": "stall-after-write",
                               "nth": [1], "delay": 120}]})
    limiter_key = f"ratelimit:test:{uuid.uuid4().hex}"
    child = multiprocessing.get_context("spawn").Process(target=run_sync_in_child, args=(
        settings.__dict__, warehouse_url, redis_url, limiter_key, [batch], 250))
    child.start()
    deadline = time.monotonic() + 60
    while not writes(ils) and time.monotonic() < deadline and child.is_alive():
        time.sleep(0.02)
    applied = writes(ils)
    assert applied and all(w["status"] in (201, 204) for w in applied), applied[:3]
    os.kill(child.pid, signal.SIGKILL)  # the ILS has the chunk; we never heard back
    child.join(10)
    ils.clear_faults()
    sent_before = {w["id"] for w in applied}
    # the stalled request is logged when it ends, after the ones that follow; its writes carry its number
    seq = max([request_log(ils)[-1]["seq"], *(w["seq"] for w in applied)])
    result = sync_all(store, client_factory(limiter_key), [batch])[0]
    assert result["instances"]["confirmed_after_crash"] == len(sent_before)
    again = {w["id"] for w in writes(ils, since=seq)}
    assert not (again & sent_before), "an instance was sent twice"
    assert_ils_holds_exactly(store, ils)
