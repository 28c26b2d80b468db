"""BIBFRAME JSON Lines / JSON-LD document reader."""
import io
import json
from pathlib import Path

from include.ingest.catalog.jsonld import DOCUMENT, LINES, batch_bounds, framing, iter_jsonld
from include.ingest.catalog.model import ParsedRecord

LIBRARY = Path(__file__).resolve().parents[3] / "fixtures" / "library" / "folio-linked-data"
INSTANCE = {"@id": "http://x/1", "@type": ["http://id.loc.gov/ontologies/bibframe/Instance"]}


def kinds(items):
    return ["ok" if isinstance(i, ParsedRecord) else "bad" for i in items]


def test_folio_failing_lines_are_reported_and_the_good_line_read():
    data = (LIBRARY / "failing_mapping_records_json.rdf").read_bytes()
    items = list(iter_jsonld(io.BytesIO(data)))
    assert kinds(items) == ["bad", "bad", "ok", "bad", "bad"]
    assert items[0].raw == b"[{failing line 1}]\n" and items[1].offset == 19
    assert "is not JSON: Expecting property name enclosed in double quotes: column 3" in items[0].reason


def test_lines_without_an_instance_or_not_a_graph_are_bad():
    lines = [json.dumps([INSTANCE]), "", json.dumps([{"@id": "x", "@type": ["Work"]}]),
             json.dumps("a string"), json.dumps({"@graph": [INSTANCE]})]
    items = list(iter_jsonld(io.BytesIO("\n".join(lines).encode())))
    assert kinds(items) == ["ok", "bad", "bad", "ok"]  # the blank line is not a record
    assert "no BIBFRAME Instance" in items[1].reason and "got str" in items[2].reason
    assert [i.ordinal for i in items] == [0, 1, 2, 3]


def test_a_pretty_printed_document_is_one_record():
    data = json.dumps([INSTANCE, {"@id": "http://x/t"}], indent=2).encode()
    assert framing(io.BytesIO(data)) == DOCUMENT
    assert list(batch_bounds(io.BytesIO(data), 500)) == [(0, len(data), 1)]
    (item,) = iter_jsonld(io.BytesIO(data))
    assert item.content[0]["@id"] == "http://x/1"


def test_batches_of_lines():
    data = (LIBRARY / "10_records_json.rdf").read_bytes()
    stream = io.BytesIO(data)
    assert framing(stream) == LINES
    bounds = list(batch_bounds(stream, 4))
    assert [b[2] for b in bounds] == [4, 4, 2] and bounds[-1][1] == len(data)
    start, end, _ = bounds[1]
    assert [i.ordinal for i in iter_jsonld(stream, start, end, 4, LINES)] == [4, 5, 6, 7]
