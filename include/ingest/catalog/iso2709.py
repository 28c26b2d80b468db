"""One ISO 2709 (MARC 21 binary) record: validate, decode, encode.

* `inspect(chunk)` validates a UTF-8 / ASCII record completely — leader digits, directory,
  every field inside the record and ending in 0x1E, UTF-8 data, no NUL — without building
  it (cheaper than pymarc's parse), and returns the fields the match keys come from;
* `decode_record(chunk, encoding)` builds MARC-in-JSON, converting MARC-8 (leader/09 blank,
  or `encoding="marc-8"`) with pymarc's `MARC8ToUnicode` (its unmappable-character
  messages become warnings);
* `to_iso2709(content)` encodes UTF-8 ISO 2709 and refuses (RecordTooLong) a record over
  99,999 bytes or a field over 9,999 bytes instead of writing a corrupt length, which is
  what pymarc's `as_marc` does.

Every problem raises MarcError with a message that says where, what was expected and what
was found; the file reader (marc.py) turns it into a BadRecord, or first tries to repair
`NotUtf8` (MARC-8 under leader/09 = a?) and `LengthMismatch` (a miscounted length).
"""
from __future__ import annotations

import contextlib
import re

from include.ingest.catalog.marc8 import Marc8Field
from include.ingest.catalog.model import KeyFields, Loss

FT = 0x1E
MAX_RECORD_BYTES = 99_999  # 5-digit record length (leader/00-04)
MAX_FIELD_BYTES = 9_999  # 4-digit field length (directory)


class MarcError(ValueError):
    """One record cannot be decoded; the message says where and why."""


class NotUtf8(MarcError):
    """A record read as UTF-8 holds bytes that are not UTF-8 (`where` says which)."""

    def __init__(self, message: str, where: str):
        super().__init__(message)
        self.where = where


class LengthMismatch(MarcError):
    """Leader/00-04 is wrong, but the directory accounts for every byte up to the record
    terminator (readers that frame on 0x1D, as MARC::Record and Koha do, read it)."""


class RecordTooLong(ValueError):
    """The record cannot be written as ISO 2709 (the readers store it as MARC-in-JSON)."""


def _digits(raw: bytes, what: str) -> int:
    if not raw.isdigit():
        raise MarcError(f"{what}: expected {len(raw)} digits, got {raw!r}")
    return int(raw)


def choose_encoding(chunk: bytes, flag: str) -> tuple[str, bool]:
    """(encoding, guessed) for one record from leader/09 and its bytes."""
    if flag == "a":
        return "utf-8", False
    if chunk.isascii():
        return ("marc-8", False) if b"\x1b" in chunk else ("ascii", False)
    if b"\x1b" not in chunk:
        try:
            chunk.decode("utf-8")
            return "utf-8", True  # valid UTF-8 high bytes are not plausible ANSEL
        except UnicodeDecodeError:
            pass
    return "marc-8", False


def _data_field(tag: str, raw: bytes, encoding: str, warnings: list[str]) -> dict:
    if encoding == "marc-8":
        parts = raw.split(b"\x1f")
        indicators = parts[0].decode("latin-1")
        if raw.isascii() and b"\x1b" not in raw:
            subfields = [{p[:1].decode(): p[1:].decode()} for p in parts[1:] if p]
        else:  # one converter per field: an escape stays in effect to the end of the field
            convert = Marc8Field(f"field {tag}")
            subfields = [{p[:1].decode("latin-1"): convert.text(p[1:])} for p in parts[1:] if p]
            if convert.loss:
                warnings.append(Loss(convert.loss))
    else:
        text = raw.decode(encoding)  # UnicodeDecodeError: reported by decode_record
        parts = text.split("\x1f")
        indicators = parts[0]
        subfields = [{p[0]: p[1:]} for p in parts[1:] if p]
        if not text.isascii() and any(not p[0].isascii() for p in parts[1:] if p):
            warnings.append(f"field {tag}: non-ASCII subfield code kept as read")
    if len(indicators) != 2:
        warnings.append(f"field {tag}: expected 2 indicators, got {indicators!r}; "
                        f"{'padded with blanks' if len(indicators) < 2 else 'extra dropped'}")
        indicators = (indicators + "  ")[:2]
    return {tag: {"ind1": indicators[0], "ind2": indicators[1], "subfields": subfields}}


# One directory entry: tag, 4-digit length, 5-digit offset. findall walks the directory in
# C; its matches tile the directory exactly when every entry is well formed (a bad entry
# leaves bytes unmatched), so one length comparison validates them all.
_ENTRY = re.compile(rb"([\x00-\xff]{3})(\d{4})(\d{5})")


