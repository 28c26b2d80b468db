"""Recoverable records are read, not refused: MARC-8 bytes under leader/09 = a, a per-file
encoding override, and a leader length that miscounts a whole record."""
import io
from pathlib import Path

import pymarc
import pytest

from include.ingest.catalog.iso2709 import to_iso2709
from include.ingest.catalog.marc import iter_marc
from include.ingest.catalog.model import BadRecord, ParsedRecord

LIBRARY = Path(__file__).resolve().parents[3] / "fixtures" / "library"
MISLABELLED = LIBRARY / "defects" / "marc8_under_utf8_leader.mrc"
ORIGINAL_MARC8 = LIBRARY / "folio-data-import" / "61PRINT160129.mrc"
LENGTH_OFF = LIBRARY / "defects" / "record_length_off_by_a_few_bytes.mrc"


def read(data: bytes, **kwargs):
    return list(iter_marc(io.BytesIO(data), **kwargs))


def title(content: dict) -> str:
    return " ".join(v for f in content["fields"] if "245" in f
                    for s in f["245"]["subfields"] for v in s.values())


def test_marc8_bytes_under_a_utf8_leader_are_converted_with_a_warning():
    ours = read(MISLABELLED.read_bytes())
    originals = read(ORIGINAL_MARC8.read_bytes())[:len(ours)]  # blank leader/09: MARC-8
    assert all(isinstance(i, ParsedRecord) for i in ours)
    repaired = [i for i in ours if i.encoding == "marc-8"]
    assert len(repaired) == 8 and all(i.encoding_guessed for i in repaired)
    assert all("leader/09 = a (UTF-8), but field" in i.warnings[0] and
               "read as MARC-8 and converted to UTF-8" in i.warnings[0] for i in repaired)
    # the same records as the correctly labelled originals, byte for byte once stored (the
    # ASCII ones keep the leader/09 they came with)
    assert [o.marc for o in originals if o.encoding == "marc-8"] == [i.marc for i in repaired]
    assert [i.marc[:9] + i.marc[10:] for i in ours] == [o.marc[:9] + o.marc[10:]
                                                        for o in originals]
    # and what pymarc makes of the correctly labelled original
    with ORIGINAL_MARC8.open("rb") as stream:
        theirs = [r.title for _, r in zip(range(len(ours)), pymarc.MARCReader(stream))]
    gebler = next(i for i in repaired if "Gébler" in title(i.content))
    assert any(t and t.startswith("The projectionist") and "Gébler" in t for t in theirs)
    assert title(gebler.content) == "The projectionist : the story of Ernest Gébler / Carlo Gébler."


def test_bytes_neither_utf8_nor_marc8_are_still_refused():
    good = to_iso2709({"leader": "00000nam a2200000 a 4500", "fields": [
        {"001": "1"}, {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "fine"}]}}]})
    unmappable = good.replace(b"fine", b"f\xffne")  # 0xFF: no MARC-8 (ANSEL) character
    mixed = good.replace(b"fine", b"\xc3\xa9\xe2e")  # UTF-8 é beside an ANSEL acute + e
    for broken in (unmappable, mixed):
        bad, ok = read(broken + good)
        assert isinstance(bad, BadRecord) and isinstance(ok, ParsedRecord)
        assert "expected UTF-8 (leader/09 = a)" in bad.reason and "not MARC-8 either" in bad.reason
        assert "re-ingest it with encoding marc-8" in bad.reason


def test_the_encoding_param_overrides_leader_09():
    forced = read(MISLABELLED.read_bytes(), encoding="marc-8")
    assert all(isinstance(i, ParsedRecord) and i.encoding == "marc-8" for i in forced)
    assert not any(i.encoding_guessed for i in forced)
    assert "read as marc-8 (the file's encoding param)" in forced[0].warnings[0]
    assert [i.marc for i in forced] == [i.marc for i in read(MISLABELLED.read_bytes())]
    utf8 = (LIBRARY / "pymarc" / "utf8_without_leader_flag.dat").read_bytes()
    (item,) = read(utf8, encoding="utf-8")
    assert (item.encoding, item.encoding_guessed, item.marc[9:10]) == ("utf-8", False, b"a")
    wrong = read(ORIGINAL_MARC8.read_bytes(), encoding="utf-8")
    refused = [i for i in wrong if isinstance(i, BadRecord)]
    assert len(refused) == 64 and "expected UTF-8 (the file's encoding param)" in refused[0].reason


def test_a_leader_length_off_by_a_few_bytes_is_read_with_a_warning():
    data = LENGTH_OFF.read_bytes()
    ours = read(data)
    assert len(ours) == 44 and all(isinstance(i, ParsedRecord) for i in ours)
    for item in ours:
        declared = int(item.raw[:5])
        assert declared != len(item.raw)
        assert item.warnings == [
            f"leader/00-04 says {declared} bytes, got {len(item.raw)} up to the record "
            f"terminator, where the directory's last field ends: read by its terminator and "
            f"directory, leader/00-04 set to {len(item.raw)}"]
        assert item.marc == b"%05d" % len(item.raw) + item.raw[5:]  # only the length changed
        # pymarc builds the same record from the frame (its reader trusts the length alone)
        assert pymarc.Record(data=item.raw).title == pymarc.Record(data=item.marc).title
        assert pymarc.Record(data=item.raw).title and item.content["leader"][9] == "a"


@pytest.mark.parametrize("damage", [lambda r: b"%05d" % (len(r) + 40) + r[5:-30] + b"\x1d",
                                    lambda r: r[:-30] + b"\x1d"])
def test_a_truncated_record_is_still_refused(damage):
    record = (LIBRARY / "folio-data-import" / "100.mrc").read_bytes().split(b"\x1d")[0] + b"\x1d"
    (bad,) = read(damage(record))
    assert isinstance(bad, BadRecord)
    assert "the record is truncated or its length is wrong" in bad.reason
