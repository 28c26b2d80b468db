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
