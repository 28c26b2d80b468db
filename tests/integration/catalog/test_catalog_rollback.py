"""Rolling back a batch restores the exact previous versions, deletes what it created, and
reports — never overwrites — records a later batch changed."""
import pytest

from include.ingest.catalog import batches
from include.ingest.catalog.rollback import rollback_batch
from include.ingest.catalog.store import StoreError
from tests.integration.catalog.ingest import (FIXTURES, current_content, ingest, marc_contents,
                                              retitle, write_marc)

BASE = FIXTURES / "folio-data-import" / "100.mrc"


def record_ids(conn, batch_id):
    return dict(conn.execute("SELECT source_ordinal, record_id FROM catalog.record_results "
                             "WHERE batch_id = %s", (batch_id,)).fetchall())


def keys_of(conn, record_id):
    return sorted(conn.execute("SELECT kind, value FROM catalog.record_keys WHERE record_id = %s",
                               (record_id,)).fetchall())


@pytest.fixture
def base(catalog, bloom):
    """100.mrc as the catalog's first batch: (record ids by ordinal, contents by ordinal)."""
    summary = ingest(catalog, bloom, BASE)
    ids = record_ids(catalog, summary["batch_ids"][0])
    return ids, {o: current_content(catalog, rid) for o, rid in ids.items()}


def test_rollback_restores_previous_versions_and_deletes_created_records(catalog, bloom, base,
                                                                          tmp_path):
    ids, before = base
    keys_before = {o: keys_of(catalog, ids[o]) for o in range(3)}
    contents = marc_contents(BASE)
    newcomers = marc_contents(FIXTURES / "folio-data-import" / "CornellFOLIOExemplars.mrc")[:2]
    # batch B: 3 changed titles and a changed ISBN (keys change too) + 2 new records
    changed = [retitle(contents[i], f"B {i}") for i in range(3)]
    changed[2]["fields"].append({"020": {"ind1": " ", "ind2": " ",
                                         "subfields": [{"a": "0306406152 (pbk.)"}]}})
    path = write_marc(tmp_path / "b.mrc", changed + newcomers)
    b = ingest(catalog, bloom, path)
    assert (b["updated"], b["created"]) == (3, 2)
    batch_b = b["batch_ids"][0]
    assert ("isbn", "9780306406157") in keys_of(catalog, ids[2])
    created = [rid for o, rid in record_ids(catalog, batch_b).items() if o >= 3]

    report = rollback_batch(catalog, batch_b)
    assert report["restored"] == sorted(ids[o] for o in range(3))
    assert report["deleted"] == sorted(created) and report["conflicts"] == []
    assert ("isbn", "9780306406157") not in keys_before[2]
    for o in range(3):  # the exact previous version, and its keys
        assert current_content(catalog, ids[o]) == before[o]
        assert keys_of(catalog, ids[o]) == keys_before[o]
    for rid in created:
        assert current_content(catalog, rid) is None and keys_of(catalog, rid) == []
    assert catalog.execute("SELECT state FROM catalog.batches WHERE batch_id = %s",
                           (batch_b,)).fetchone()[0] == "rolled_back"
    # history is kept: B's versions are still there, restored records point at version 1
    assert catalog.execute("SELECT count(*) FROM catalog.record_versions WHERE batch_id = %s",
                           (batch_b,)).fetchone()[0] == 5
    again = rollback_batch(catalog, batch_b)
    assert again["already"] and again["restored"] == report["restored"]
    # the rolled-back newcomers are gone for matching: ingesting them again creates them
    assert ingest(catalog, bloom, write_marc(tmp_path / "n.mrc", newcomers))["created"] == 2


