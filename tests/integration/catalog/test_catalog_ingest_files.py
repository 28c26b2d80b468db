"""Every real catalog file ingests: good records in the store, bad ones in the DLQ with their
raw bytes and a reason; nothing is lost and nothing stops a file early."""
import pytest

from include.ingest.catalog.iso2709 import decode_record

from tests.integration.catalog.ingest import FIXTURES, ingest, results

# file → (records in, created, duplicate_in_file, errors); every other count is 0.
EXPECTED = {
    "folio-data-import/100.mrc": (100, 100, 0, 0),
    "folio-data-import/61PRINT160129.mrc": (246, 246, 0, 0),
    "folio-data-import/CornellFOLIOExemplars.mrc": (62, 62, 0, 0),
    "folio-data-import/invalidMarcFile.mrc": (1, 0, 0, 1),
    "folio-data-import/invalidUChicago_SampleBibs.xml": (1, 0, 0, 1),
    "marc2bibframe2/collection.xml": (3, 3, 0, 0),
    "folio-linked-data/example-import.jsonl": (2, 2, 0, 0),
    "folio-linked-data/10_records_json.rdf": (10, 1, 9, 0),  # one Instance @id, ten lines
    "folio-linked-data/failing_mapping_records_json.rdf": (5, 1, 0, 4),
    "pymarc/bad_records.mrc": (8, 1, 1, 6),  # its two good records are identical
    "pymarc/bad_tag.xml": (1, 0, 0, 1),
    "pymarc/batch.xml": (2, 2, 0, 0),
    "pymarc/utf8.xml": (1, 1, 0, 0),
    "pymarc/bad_indicator.dat": (1, 1, 0, 0),
    "pymarc/diacritic.dat": (1, 1, 0, 0),
    "pymarc/marc.dat": (20, 20, 0, 0),
    "pymarc/marc8.dat": (1, 1, 0, 0),
    "pymarc/multi_isbn.dat": (1, 1, 0, 0),
    "pymarc/regression45.dat": (12, 12, 0, 0),
    "pymarc/test.dat": (10, 10, 0, 0),
    "pymarc/testunimarc.dat": (1, 1, 0, 0),
    "pymarc/utf8_invalid.mrc": (1, 1, 0, 0),
    "pymarc/utf8_with_leader_flag.dat": (1, 1, 0, 0),
    "pymarc/utf8_without_leader_flag.dat": (1, 1, 0, 0),
    # derived from the files above (defects/make_defects.py): one defect each
    "defects/isbn_shared_by_distinct_records.mrc": (7, 7, 0, 0),
    "defects/marc8_under_utf8_leader.mrc": (40, 40, 0, 0),
    "defects/record_length_off_by_a_few_bytes.mrc": (44, 44, 0, 0),
    "defects/record_over_99999_bytes.mrc": (3, 3, 0, 0),
    "defects/record_over_99999_bytes.xml": (3, 3, 0, 0),
    "defects/marc8_cjk_880.mrc": (2, 2, 0, 0),
    "defects/leader_with_windows_1252_bytes.mrc": (3, 3, 0, 0),
    "defects/records_in_the_other_normal_form.mrc": (100, 100, 0, 0),
}


def test_every_catalog_fixture_is_listed():
    on_disk = {str(p.relative_to(FIXTURES)) for p in FIXTURES.glob("*/*") if p.suffix != ".py"}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_file_ingests_with_every_record_accounted_for(catalog, bloom, name):
    path = FIXTURES / name
    records_in, created, duplicates, errors = EXPECTED[name]
    summary = ingest(catalog, bloom, path, batch_size=4)  # several batches where possible
    assert (summary["records_in"], summary["created"], summary["duplicate_in_file"],
            summary["errors"], summary["updated"], summary["unchanged"]) == (
        records_in, created, duplicates, errors, 0, 0)
    assert summary["records_planned"] == records_in and summary["not_committed"] == []
    rows = results(catalog, summary["run_id"])
    assert [r[0] for r in rows] == list(range(records_in))  # one result per record, in order
    assert catalog.execute("SELECT count(*) FROM catalog.records").fetchone()[0] == created
    data = path.read_bytes()
    dlq = catalog.execute("SELECT source_ordinal, byte_offset, raw, reason, source, format "
                          "FROM catalog.dlq ORDER BY source_ordinal").fetchall()
    assert len(dlq) == errors
    for ordinal, offset, raw, reason, source, fmt in dlq:
        raw = without_added_namespaces(bytes(raw), data) if fmt == "marcxml" else bytes(raw)
        assert raw == data[offset:offset + len(raw)] and raw  # the exact bytes
        assert reason and source == str(path) and rows[ordinal][1] == "error"
    # the SQL view's MARC-in-JSON is exactly what the Python decoder builds from the bytes
    for marc, content in catalog.execute("SELECT marc, content FROM catalog.current_records "
                                         "WHERE kind = 'marc' AND marc IS NOT NULL"):
        assert content == decode_record(bytes(marc))[0]


