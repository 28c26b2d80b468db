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


def test_a_crash_between_send_and_confirm_sends_nothing_again(store, ils, client_factory, tmp_path):
    """The exact crash window: the ILS accepted a chunk, our confirm never committed."""
    from include.ingest.ils import sync_state
    from include.ingest.ils.mapping import MappingConfig
    from include.ingest.ils.push import Pusher
    from include.ingest.ils.source import batch_record_ids, wanted

    made = ingest_catalog(store, tmp_path, bibs=30)
    client = client_factory()
    batch = made["batch_ids"][0]
    want = wanted(store, batch_record_ids(store, batch), MappingConfig())
    confirm = sync_state.confirm
    sync_state.confirm = lambda *a, **k: None  # the process "dies" before every confirm
    try:
        Pusher(client, store, batch, 250).push(want.instances)
    finally:
        sync_state.confirm = confirm
    sent_before = {w["id"] for w in writes(ils)}
    seq = request_log(ils)[-1]["seq"]
    result = sync_all(store, client, [batch])[0]
    assert result["instances"]["confirmed_after_crash"] == len(want.instances)
    again = {w["id"] for w in writes(ils, since=seq)}
    assert not (again & sent_before), "an instance was sent twice"
    assert_ils_holds_exactly(store, ils)
