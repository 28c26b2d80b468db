"""Distinct records are never merged away on a weak key, and no input's content is dropped:
a record judged the same as another keeps its bytes, reachable from its result row."""
import hashlib

from include.ingest.catalog.iso2709 import decode_record, to_iso2709
from include.ingest.catalog.rollback import rollback_batch
from tests.integration.catalog.ingest import (FIXTURES, ingest, marc_contents, results, retitle,
                                              write_marc)

SHARED_ISBN = FIXTURES / "defects" / "isbn_shared_by_distinct_records.mrc"


def titles(conn) -> list[str]:
    return sorted(f["245"]["subfields"][0]["a"] for (content,) in conn.execute(
        "SELECT content FROM catalog.current_records") for f in content["fields"] if "245" in f)


def kept(conn, run_id) -> dict[int, tuple]:
    """source_ordinal → (status, record_id, version, kept marc bytes) of a run."""
    return {o: (s, r, v, bytes(m) if m is not None else None) for o, s, r, v, m in conn.execute(
        "SELECT rr.source_ordinal, rr.status, rr.record_id, rr.version, rr.marc "
        "FROM catalog.record_results rr JOIN catalog.batches b USING (batch_id) "
        "WHERE b.run_id = %s", (run_id,))}


def test_seven_records_sharing_one_isbn_stay_seven_records(catalog, bloom):
    first = ingest(catalog, bloom, SHARED_ISBN, batch_size=3)  # in-file and across batches
    assert (first["created"], first["duplicate_in_file"], first["errors"]) == (7, 0, 0)
    assert len(set(titles(catalog))) == 7
    controls = {v for (v,) in catalog.execute(
        "SELECT value FROM catalog.record_keys WHERE kind = 'control'")}
    assert controls == {f"amdb/{n}" for n in range(4347946, 4347953)}
    # the same file again: every record recognised as itself, nothing new
    second = ingest(catalog, bloom, SHARED_ISBN, batch_size=3)
    assert (second["unchanged"], second["created"], second["updated"]) == (7, 0, 0)
    assert [r[2] for r in results(catalog, second["run_id"])] == [
        r[2] for r in results(catalog, first["run_id"])]


def test_a_distinct_record_is_not_overlaid_on_an_existing_one(catalog, bloom, tmp_path):
    base = marc_contents(SHARED_ISBN)
    ingest(catalog, bloom, write_marc(tmp_path / "a.mrc", base[:1]))
    later = ingest(catalog, bloom, write_marc(tmp_path / "b.mrc", base[1:]))
    assert (later["created"], later["updated"]) == (6, 0)
    detail = catalog.execute("SELECT detail FROM catalog.record_results WHERE status = "
                             "'created' AND detail IS NOT NULL LIMIT 1").fetchone()[0]
    assert "shares isbn 9780199577521 but control numbers differ" in detail


def test_an_in_file_duplicate_with_other_content_keeps_its_bytes(catalog, bloom, tmp_path):
    record = marc_contents(SHARED_ISBN)[2]
    edited = retitle(record, "Managing your library : second thoughts /")
    path = write_marc(tmp_path / "twice.mrc", [record, edited, record])
    summary = ingest(catalog, bloom, path, batch_size=500)
    rows = kept(catalog, summary["run_id"])
    status, rid, version, marc = rows[0]
    assert (status, marc) == ("created", None)
    assert rows[1] == ("duplicate_in_file", rid, version, to_iso2709(edited))
    assert rows[2] == ("duplicate_in_file", rid, version, None)  # identical: the version holds it
    assert decode_record(rows[1][3])[0]["fields"] == edited["fields"]
    # rolled back, the record is deleted; the duplicate's bytes stay in its result row
    rollback_batch(catalog, summary["batch_ids"][0], bloom)
    assert kept(catalog, summary["run_id"])[1][3] == to_iso2709(edited)


def test_keep_existing_keeps_the_incoming_record_in_its_result(catalog, bloom, tmp_path):
    record = marc_contents(SHARED_ISBN)[4]
    first = ingest(catalog, bloom, write_marc(tmp_path / "a.mrc", [record]))
    edited = retitle(record, "Mapping landscapes again /")
    path = write_marc(tmp_path / "b.mrc", [edited])
    for _ in range(2):  # idempotent: the same answer twice
        again = ingest(catalog, bloom, path, policy="keep_existing")
        (status, rid, version, marc), = kept(catalog, again["run_id"]).values()
        assert (status, version, marc) == ("unchanged", 1, to_iso2709(edited))
        assert rid == results(catalog, first["run_id"])[0][2]
    stored = catalog.execute("SELECT content_sha256 FROM catalog.record_versions").fetchall()
    assert stored == [(hashlib.sha256(to_iso2709(record)).hexdigest(),)]  # one version, kept