def _directory_error(directory: bytes) -> MarcError:
    """The precise complaint about a directory that is not (3 bytes + 9 digits)*."""
    for i in range(0, len(directory), 12):
        where = f"directory entry {i // 12} ({directory[i:i + 3].decode('latin-1')})"
        _digits(directory[i + 3:i + 7], f"{where} length")
        _digits(directory[i + 7:i + 12], f"{where} offset")
    return MarcError("directory is malformed")  # unreachable for a directory of 12-byte entries


def _head(chunk: bytes, check_length: bool = True
          ) -> tuple[int, bytes, list[tuple[bytes, bytes, bytes]]]:
    """(base address, directory, (tag, length, offset) entries) of a framed record, checked;
    `check_length=False` once the caller knows leader/00-04 miscounts (LengthMismatch)."""
    size = len(chunk)
    if size < 26:
        raise MarcError(f"expected at least 26 bytes (leader, directory end, terminator), "
                        f"got {size}")
    if b"\x00" in chunk:
        raise MarcError(f"NUL byte at record byte {chunk.index(0)}: expected MARC data, which "
                        f"cannot hold it; fix the record at its source and re-ingest")
    if check_length:
        declared = chunk[0:5]
        # a writer with no room for a longer length writes zeros, nines or garbage there
        if not declared.isdigit() or int(declared) != size:
            raise _length_error(chunk, declared)
    return _structure(chunk)


def _length_error(chunk: bytes, declared: bytes) -> MarcError:
    """LengthMismatch if the directory's last field ends at the terminator, else MarcError."""
    said = (f"{int(declared)} bytes" if declared.isdigit()
            else f"{declared.decode('latin-1')!r} (expected 5 digits)")
    message = f"leader/00-04 says {said}, got {len(chunk)} up to the record terminator"
    with contextlib.suppress(MarcError):
        base, _, entries = _structure(chunk)
        if max(base + int(at) + int(n) for _, n, at in entries) == len(chunk) - 1:
            return LengthMismatch(f"{message}, where the directory's last field ends")
    return MarcError(f"{message}: the record is truncated or its length is wrong (its "
                     f"directory does not end at the terminator either); re-fetch or re-export "
                     f"it")


def _structure(chunk: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes, bytes]]]:
    """Base address, directory and entries, checked (everything but the record length)."""
    size = len(chunk)
    base = _digits(chunk[12:17], "leader/12-16 (base address of data)")
    if not 25 <= base < size:
        raise MarcError(f"leader/12-16 (base address of data): expected 25..{size - 1}, got "
                        f"{base}; the leader is damaged — re-export the record")
    if chunk[base - 1] != FT:
        raise MarcError(f"expected the directory to end with 0x1E at byte {base - 1} (leader/"
                        f"12-16), got 0x{chunk[base - 1]:02x}; the leader or directory is "
                        f"damaged — re-export the record")
    directory = chunk[24:base - 1]
    if not directory or len(directory) % 12:
        raise MarcError(f"directory is {len(directory)} bytes, expected a positive multiple "
                        f"of 12 (one 12-byte entry per field); the directory is damaged — "
                        f"re-export the record")
    entries = _ENTRY.findall(directory)
    if len(entries) * 12 != len(directory):
        raise _directory_error(directory)
    return base, directory, entries


def decode_record(chunk: bytes, encoding: str | None = None, check_length: bool = True
                  ) -> tuple[dict, str, bool, list]:
    """(MARC-in-JSON, input encoding, guessed, warnings) of one framed record, read as
    `encoding` (utf-8 / marc-8) or as leader/09 and its bytes say; MarcError if it cannot.
    Text a MARC-8 conversion could not recover is U+FFFD, with a `Loss` among the warnings."""
    base, _, entries = _head(chunk, check_length)
    leader = chunk[:24].decode("latin-1")  # stray high bytes occur in real leaders
    guessed = False
    if encoding is None:
        encoding, guessed = choose_encoding(chunk, leader[9])
    control_encoding = "utf-8" if encoding == "utf-8" else "latin-1"
    warnings: list[str] = []
    fields = []
    append = fields.append
    last = len(chunk) - 1
    tag = ""
    try:
        for n, (raw_tag, length, offset) in enumerate(entries):
            tag = raw_tag.decode("latin-1")
            start = base + int(offset)
            end = start + int(length)
            if end <= start or end > last or chunk[end - 1] != FT:
                raise _field_error(chunk, tag, n, start, end, base)
            if tag < "010" and tag.isdigit():
                append({tag: chunk[start:end - 1].decode(control_encoding)})
            else:
                append(_data_field(tag, chunk[start:end - 1], encoding, warnings))
    except UnicodeDecodeError as exc:
        raise MarcError(f"field {tag}: expected {encoding} (leader/09), got byte "
                        f"0x{exc.object[exc.start]:02x} at field byte {exc.start}; re-ingest "
                        f"with the encoding param set to the file's real encoding") from exc
    if encoding != "ascii" and leader[9] != "a":
        leader = leader[:9] + "a" + leader[10:]  # the content is Unicode now
    return {"leader": leader, "fields": fields}, encoding, guessed, warnings


