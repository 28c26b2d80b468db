"""Planning: format detection and JSON batch descriptors over byte ranges."""
import io
import json
from pathlib import Path

import pytest

from include.ingest.catalog import plan
from include.ingest.catalog.model import CatalogInputError
from include.ingest.catalog.plan import detect_format, plan_batches

LIBRARY = Path(__file__).resolve().parents[3] / "fixtures" / "library"


@pytest.mark.parametrize("name, expected", [
    ("folio-data-import/100.mrc", "marc21"), ("pymarc/marc8.dat", "marc21"),
    ("marc2bibframe2/collection.xml", "marcxml"), ("pymarc/bad_tag.xml", "marcxml"),
    ("folio-data-import/invalidUChicago_SampleBibs.xml", "marcxml"),
    ("folio-linked-data/10_records_json.rdf", "jsonld"),
    ("folio-linked-data/failing_mapping_records_json.rdf", "jsonld"),
    ("folio-data-import/invalidMarcFile.mrc", "marc21"),  # by extension: reported per record
])
def test_detect_format(name, expected):
    with open(LIBRARY / name, "rb") as stream:
        assert detect_format(stream, name) == expected


def test_undetectable_input_asks_for_the_format():
    with pytest.raises(CatalogInputError, match="set format explicitly"):
        detect_format(io.BytesIO(b"hello"), "notes.txt")


def test_descriptors_are_json_and_cover_the_file_in_order():
    path = LIBRARY / "folio-data-import" / "61PRINT160129.mrc"
    descriptors = plan_batches(str(path), "run-1", batch_size=100, min_batch=1)
    assert json.loads(json.dumps(descriptors)) == descriptors
    assert [d["records"] for d in descriptors] == [100, 100, 46]
    assert [d["first_ordinal"] for d in descriptors] == [0, 100, 200]
    assert descriptors[0]["start"] == 0 and descriptors[-1]["end"] == path.stat().st_size
    assert all(a["end"] == b["start"] for a, b in zip(descriptors, descriptors[1:]))
    assert len({d["batch_id"] for d in descriptors}) == 3
    assert plan_batches(str(path), "run-1", batch_size=100, min_batch=1) == descriptors


def test_marcxml_descriptors_carry_the_namespaces():
    (d,) = plan_batches(str(LIBRARY / "marc2bibframe2" / "collection.xml"), "r", min_batch=1)
    assert d["format"] == "marcxml" and 'xmlns:marc="http://www.loc.gov/MARC21/slim"' in \
        d["xml"]["namespaces"]


def test_limits_are_checked(monkeypatch):
    path = str(LIBRARY / "folio-data-import" / "100.mrc")
    with pytest.raises(CatalogInputError, match="batch size of 500..1000"):
        plan_batches(path, "r", batch_size=100)
    with pytest.raises(CatalogInputError, match="overlay policy"):
        plan_batches(path, "r", policy="merge")
    monkeypatch.setattr(plan, "MAX_BATCHES", 3)
    with pytest.raises(CatalogInputError, match="4 batches, expected at most 3"):
        plan_batches(path, "r", batch_size=30, min_batch=1)


def test_descriptors_carry_the_marc_encoding_param():
    path = str(LIBRARY / "defects" / "marc8_under_utf8_leader.mrc")
    assert {d["encoding"] for d in plan_batches(path, "r", min_batch=1)} == {"auto"}
    (d,) = plan_batches(path, "r", min_batch=1, encoding="marc-8")
    assert d["encoding"] == "marc-8"
    with pytest.raises(CatalogInputError, match=r"expected an encoding in \('auto', 'utf-8', "
                                                r"'marc-8'\), got 'latin-1'"):
        plan_batches(path, "r", min_batch=1, encoding="latin-1")
    with pytest.raises(CatalogInputError, match="expected encoding auto for a marcxml file"):
        plan_batches(str(LIBRARY / "pymarc" / "batch.xml"), "r", min_batch=1, encoding="utf-8")
