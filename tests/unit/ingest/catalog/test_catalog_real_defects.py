"""Real-shaped defects (issue 13 items 3, 4, 6; issue 11 item 4), read from the fixtures in
tests/fixtures/library/defects (make_defects.py says how each was derived)."""
import io
import json
from pathlib import Path

import pytest
from lxml import etree

from include.ingest.catalog.iso2709 import decode_record
from include.ingest.catalog.jsonld import iter_jsonld
from include.ingest.catalog.keys import MAX_KEY_BYTES, marc_keys_from
from include.ingest.catalog.marc import iter_marc
from include.ingest.catalog.marcxml import iter_marcxml, xml_context
from include.ingest.catalog.model import BadRecord, CatalogInputError, ParsedRecord
from include.ingest.catalog.pipeline import prepare
from include.ingest.catalog.plan import plan_batches
from include.ingest.safety import InputRefused
from include.ingest.safety.paths import open_regular

LIBRARY = Path(__file__).resolve().parents[3] / "fixtures" / "library"
DEFECTS = LIBRARY / "defects"


def read_marc(name: str) -> list:
    with (DEFECTS / name).open("rb") as stream:
        return list(iter_marc(stream))


def subfields(record, tag: str) -> list[dict]:
    return next(f[tag]["subfields"] for f in record.content["fields"] if tag in f)


def test_binary_records_over_99999_bytes_with_a_zero_or_nines_length_are_read():
    big, normal, nines = read_marc("record_over_99999_bytes.mrc")
    for record in (big, nines):
        assert isinstance(record, ParsedRecord) and record.marc is None  # kept as JSON
        assert len(record.raw) > 99_999
        assert sum("520" in f for f in record.content["fields"]) == 11
        assert record.content["leader"][:5] == "00000"
        assert any("stored as MARC-in-JSON" in w for w in record.warnings)
    assert isinstance(normal, ParsedRecord) and normal.marc == normal.raw
    assert big.key_fields[0] != nines.key_fields[0]  # their own 001s: two records
    prepared = prepare(big)
    assert prepared.marc is None and json.loads(prepared.content_json) == big.content


def test_a_marcxml_record_over_99999_bytes_is_kept_and_advice_to_re_export_is_gone():
    with (DEFECTS / "record_over_99999_bytes.xml").open("rb") as stream:
        items = list(iter_marcxml(stream))
    assert [type(i).__name__ for i in items] == ["ParsedRecord"] * 3
    assert items[1].marc is None and len(subfields(items[1], "505")[0]["a"]) == 120_000
    assert not any("re-export" in w or "MARCXML" in w for w in items[1].warnings)


def test_marc8_escape_holds_across_subfields_and_spaces_in_eacc_are_one_byte():
    clean, mangled = read_marc("marc8_cjk_880.mrc")
    assert subfields(clean, "880")[1:] == [{"a": "東京大学"}, {"b": "中国 文化史 /"}]
    assert not clean.lossy and clean.warnings == []


def test_mangled_multibyte_and_truncated_escape_are_flagged_losses_not_errors():
    clean, mangled = read_marc("marc8_cjk_880.mrc")
    assert isinstance(mangled, ParsedRecord) and mangled.lossy
    assert subfields(mangled, "880")[1:] == [{"a": "中\ufffd :"}, {"b": "end"}]
    (loss,) = [w for w in mangled.warnings if "880" in w]  # one warning for the field
    assert "2 MARC-8 character(s) could not be converted" in loss and "ord()" not in loss
    mangled.marc.decode("utf-8")  # never invalid UTF-8
    assert decode_record(mangled.marc)[0] == mangled.content


def test_non_ascii_leader_bytes_become_blanks_with_a_loss_and_read_back():
    first, second, third = read_marc("leader_with_windows_1252_bytes.mrc")
    assert first.marc[18:19] == b" " and second.marc[17:18] == b" "
    assert first.lossy and second.lossy and not third.lossy
    assert "leader/18: expected an ASCII code, got byte 0x92" in first.warnings[0]
    for record in (first, second):
        record.marc.decode("utf-8")
        assert decode_record(record.marc)[0]["leader"].isascii()


def test_a_3000_byte_001_and_a_garbage_020_still_give_bounded_keys():
    keys = marc_keys_from(("x" * 3000, "DLC", None, ["(OCoLC)" + "9" * 3000], ["9" * 3000]),
                          "0" * 64)
    assert keys.ocns == () and keys.isbns == ()
    (kind, value), = keys.match_keys()
    assert kind == "control" and value.startswith("DLC/sha256:") and len(value) < MAX_KEY_BYTES
    assert marc_keys_from(("x" * 3000, "DLC", None, [], []), "1" * 64).control == value


def test_a_deeply_nested_json_ld_line_is_a_bad_record_naming_its_line():
    good = (LIBRARY / "folio-linked-data" / "example-import.jsonl").read_bytes().splitlines()[0]
    poison = b'{"@graph": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    data = good + b"\n" + poison + b"\n" + good + b"\n"
    items = list(iter_jsonld(io.BytesIO(data)))
    assert [type(i).__name__ for i in items] == ["ParsedRecord", "BadRecord", "ParsedRecord"]
    bad = items[1]
    assert (bad.ordinal, bad.offset) == (1, len(good) + 1)
    assert "nested too deeply" in bad.reason and "RecursionError" not in bad.reason


def test_a_dlqd_marcxml_record_carries_its_namespace_and_parses_alone():
    path = LIBRARY / "marc2bibframe2" / "collection.xml"
    data = path.read_bytes().replace(b'<marc:subfield code="a">', b"<marc:subfield>", 1)
    with io.BytesIO(data) as stream:
        items = list(iter_marcxml(stream))
    bad = next(i for i in items if isinstance(i, BadRecord))
    assert b'xmlns:marc="http://www.loc.gov/MARC21/slim"' in bad.raw.split(b">")[0]
    etree.fromstring(bad.raw.rstrip())  # namespace-well-formed on its own
    fixed = bad.raw.replace(b"<marc:subfield>", b'<marc:subfield code="a">', 1)
    (again,) = iter_marcxml(io.BytesIO(fixed), context=xml_context(io.BytesIO(fixed)))
    assert isinstance(again, ParsedRecord)


def test_a_marc21_file_given_format_marcxml_fails_the_plan():
    with pytest.raises(CatalogInputError, match="this looks like MARC21 binary"):
        plan_batches(str(LIBRARY / "folio-data-import" / "100.mrc"), "r1", "marcxml",
                     min_batch=1, batch_size=10)


@pytest.mark.parametrize("name, content, fmt", [
    ("empty.mrc", b"", "marc21"), ("blank.jsonl", b"\n\n  \n", "jsonld"),
    ("no-records.xml", b'<?xml version="1.0"?><collection xmlns="http://www.loc.gov/MARC21/slim"/>',
     "auto")])
def test_a_file_of_zero_records_fails_the_plan(tmp_path, name, content, fmt):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(CatalogInputError, match="expected at least one .* record, got"):
        plan_batches(str(path), "r1", fmt, min_batch=1, batch_size=10)


def test_a_relative_path_not_found_names_where_it_looked(tmp_path):
    with pytest.raises(InputRefused, match=f"not found at {tmp_path}/inbox/x.mrc"):
        open_regular(str(tmp_path / "inbox" / "x.mrc"), "inbox/x.mrc")