def _field_error(chunk: bytes, tag: str, entry: int, start: int, end: int,
                 base: int) -> MarcError:
    if end <= start or end > len(chunk) - 1:
        return MarcError(f"field {tag} (directory entry {entry}) spans bytes {start}..{end}, "
                         f"outside the record's data ({base}..{len(chunk) - 1})")
    return MarcError(f"field {tag} (directory entry {entry}): expected 0x1E at byte {end - 1}, "
                     f"got 0x{chunk[end - 1]:02x}; directory and data disagree")


_KEY_TAGS = frozenset((b"001", b"003", b"005", b"020", b"035"))
# Directory lengths and offsets repeat from record to record: a dict lookup costs a
# quarter of int(). Bounded, so memory does not grow with the file.
_NUMBERS: dict[bytes, int] = {}
_NUMBERS_MAX = 20_000


def _number(digits: bytes) -> int:
    value = int(digits)
    if len(_NUMBERS) < _NUMBERS_MAX:
        _NUMBERS[digits] = value
    return value


def inspect(chunk: bytes) -> KeyFields:
    """Validate a UTF-8 (or ASCII) record without building it, and return its key fields.

    Checks everything `decode_record` would reject — leader digits, directory, every field
    inside the record and ending in 0x1E, the data decoding as UTF-8, no NUL — but decodes
    only 001/003/005/020/035, so a valid record costs a fraction of a full parse.
    """
    base, directory, entries = _head(chunk)
    try:
        chunk[base:-1].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = base + exc.start
        tag = next((directory[i:i + 3].decode("latin-1") for i in range(0, len(directory), 12)
                    if 0 <= at - base - int(directory[i + 7:i + 12]) < int(directory[i + 3:i + 7])),
                   "?")
        raise NotUtf8(f"field {tag}: expected UTF-8 (leader/09 = a), got byte "
                      f"0x{chunk[at]:02x} at record byte {at}; fix the record's encoding "
                      f"and re-ingest", f"field {tag} holds byte 0x{chunk[at]:02x} at record "
                                        f"byte {at}") from exc
    last = len(chunk) - 1
    f001 = f003 = f005 = None
    oclc, isbn = [], []
    numbers = _NUMBERS
    for n, (tag, length, offset) in enumerate(entries):
        size = numbers.get(length)
        if size is None:
            size = _number(length)
        at = numbers.get(offset)
        if at is None:
            at = _number(offset)
        start = base + at
        end = start + size
        if end <= start or end > last or chunk[end - 1] != FT:
            raise _field_error(chunk, tag.decode("latin-1"), n, start, end, base)
        if tag in _KEY_TAGS:
            value = chunk[start:end - 1].decode("utf-8")
            if tag == b"001":
                f001 = f001 or value.strip()
            elif tag == b"003":
                f003 = f003 or value.strip()
            elif tag == b"005":
                f005 = f005 or value.strip()
            else:
                (oclc if tag == b"035" else isbn).extend(
                    [part[1:] for part in value.split("\x1f")[1:] if part[:1] == "a"])
    return f001, f003, f005, oclc, isbn


def to_iso2709(content: dict) -> bytes:
    """The record as UTF-8 ISO 2709 (leader/09 = a), or RecordTooLong."""
    body, directory = bytearray(), bytearray()
    for field in content["fields"]:
        ((tag, value),) = field.items()
        if isinstance(value, str):
            data = value.encode() + b"\x1e"
        else:
            data = ((value["ind1"] + value["ind2"]).encode() + b"".join(
                b"\x1f" + code.encode() + text.encode()
                for sub in value["subfields"] for code, text in sub.items()) + b"\x1e")
        if len(data) > MAX_FIELD_BYTES:
            raise RecordTooLong(f"field {tag} is {len(data):,} bytes; ISO 2709 allows at most "
                                f"9,999 per field")
        directory += f"{tag:>03}{len(data):04d}{len(body):05d}".encode()
        body += data
    base = 24 + len(directory) + 1
    total = base + len(body) + 1
    if total > MAX_RECORD_BYTES:
        raise RecordTooLong(f"record is {total:,} bytes; ISO 2709 allows at most 99,999")
    leader = (content.get("leader") or "").ljust(24)[:24]
    leader = f"{total:05d}{leader[5:9]}a{leader[10:12]}{base:05d}{leader[17:]}"
    return leader.encode("latin-1") + bytes(directory) + b"\x1e" + bytes(body) + b"\x1d"
