"""Re-ingesting changes nothing; the Bloom filter never costs a record; overlay policies."""
import gc
import uuid

import pytest

from include.ingest.catalog import batches
from include.ingest.catalog.bloom import BloomFilter
from include.ingest.catalog.pipeline import ingest_batch, parse_batch
from include.ingest.catalog.plan import plan_batches
from include.ingest.catalog.screen import last_commit_seq, screen
from include.ingest.catalog.store import StoreError, commit_batch
from tests.integration.catalog.ingest import (FIXTURES, current_content, ingest, marc_contents,
                                              retitle, write_marc)

TABLES = ("records", "record_versions", "record_keys", "record_results", "dlq", "batches")


def table_counts(conn) -> dict:
    return {t: conn.execute(f"SELECT count(*) FROM catalog.{t}").fetchone()[0] for t in TABLES}


@pytest.mark.parametrize("name", ["folio-data-import/100.mrc", "folio-data-import/61PRINT160129.mrc",
                                  "marc2bibframe2/collection.xml",
                                  "folio-linked-data/10_records_json.rdf",
                                  "pymarc/bad_records.mrc"])
def test_reingesting_the_same_file_changes_nothing(catalog, bloom, name):
    first = ingest(catalog, bloom, FIXTURES / name, batch_size=40)
    versions = catalog.execute("SELECT record_id, version, content_sha256 FROM "
                               "catalog.record_versions ORDER BY 1, 2").fetchall()
    second = ingest(catalog, bloom, FIXTURES / name, batch_size=40)
    assert (second["created"], second["updated"]) == (0, 0)
    assert second["unchanged"] == first["created"]
    assert second["duplicate_in_file"] == first["duplicate_in_file"]
    assert catalog.execute("SELECT record_id, version, content_sha256 FROM "
                           "catalog.record_versions ORDER BY 1, 2").fetchall() == versions


def test_rerunning_a_committed_batch_is_a_no_op(catalog, bloom):
    run_id = f"run-{uuid.uuid4().hex[:8]}"
    (descriptor,) = plan_batches(str(FIXTURES / "folio-data-import" / "100.mrc"), run_id)
    batches.register(catalog, [descriptor])
    batches.register(catalog, [descriptor])  # a retried plan task
    items = parse_batch(descriptor)
    first = commit_batch(catalog, descriptor, items, bloom)
    before = table_counts(catalog)
    again = commit_batch(catalog, descriptor, items, bloom)  # retried / redelivered task
    assert table_counts(catalog) == before
    assert again["already"] and {k: again[k] for k in ("created", "errors", "records_in")} == {
        "created": 100, "errors": 0, "records_in": 100}
    assert first["created"] == 100 and not first["already"]


def _bloom_entries(path) -> list[str]:
    (descriptor,) = plan_batches(str(path), "probe", min_batch=1)
    return [e for item in parse_batch(descriptor) if hasattr(item, "bloom_items")
            for e in item.bloom_items()]


def test_a_forced_false_positive_does_not_drop_a_new_record(catalog, bloom):
    path = FIXTURES / "folio-data-import" / "CornellFOLIOExemplars.mrc"
    entries = _bloom_entries(path)
    bloom.add(entries)  # pre-set bits: every key of these never-seen records now "hits"
    assert all(bloom.contains(entries))
    summary = ingest(catalog, bloom, path)
    assert (summary["created"], summary["unchanged"], summary["duplicate_in_file"]) == (62, 0, 0)


def test_a_commit_after_the_filter_answered_makes_the_batch_look_everything_up(catalog, bloom):
    # batch A is screened (all "new"), then batch B of another run holding the same records
    # commits first (its hits are looked up: A's records are not there yet, so B creates
    # them); A must not trust its stale misses and create every record a second time
    path = FIXTURES / "folio-data-import" / "100.mrc"
    (descriptor,) = plan_batches(str(path), f"run-{uuid.uuid4().hex[:8]}")
    batches.register(catalog, [descriptor])
    items = parse_batch(descriptor)
    screened = screen(catalog, [i for i in items if hasattr(i, "bloom_items")], bloom)
    assert screened.complete_through == screened.seq_before and not any(screened.maybe)
    assert ingest(catalog, bloom, path)["created"] == 100
    late = commit_batch(catalog, descriptor, items, bloom, screened)
    assert (late["created"], late["unchanged"]) == (0, 100)
    assert catalog.execute("SELECT count(*) FROM catalog.records").fetchone()[0] == 100