def without_added_namespaces(raw: bytes, data: bytes) -> bytes:
    """A DLQ'd MARCXML record as it is in the file: its start tag carries the document's
    namespace declarations in the DLQ (so it re-ingests alone), not in the file."""
    tag_end = raw.index(b">")
    tag = raw[:tag_end]
    while tag not in data:  # drop declarations from the end until the file's own tag remains
        tag = tag[:tag.rindex(b" xmlns")]
    return tag + raw[tag_end:]


def test_good_records_after_bad_ones_are_not_lost(catalog, bloom, tmp_path):
    bad_file = (FIXTURES / "pymarc" / "bad_records.mrc").read_bytes()
    more = (FIXTURES / "folio-data-import" / "100.mrc").read_bytes()[:6000]
    more = more[:more.rindex(b"\x1d") + 1]  # whole records only
    path = tmp_path / "mixed.mrc"
    path.write_bytes(bad_file + more)
    good_after = more.count(b"\x1d")
    summary = ingest(catalog, bloom, path, batch_size=3)
    rows = results(catalog, summary["run_id"])
    statuses = [r[1] for r in rows]
    assert statuses[:8] == ["created"] + ["error"] * 6 + ["duplicate_in_file"]
    assert rows[7][2] == rows[0][2]  # pymarc's second good record: same record as the first
    assert statuses[8:] == ["created"] * good_after and good_after >= 2
    assert (summary["created"], summary["duplicate_in_file"], summary["errors"]) == (
        1 + good_after, 1, 6)
    reasons = [r[0] for r in catalog.execute("SELECT reason FROM catalog.dlq ORDER BY 1")]
    assert any(r.startswith("leader/12-16 (base address of data): expected 25..") and "got 99937" in r for r in reasons)
    assert any(r.startswith("leader/12-16 (base address of data): expected 5 digits") for r in reasons)


def test_marc8_titles_come_out_as_utf8(catalog, bloom):
    ingest(catalog, bloom, FIXTURES / "folio-data-import" / "61PRINT160129.mrc")
    (content,) = catalog.execute(
        "SELECT content FROM catalog.current_records WHERE content @> %s::jsonb",
        ('{"fields": [{"245": {"subfields": [{"a": "The projectionist :"}]}}]}',)).fetchone()
    title = [f["245"]["subfields"] for f in content["fields"] if "245" in f][0]
    assert title == [{"a": "The projectionist :"}, {"b": "the story of Ernest Gébler /"},
                     {"c": "Carlo Gébler."}]
    assert "G\u00e9bler" in title[1]["b"] and content["leader"][9] == "a"
    encodings = dict(catalog.execute("SELECT encoding, count(*) FROM catalog.record_versions "
                                     "GROUP BY 1").fetchall())
    assert encodings == {"marc-8": 64, "ascii": 182}
    # the vendor records all carry OCLC numbers and ISBNs; both became keys
    kinds = dict(catalog.execute("SELECT kind, count(DISTINCT record_id) FROM catalog.record_keys "
                                 "GROUP BY 1").fetchall())
    assert kinds["ocn"] == 246 and kinds["isbn"] == 246


def test_malformed_xml_gives_a_clear_error_and_no_crash(catalog, bloom):
    path = FIXTURES / "folio-data-import" / "invalidUChicago_SampleBibs.xml"
    summary = ingest(catalog, bloom, path)
    assert summary["errors"] == 1 and summary["not_committed"] == []
    raw, reason = catalog.execute("SELECT raw, reason FROM catalog.dlq").fetchone()
    data = path.read_bytes()
    assert without_added_namespaces(bytes(raw), data) == data[286:]
    assert bytes(raw).startswith(b'<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim"')
    assert reason.startswith("malformed XML in the record at byte 286: <datafield> opened at "
                             "line 30 of the record is never closed")
