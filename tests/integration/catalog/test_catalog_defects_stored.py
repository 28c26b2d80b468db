"""Real-shaped defects through the store (issue 13 items 3-5, issue 11 item 4): every record
kept, losses flagged and counted, a re-ingest unchanged, poison records named."""
import pytest

from include.ingest.catalog.iso2709 import decode_record, to_iso2709
from include.ingest.catalog.model import CatalogInputError
from include.ingest.catalog.pipeline import ingest_batch
from include.ingest.catalog.plan import plan_batches
from include.ingest.catalog.rollback import rollback_batch

from tests.integration.catalog.ingest import FIXTURES, current_content, ingest, results

DEFECTS = FIXTURES / "defects"


def counts(summary) -> tuple:
    return tuple(summary[k] for k in ("created", "updated", "unchanged", "errors", "lossy"))


@pytest.mark.parametrize("name", ["record_over_99999_bytes.mrc", "record_over_99999_bytes.xml"])
def test_records_over_99999_bytes_are_stored_versioned_unchanged_and_rolled_back(
        catalog, bloom, name):
    first = ingest(catalog, bloom, DEFECTS / name)
    assert counts(first) == (3, 0, 0, 0, 0)
    big = catalog.execute("SELECT record_id, content FROM catalog.current_records "
                          "WHERE marc IS NULL").fetchall()
    assert len(big) == (2 if name.endswith(".mrc") else 1)
    for record_id, content in big:
        assert content["leader"][:5] == "00000" and len(content["fields"]) > 11
        assert current_content(catalog, record_id) == content
    again = ingest(catalog, bloom, DEFECTS / name)  # idempotent: nothing changes
    assert counts(again) == (0, 0, 3, 0, 0)
    report = rollback_batch(catalog, first["batch_ids"][0], bloom)
    assert len(report["deleted"]) == 3 and report["conflicts"] == []
    assert catalog.execute("SELECT count(*) FROM catalog.current_records").fetchone()[0] == 0
    assert counts(ingest(catalog, bloom, DEFECTS / name)) == (3, 0, 0, 0, 0)


def test_conversion_losses_are_flagged_counted_and_never_invalid_utf8(catalog, bloom):
    for name, lossy in (("marc8_cjk_880.mrc", [False, True]),
                        ("leader_with_windows_1252_bytes.mrc", [True, True, False])):
        summary = ingest(catalog, bloom, DEFECTS / name)
        assert summary["lossy"] == sum(lossy) and summary["errors"] == 0
        rows = catalog.execute(
            "SELECT rr.lossy, rr.detail FROM catalog.record_results rr JOIN catalog.batches b "
            "USING (batch_id) WHERE b.run_id = %s ORDER BY source_ordinal",
            (summary["run_id"],)).fetchall()
        assert [r[0] for r in rows] == lossy
        assert all(("U+FFFD" in d or "blank" in d) for flag, d in rows if flag)
        assert ingest(catalog, bloom, DEFECTS / name)["unchanged"] == len(lossy)
    for marc, content in catalog.execute("SELECT marc, content FROM catalog.current_records"):
        bytes(marc).decode("utf-8")
        assert content == decode_record(bytes(marc))[0]  # reads back, in SQL and Python


def test_the_same_records_in_another_normal_form_or_leader_09_are_unchanged(catalog, bloom):
    assert ingest(catalog, bloom, FIXTURES / "folio-data-import" / "100.mrc")["created"] == 100
    other = ingest(catalog, bloom, DEFECTS / "records_in_the_other_normal_form.mrc")
    assert (other["unchanged"], other["updated"], other["created"]) == (100, 0, 0)


def test_a_record_with_an_absurd_001_and_a_garbage_020_is_stored_not_lost(catalog, bloom,
                                                                           tmp_path):
    record = (FIXTURES / "folio-data-import" / "100.mrc").read_bytes().split(b"\x1d")[0] + b"\x1d"
    content = decode_record(record)[0]
    fields = [{"001": "4347946" + "x" * 3000} if "001" in f else f for f in content["fields"]
              if "035" not in f]  # its OCN would make it the same record as the next
    fields.append({"020": {"ind1": " ", "ind2": " ", "subfields": [{"a": "9" * 3000}]}})
    path = tmp_path / "poison_keys.mrc"
    path.write_bytes(to_iso2709({"leader": content["leader"], "fields": fields}) + record)
    assert counts(ingest(catalog, bloom, path)) == (2, 0, 0, 0, 0)
    assert counts(ingest(catalog, bloom, path)) == (0, 0, 2, 0, 0)


def test_a_poison_json_ld_line_is_a_dlq_row_and_the_batch_commits(catalog, bloom, tmp_path):
    good = (FIXTURES / "folio-linked-data" / "example-import.jsonl").read_bytes()
    path = tmp_path / "nested.jsonl"
    path.write_bytes(b'{"@graph": ' + b"[" * 50_000 + b"]" * 50_000 + b"}\n" + good)
    summary = ingest(catalog, bloom, path)
    assert (summary["errors"], summary["created"]) == (1, 2)
    (reason, ordinal, offset), = catalog.execute(
        "SELECT reason, source_ordinal, byte_offset FROM catalog.dlq").fetchall()
    assert (ordinal, offset) == (0, 0) and "nested too deeply" in reason
    assert [r[1] for r in results(catalog, summary["run_id"])] == ["error", "created", "created"]


def test_a_failure_while_reading_a_batch_is_recorded_on_it(catalog, bloom, tmp_path):
    path = tmp_path / "changes.mrc"
    path.write_bytes((FIXTURES / "pymarc" / "marc.dat").read_bytes())
    (descriptor, *_) = plan_batches(str(path), "run-parse-fail", "auto", 500, min_batch=1)
    from include.ingest.catalog import batches
    batches.register(catalog, [descriptor])
    path.write_bytes(path.read_bytes()[:-10])  # the landed file changed under the run
    with pytest.raises(CatalogInputError, match="the landed file changed"):
        ingest_batch(catalog, descriptor, bloom)
    summary = batches.run_summary(catalog, "run-parse-fail")
    (failed,) = summary["not_committed"]
    assert failed["last_error"].startswith("reading the batch failed:")