def test_a_saturated_tiny_filter_still_loses_nothing(catalog, redis_client):
    tiny = BloomFilter(redis_client, name=f"test:tiny:{uuid.uuid4().hex}", capacity=1,
                       bits_per_item=32, k=1)  # one 32-bit word for the whole catalog
    tiny.mark_ready(last_commit_seq(catalog))
    try:
        ingest(catalog, tiny, FIXTURES / "folio-data-import" / "100.mrc")
        others = _bloom_entries(FIXTURES / "folio-data-import" / "61PRINT160129.mrc")
        assert all(tiny.contains(others))  # every new record looks "seen"
        summary = ingest(catalog, tiny, FIXTURES / "folio-data-import" / "61PRINT160129.mrc")
        assert summary["created"] == 246 and summary["unchanged"] == 0
    finally:
        tiny.drop()


def test_a_flushed_filter_is_not_trusted_and_is_rebuilt(catalog, bloom):
    path = FIXTURES / "folio-data-import" / "100.mrc"
    ingest(catalog, bloom, path)
    bloom.drop()  # Redis flushed / evicted: an empty filter would say "new" for everything
    assert not bloom.is_ready()
    assert ingest(catalog, bloom, path)["unchanged"] == 100  # looked up in PostgreSQL
    assert batches.ensure_bloom_ready(catalog, bloom) and bloom.is_ready()
    assert all(bloom.contains(_bloom_entries(path)))
    assert ingest(catalog, bloom, path)["unchanged"] == 100


def test_a_batch_leaves_the_cyclic_gc_as_it_found_it(catalog, bloom):
    path = FIXTURES / "folio-data-import" / "100.mrc"
    assert gc.isenabled()
    ingest(catalog, bloom, path)
    assert gc.isenabled()
    (descriptor,) = plan_batches(str(path), "never-registered")
    with pytest.raises(StoreError):  # a failing batch too
        ingest_batch(catalog, descriptor, bloom)
    assert gc.isenabled()
    gc.disable()
    try:
        ingest(catalog, bloom, path)
        assert not gc.isenabled()  # not switched on behind the caller's back
    finally:
        gc.enable()


def test_the_filter_holds_match_keys_only(catalog, bloom, redis_client):
    path = FIXTURES / "folio-data-import" / "100.mrc"
    ingest(catalog, bloom, path)
    entries = _bloom_entries(path)
    assert entries and {e.split(":", 1)[0] for e in entries} <= {"ocn", "isbn", "control",
                                                                 "content"}
    rebuilt = BloomFilter(redis_client, name=f"test:rebuilt:{uuid.uuid4().hex}", capacity=1000)
    try:
        keys = catalog.execute("SELECT count(*) FROM catalog.record_keys").fetchone()[0]
        assert batches.rebuild_bloom(catalog, rebuilt) == keys  # no fingerprints
        assert rebuilt.is_ready() and all(rebuilt.contains(entries))
    finally:
        rebuilt.drop()


def _changed_copy(tmp_path, count=3):
    contents = marc_contents(FIXTURES / "folio-data-import" / "100.mrc")
    changed = [retitle(c, f"Changed title {i}") if i < count else c
               for i, c in enumerate(contents)]
    return write_marc(tmp_path / "changed.mrc", changed), contents


@pytest.mark.parametrize("policy, expected", [
    ("replace", {"updated": 3, "unchanged": 97, "created": 0}),
    ("keep_existing", {"updated": 0, "unchanged": 100, "created": 0}),
    ("create_new", {"updated": 0, "unchanged": 97, "created": 3}),
])
def test_overlay_policies(catalog, bloom, tmp_path, policy, expected):
    initial = ingest(catalog, bloom, FIXTURES / "folio-data-import" / "100.mrc")
    path, originals = _changed_copy(tmp_path)
    summary = ingest(catalog, bloom, path, policy=policy)
    assert {k: summary[k] for k in expected} == expected
    first = catalog.execute("SELECT record_id FROM catalog.record_results WHERE batch_id = %s "
                            "AND source_ordinal = 0", (initial["batch_ids"][0],)).fetchone()[0]
    if policy == "replace":
        assert current_content(catalog, first) == marc_contents(path)[0]  # exactly as read
        assert {"a": "Changed title 0"} in [f["245"]["subfields"] for f in
                                            current_content(catalog, first)["fields"]
                                            if "245" in f][0]
        row = catalog.execute("SELECT version, previous_version, batch_id FROM "
                              "catalog.record_versions WHERE record_id = %s AND version = 2",
                              (first,)).fetchone()
        assert row[:2] == (2, 1) and row[2] == summary["batch_ids"][0]
    else:  # the existing record is kept as it was
        assert current_content(catalog, first) == originals[0]
    assert catalog.execute("SELECT count(*) FROM catalog.records").fetchone()[0] == (
        100 + expected["created"])