def test_a_later_change_is_a_conflict_left_alone(catalog, bloom, base, tmp_path):
    ids, before = base
    contents = marc_contents(BASE)
    b = ingest(catalog, bloom, write_marc(tmp_path / "b.mrc", [
        retitle(contents[0], "B 0"), retitle(contents[1], "B 1")]))
    b_content = current_content(catalog, ids[0])
    c = ingest(catalog, bloom, write_marc(tmp_path / "c.mrc", [retitle(contents[0], "C 0")]))
    c_content = current_content(catalog, ids[0])
    assert (b["updated"], c["updated"]) == (2, 1)

    report = rollback_batch(catalog, b["batch_ids"][0])
    assert report["conflicts"] == [{"record_id": ids[0], "batch_version": 2, "current_version": 3,
                                    "current_batch": c["batch_ids"][0]}]
    assert report["restored"] == [ids[1]] and report["deleted"] == []
    assert current_content(catalog, ids[0]) == c_content  # not overwritten
    assert current_content(catalog, ids[1]) == before[1]
    # rolling back the later batch now restores the version it replaced (B's)
    report_c = rollback_batch(catalog, c["batch_ids"][0])
    assert report_c["restored"] == [ids[0]] and report_c["conflicts"] == []
    assert current_content(catalog, ids[0]) == b_content


def test_only_committed_batches_roll_back(catalog, bloom, base):
    with pytest.raises(StoreError, match="no batch nope"):
        rollback_batch(catalog, "nope")
    from include.ingest.catalog.plan import plan_batches
    (staged,) = plan_batches(str(BASE), "staged-run", min_batch=1)
    batches.register(catalog, [staged])
    with pytest.raises(StoreError, match="is staged: nothing was committed"):
        rollback_batch(catalog, staged["batch_id"])


def test_a_synced_batch_rolls_back_too(catalog, bloom, base, tmp_path):
    ids, before = base
    b = ingest(catalog, bloom, write_marc(tmp_path / "b.mrc", [
        retitle(marc_contents(BASE)[5], "B 5")]))
    batches.mark_synced(catalog, b["batch_ids"][0])
    report = rollback_batch(catalog, b["batch_ids"][0])
    assert report["previous_state"] == "synced" and report["restored"] == [ids[5]]
    assert current_content(catalog, ids[5]) == before[5]


def test_rolled_back_keys_reach_a_rebuilt_bloom_filter(catalog, bloom, base, tmp_path):
    """B drops record 0's ISBNs, the filter is rebuilt (Redis flushed), B is rolled back: the
    restored ISBN must be in the filter, or a later record known only by it is trusted as
    new and created a second time."""
    ids, _ = base
    record = marc_contents(BASE)[0]
    without_isbn = {**record, "fields": [f for f in record["fields"] if "020" not in f]}
    b = ingest(catalog, bloom, write_marc(tmp_path / "b.mrc", [without_isbn]))
    assert b["updated"] == 1 and ("isbn", "9780199577521") not in keys_of(catalog, ids[0])
    bloom.drop()  # as after a FLUSHALL: the next user rebuilds it from catalog.record_keys
    batches.ensure_bloom_ready(catalog, bloom)
    assert bloom.contains(["isbn:9780199577521"]) == [False]

    rollback_batch(catalog, b["batch_ids"][0], bloom)
    assert ("isbn", "9780199577521") in keys_of(catalog, ids[0])
    assert bloom.contains(["isbn:9780199577521"]) == [True]

    # the same book without its control and OCLC numbers: known by the ISBN only (another
    # 001 under the same 003 would make it a distinct record)
    isbn_only = {**record, "fields": [
        f for f in record["fields"] if not {"001", "003", "035"} & set(f)]}
    records_before = catalog.execute("SELECT count(*) FROM catalog.records").fetchone()[0]
    c = ingest(catalog, bloom, write_marc(tmp_path / "c.mrc", [isbn_only]))
    assert c["created"] == 0 and c["updated"] == 1
    assert record_ids(catalog, c["batch_ids"][0]) == {0: ids[0]}
    assert catalog.execute("SELECT count(*) FROM catalog.records").fetchone()[0] == records_before
