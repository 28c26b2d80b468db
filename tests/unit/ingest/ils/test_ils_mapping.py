"""The catalog → FOLIO mapping on real-shaped records: 61PRINT160129.mrc's III 945 item
fields, CornellFOLIOExemplars.mrc's 852, a MARC Holdings record, FOLIO's example item."""
import json
from pathlib import Path

from include.ingest.catalog.marc import iter_marc
from include.ingest.ils.holdings_map import from_bib, from_mfhd, mfhd_link
from include.ingest.ils.mapping import MappingConfig, instance_doc, merge, project

LIB = Path(__file__).resolve().parents[3] / "fixtures" / "library"
CFG = MappingConfig()


def records(name):
    with (LIB / "folio-data-import" / name).open("rb") as fh:
        return [r.content for r in iter_marc(fh) if hasattr(r, "content")]


def test_vendor_945_item_fields_become_items_in_one_holding_per_location_and_call_number():
    content = records("61PRINT160129.mrc")[0]  # 945 $i 0000000618390260 $l fhgen, 090 320.4538 1
    instance = instance_doc(7, content, CFG)
    mapped = from_bib(7, content, instance.ils_id, CFG)
    assert instance.fields["title"].startswith("Muted modernists")
    assert [h.fields["callNumber"] for h in mapped.holdings] == ["320.4538 1"]
    assert mapped.holdings[0].fields["permanentLocationId"] == CFG.location_id("fhgen")
    [item] = mapped.items
    assert item.identity == "barcode:0000000618390260"
    assert item.fields["holdingsRecordId"] == mapped.holdings[0].ils_id
    assert item.fields["copyNumber"] == "1" and item.create_only == {"status": {"name": "Available"}}
    assert mapped.problems == []


def test_identities_are_stable_so_a_resync_updates_instead_of_duplicating():
    for content in records("61PRINT160129.mrc")[:20]:
        first = from_bib(1, content, "i", CFG)
        again = from_bib(1, json.loads(json.dumps(content)), "i", CFG)
        assert [d.ils_id for d in first.items] == [d.ils_id for d in again.items]
        assert [d.sha256 for d in first.holdings] == [d.sha256 for d in again.holdings]


def test_an_852_without_a_location_is_a_problem_not_a_holding():
    cornell = [c for c in records("CornellFOLIOExemplars.mrc")
               if any("852" in f for f in c["fields"])]
    mapped = from_bib(3, cornell[0], "i", CFG)  # 852 $a NIC $j 4354: no $b
    assert mapped.holdings == [] and "expected a location in $b" in mapped.problems[0]


def test_marc_holdings_record_is_one_holding_with_its_876_items():
    mfhd = {"leader": "00000nx  a2200000un 4500", "fields": [
        {"001": "h17"}, {"003": "OCoLC"}, {"004": "ocn910504526"},
        {"852": {"ind1": "0", "ind2": " ", "subfields": [{"b": "annex"}, {"h": "Z1016"}, {"i": ".E38"}, {"k": "Folio"}]}},
        {"866": {"ind1": "4", "ind2": "1", "subfields": [{"8": "0"}, {"a": "v.1-49 (1950-1998)"}]}},
        {"876": {"ind1": " ", "ind2": " ", "subfields": [{"p": "39001"}, {"3": "v.1"}]}},
        {"876": {"ind1": " ", "ind2": " ", "subfields": [{"p": "39001"}, {"3": "v.2"}]}}]}
    assert mfhd_link(mfhd) == "OCoLC/ocn910504526"
    mapped = from_mfhd(9, mfhd, "inst", CFG)
    [holding] = mapped.holdings
    assert holding.identity == "mfhd:OCoLC/h17"
    assert holding.fields["callNumber"] == "Z1016 .E38" and holding.fields["callNumberPrefix"] == "Folio"
    assert holding.fields["holdingsStatements"] == [{"statement": "v.1-49 (1950-1998)"}]
    assert [i.fields["volume"] for i in mapped.items] == ["v.1"]
    assert "barcode 39001 twice" in mapped.problems[0]


def test_merge_keeps_the_ils_fields_and_version_and_our_fields_win():
    ils_item = json.loads((LIB.parent / "ils" / "folio-inventory" / "item_get.json").read_text())
    ils_item["_version"] = 4
    content = records("61PRINT160129.mrc")[0]
    [ours] = from_bib(1, content, "i", CFG).items
    body = merge(ours, ils_item)
    assert body["_version"] == 4 and body["status"] == {"name": "In transit"}  # circulation's
    assert body["tags"] == {"tagList": ["important"]} and body["barcode"] == "0000000618390260"
    assert project("items", body) == ours.fields


def test_item_field_layout_is_configurable():
    cfg = MappingConfig.from_json({"item_fields": {"945": {"barcode": "i", "location": "l", "copy": "g"}},
                                   "location_ids": {"fhgen": "11111111-1111-4111-8111-111111111111"}})
    [holding] = from_bib(1, records("61PRINT160129.mrc")[0], "i", cfg).holdings
    assert holding.fields["permanentLocationId"] == "11111111-1111-4111-8111-111111111111"
