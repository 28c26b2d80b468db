"""ISO 2709 reader: resync on the record terminator, MARC-8, limits, planning bounds."""
import io
import unicodedata
import warnings
from pathlib import Path

import pymarc
import pytest

from include.ingest.catalog.iso2709 import RecordTooLong, to_iso2709
from include.ingest.catalog.marc import MAX_FRAME_BYTES, batch_bounds, iter_marc
from include.ingest.catalog.model import BadRecord, ParsedRecord

LIBRARY = Path(__file__).resolve().parents[3] / "fixtures" / "library"


def read(data: bytes, **kwargs):
    return list(iter_marc(io.BytesIO(data), **kwargs))


def record(title: str, control: str = "1") -> bytes:
    return to_iso2709({"leader": "00000nam a2200000 a 4500", "fields": [
        {"001": control}, {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": title}]}}]})


def kinds(items):
    return ["ok" if isinstance(i, ParsedRecord) else "bad" for i in items]


def test_pymarcs_bad_records_file_every_record_accounted_for():
    data = (LIBRARY / "pymarc" / "bad_records.mrc").read_bytes()
    items = read(data)
    assert kinds(items) == ["ok", "bad", "bad", "bad", "bad", "bad", "bad", "ok"]
    assert [i.ordinal for i in items] == list(range(8))
    good_after_bad = items[7]
    assert good_after_bad.offset == 764 + 26 and good_after_bad.raw == data[790:917]
    assert good_after_bad.content["fields"][0]["245"]["subfields"][0] == {
        "a": "The pragmatic programmer : "}
    assert {i.reason.split(":")[0].split(" ")[0] for i in items if isinstance(i, BadRecord)} == {
        "directory", "leader/12-16"}
    for bad in items[1:7]:  # raw bytes are exactly the frame, offsets point at it
        assert data[bad.offset:bad.offset + len(bad.raw)] == bad.raw and bad.raw.endswith(b"\x1d")


@pytest.mark.parametrize("damage", [
    b"XXXXX not a record at all\x1d",  # pymarc: RecordLengthInvalid (fatal)
    b"00099" + record("cut short")[5:40] + b"\x1d",  # pymarc: length and terminator disagree
    b"00010nam a22000" + b"\x1d",  # pymarc: TruncatedRecord-like short frame
])
def test_a_bad_length_does_not_end_the_file(damage):
    data = record("first", "1") + damage + record("second", "2") + record("third", "3")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = list(pymarc.MARCReader(io.BytesIO(data)))
    ours = read(data)
    assert kinds(ours) == ["ok", "bad", "ok", "ok"]
    assert [o.content["fields"][0]["001"] for o in ours if isinstance(o, ParsedRecord)] == [
        "1", "2", "3"]
    assert sum(r is not None for r in theirs) < 3  # pymarc loses the records after it


def test_a_missing_terminator_at_the_end_is_reported_as_truncated():
    data = record("whole") + record("cut")[:-30]
    ours = read(data)
    assert kinds(ours) == ["ok", "bad"]
    assert ours[1].reason.startswith("truncated: leader says") and ours[1].raw == data[ours[1].offset:]


def test_not_marc_at_all_says_so():
    ours = read((LIBRARY / "folio-data-import" / "invalidMarcFile.mrc").read_bytes())
    assert kinds(ours) == ["bad"]
    assert "not an ISO 2709 record" in ours[0].reason


def test_padding_between_records_is_not_a_record():
    ours = read(record("a") + b"\r\n" + record("b") + b"\n" + b" " * 20)
    assert kinds(ours) == ["ok", "ok"]


def test_marc8_is_converted_to_utf8_with_leader_flag_set():
    items = read((LIBRARY / "folio-data-import" / "61PRINT160129.mrc").read_bytes())
    assert len(items) == 246 and all(isinstance(i, ParsedRecord) for i in items)
    titles = {" ".join(v for s in f["245"]["subfields"] for v in s.values())
              for i in items for f in i.content["fields"] if "245" in f}
    title = "The projectionist : the story of Ernest Gébler / Carlo Gébler."
    assert title in titles and unicodedata.is_normalized("NFC", title)
    marc8 = [i for i in items if i.encoding == "marc-8"]
    assert len(marc8) == 64 and all(i.content["leader"][9] == "a" for i in marc8)


def test_utf8_without_the_leader_flag_is_read_as_utf8_and_marked_guessed():
    (item,) = read((LIBRARY / "pymarc" / "utf8_without_leader_flag.dat").read_bytes())
    assert item.encoding == "utf-8" and item.encoding_guessed
    subfields = [f["240"]["subfields"] for f in item.content["fields"] if "240" in f][0]
    # kept as read (decomposed, as MARC 21 UTF-8 data usually is), not re-normalized
    assert unicodedata.normalize("NFC", subfields[0]["a"]) == "De la solitude à la communauté."


def test_invalid_utf8_is_a_bad_record_not_replacement_characters():
    good = record("fine")
    broken = good.replace(b"fine", b"f\xffne")
    ours = read(broken + good)
    assert kinds(ours) == ["bad", "ok"]
    assert "field 245: expected UTF-8 (leader/09 = a), got byte 0xff" in ours[0].reason


def test_a_garbage_frame_over_99999_bytes_is_reported_and_the_next_record_read():
    huge = b"99999nam a2200000 a 4500" + b"x" * 120_000 + b"\x1d"
    ours = read(huge + record("after"))
    assert kinds(ours) == ["bad", "ok"]
    assert "the record is truncated or its length is wrong" in ours[0].reason


def test_garbage_without_terminators_is_one_bounded_bad_record():
    data = record("before") + b"z" * (3 * MAX_FRAME_BYTES) + b"\x1d" + record("after")
    ours = read(data)
    assert kinds(ours) == ["ok", "bad", "ok"]
    assert len(ours[1].raw) == MAX_FRAME_BYTES and "no record terminator" in ours[1].reason


def test_a_byte_range_reads_only_its_records_with_file_ordinals():
    data = b"".join(record(f"t{i}", str(i)) for i in range(10))
    bounds = list(batch_bounds(io.BytesIO(data), 4))
    assert [b[2] for b in bounds] == [4, 4, 2]
    assert [b[0] for b in bounds] == [0, bounds[0][1], bounds[1][1]] and bounds[-1][1] == len(data)
    start, end, _ = bounds[1]
    items = read(data, start=start, end=end, first_ordinal=4)
    assert [i.ordinal for i in items] == [4, 5, 6, 7]
    assert [i.content["fields"][0]["001"] for i in items] == ["4", "5", "6", "7"]


@pytest.mark.parametrize("path", sorted((LIBRARY / "pymarc").glob("*.dat"))
                         + sorted(LIBRARY.glob("*/*.mrc")), ids=lambda p: p.name)
def test_planned_counts_match_what_the_reader_yields(path):
    data = path.read_bytes()
    planned = sum(b[2] for b in batch_bounds(io.BytesIO(data), 3))
    assert planned == len(read(data))


def test_writer_round_trips_utf8_records_byte_for_byte():
    items = read((LIBRARY / "folio-data-import" / "100.mrc").read_bytes())
    assert all(to_iso2709(i.content) == i.raw for i in items)


def test_writer_refuses_records_iso2709_cannot_hold():
    long_field = {"leader": "00000nam a2200000 a 4500", "fields": [
        {"500": {"ind1": " ", "ind2": " ", "subfields": [{"a": "é" * 5000}]}}]}
    with pytest.raises(RecordTooLong, match="field 500 is 10,005 bytes"):
        to_iso2709(long_field)
    many = {"leader": "00000nam a2200000 a 4500", "fields": [
        {"500": {"ind1": " ", "ind2": " ", "subfields": [{"a": "x" * 9000}]}}] * 12}
    with pytest.raises(RecordTooLong, match="record is 108,.* at most 99,999"):
        to_iso2709(many)


def raw_record(fields: list[tuple[bytes, bytes]], flag: bytes = b" ") -> bytes:
    """ISO 2709 from raw field bytes (any encoding): what a MARC-8 vendor file holds."""
    directory, body = b"", b""
    for tag, data in fields:
        data += b"\x1e"
        directory += tag + b"%04d%05d" % (len(data), len(body))
        body += data
    base = 24 + len(directory) + 1
    leader = b"%05dnam %s22%05d a 4500" % (base + len(body) + 1, flag, base)
    return leader + directory + b"\x1e" + body + b"\x1d"


def test_marc8_that_outgrows_iso2709_once_converted_is_kept_as_marc_in_json():
    fits = raw_record([(b"001", b"m1"), (b"500", b"  \x1fa" + b"\xa1" * 4000)])
    grows = raw_record([(b"001", b"m2"), (b"500", b"  \x1fa" + b"\xa1" * 6000)])
    ours = read(fits + grows + record("after"))
    assert kinds(ours) == ["ok", "ok", "ok"]
    assert ours[0].encoding == "marc-8" and ours[0].content["fields"][1]["500"]["subfields"] == [
        {"a": "Ł" * 4000}]
    assert ours[1].marc is None and ours[1].content["fields"][1]["500"]["subfields"] == [
        {"a": "Ł" * 6000}]
    assert "converted from MARC-8: field 500 is 12,00" in ours[1].warnings[-1]
    assert ours[1].raw == grows


def test_marc8_combining_diacritics_are_reordered_and_composed():
    # ANSEL 0xE2 (acute) precedes its base letter; Unicode wants é after composition
    (item,) = read(raw_record([(b"245", b"10\x1faCaf\xe2e")]))
    assert item.content["fields"][0]["245"]["subfields"] == [{"a": "Café"}]
    assert item.marc[9:10] == b"a"  # stored as UTF-8 and says so
