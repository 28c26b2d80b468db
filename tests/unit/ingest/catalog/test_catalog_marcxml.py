"""MARCXML reader: per-record failures, safe against entities, streamed by byte ranges."""
import io
import time
from pathlib import Path

import pytest

from include.ingest.catalog import marcxml
from include.ingest.catalog.marcxml import batch_bounds, iter_marcxml, record_offsets, xml_context
from include.ingest.catalog.model import BadRecord, CatalogInputError, ParsedRecord

LIBRARY = Path(__file__).resolve().parents[3] / "fixtures" / "library"
NS = "http://www.loc.gov/MARC21/slim"


def rec(control: str, title: str = "A title", prefix: str = "marc:") -> str:
    p = prefix
    return (f"<{p}record><{p}leader>00000nam a2200000 a 4500</{p}leader>"
            f'<{p}controlfield tag="001">{control}</{p}controlfield>'
            f'<{p}datafield tag="245" ind1="1" ind2="0"><{p}subfield code="a">{title}'
            f"</{p}subfield></{p}datafield></{p}record>\n")


def collection(*records: str, prolog: str = "") -> bytes:
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}'
            f'<marc:collection xmlns:marc="{NS}">\n' + "".join(records)
            + "</marc:collection>\n").encode()


def read(data: bytes):
    return list(iter_marcxml(io.BytesIO(data)))


def kinds(items):
    return ["ok" if isinstance(i, ParsedRecord) else "bad" for i in items]


def test_one_malformed_record_fails_alone():
    data = collection(rec("1"), rec("2").replace("</marc:datafield>", ""), rec("3"))
    items = read(data)
    assert kinds(items) == ["ok", "bad", "ok"]
    assert [i.ordinal for i in items] == [0, 1, 2]
    assert "<marc:subfield>" not in items[1].reason and "record at byte" in items[1].reason
    assert data[items[1].offset:].startswith(b"<marc:record>") and b'"001">2<' in items[1].raw
    assert items[2].content["fields"][0] == {"001": "3"}


def test_folio_invalid_uchicago_sample_is_one_clear_error():
    (item,) = read((LIBRARY / "folio-data-import" / "invalidUChicago_SampleBibs.xml").read_bytes())
    assert isinstance(item, BadRecord)
    assert item.reason.startswith("malformed XML in the record at byte 286: <datafield> opened at "
                                  "line 30 of the record is never closed")


def test_missing_attributes_and_bad_tags_are_record_errors():
    no_code = rec("2").replace(' code="a"', "")
    no_tag = rec("3").replace(' tag="001"', "")
    items = read(collection(rec("1"), no_code, no_tag, rec("4")))
    assert kinds(items) == ["ok", "bad", "bad", "ok"]
    assert "subfield of 245 without a code attribute" in items[1].reason
    assert "controlfield without a tag attribute" in items[2].reason
    (bad_tag,) = read((LIBRARY / "pymarc" / "bad_tag.xml").read_bytes())
    assert "datafield tag '42'" in bad_tag.reason


def test_external_entities_are_never_resolved():
    prolog = '<!DOCTYPE marc:collection [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    items = read(collection(rec("1", "&xxe;"), rec("2"), prolog=prolog))
    assert kinds(items) == ["bad", "ok"]
    assert "Entity 'xxe' not defined" in items[0].reason
    assert b"root:" not in b"".join(i.raw for i in items)


def test_entity_expansion_bomb_does_not_expand():
    lol = ['<!ENTITY lol "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)]
    prolog = "<!DOCTYPE marc:collection [" + "".join(lol) + "]>\n"
    started = time.monotonic()
    items = read(collection(rec("1", "&lol9;"), rec("2"), prolog=prolog))
    assert time.monotonic() - started < 2
    assert kinds(items) == ["bad", "ok"] and "lol9" in items[0].reason


def test_default_namespace_and_no_prefix():
    data = (f'<collection xmlns="{NS}">' + rec("1", prefix="") + rec("2", prefix="")
            + "</collection>").encode()
    items = read(data)
    assert kinds(items) == ["ok", "ok"]
    assert items[1].content["fields"][1]["245"]["subfields"] == [{"a": "A title"}]


def test_real_collections_parse():
    items = read((LIBRARY / "marc2bibframe2" / "collection.xml").read_bytes())
    assert kinds(items) == ["ok"] * 3
    assert items[0].content["fields"][0] == {"001": "5637241"}
    assert all(i.content["leader"][9] == "a" for i in items)


def test_batches_are_byte_ranges_of_whole_records(monkeypatch):
    monkeypatch.setattr(marcxml, "READ_BLOCK", 300)  # tags straddle block boundaries
    data = collection(*(rec(str(i), "t" * (i * 7)) for i in range(25)))
    stream = io.BytesIO(data)
    assert len(list(record_offsets(stream))) == 25
    bounds = list(batch_bounds(stream, 10))
    assert [b[2] for b in bounds] == [10, 10, 5]
    context = xml_context(stream)
    seen = []
    for no, (start, end, _) in enumerate(bounds):
        seen += [i.content["fields"][0]["001"] for i in
                 iter_marcxml(stream, start, end, no * 10, context)]
    assert seen == [str(i) for i in range(25)]


def test_utf16_input_is_refused_with_advice():
    with pytest.raises(CatalogInputError, match="iconv"):
        xml_context(io.BytesIO(collection(rec("1")).decode().encode("utf-16")))


def test_not_xml_records_at_all():
    (item,) = read(b"<html><body>hello</body></html>")
    assert "no MARCXML <record> element" in item.reason


def test_a_record_iso2709_cannot_hold_is_kept_as_marc_in_json():
    long_note = ('<marc:datafield tag="500" ind1=" " ind2=" "><marc:subfield code="a">'
                 + "x" * 9000 + "</marc:subfield></marc:datafield>")
    huge = rec("2").replace("</marc:record>", long_note * 12 + "</marc:record>")
    items = read(collection(rec("1"), huge, rec("3")))
    assert kinds(items) == ["ok", "ok", "ok"]
    assert items[1].marc is None and len(items[1].content["fields"]) > 12
    assert "ISO 2709 allows at most 99,999" in items[1].warnings[-1]
    assert "re-export" not in " ".join(items[1].warnings)
