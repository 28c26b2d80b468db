"""MARC 21 binary (ISO 2709) reader that survives bad records, and a guarded writer.

`iter_marc(stream, start, end)` frames records on the record terminator 0x1D (never on
the length prefix alone: pymarc stops the whole file at a bad length, a truncated record or
a missing terminator) and yields, for every frame, a `ParsedRecord` or a `BadRecord` (raw
bytes, offset, reason), then goes on with the next one.

A record is kept as UTF-8 ISO 2709 bytes — the exact input for UTF-8 records, which are
validated (`inspect`: structure, UTF-8, key fields) without being built into objects, so
reading costs less than pymarc's own parse. leader/09 decides the decoding: `a` → UTF-8
(strict: bad bytes make a bad record, never replacement characters); blank → MARC-8,
converted with pymarc's `MARC8ToUnicode` (its unmappable-character messages become record
warnings) and re-encoded with leader/09 = `a` — unless the bytes are valid UTF-8 without a
MARC-8 escape, the common mislabelled vendor record, read as UTF-8 with `encoding_guessed`.
`decode_record` builds MARC-in-JSON when someone needs it.

`to_iso2709(content)` refuses (RecordTooLong) a record over 99,999 bytes or a field over
9,999 bytes instead of writing a corrupt length, which is what pymarc's `as_marc` does; a
MARC-8 record that outgrows the limit once converted is reported as a bad record.
"""
from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from typing import BinaryIO

from pymarc.marc8 import MARC8ToUnicode

from include.ingest.catalog.model import MARC, BadRecord, KeyFields, ParsedRecord

RT, FT, SD = 0x1D, 0x1E, 0x1F
MAX_RECORD_BYTES = 99_999  # 5-digit record length (leader/00-04)
MAX_FIELD_BYTES = 9_999  # 4-digit field length (directory)
READ_BLOCK = 1 << 20
MAX_FRAME_BYTES = 1 << 20  # far above any real record; bounds memory on garbage
_PADDING = b" \t\r\n\x00"  # between records in real files (newlines, tape block padding)


class MarcError(ValueError):
    """One record cannot be decoded; the message says where and why."""


class RecordTooLong(ValueError):
    """The record cannot be written as ISO 2709; write MARCXML instead."""


def _digits(raw: bytes, what: str) -> int:
    if not raw.isdigit():
        raise MarcError(f"{what}: expected {len(raw)} digits, got {raw!r}")
    return int(raw)


def _marc8(data: bytes, where: str, warnings: list[str]) -> str:
    if data.isascii() and b"\x1b" not in data:
        return data.decode("ascii")
    messages = io.StringIO()
    try:
        # pymarc reports unmappable characters on stderr and substitutes a space
        with contextlib.redirect_stderr(messages):
            text = MARC8ToUnicode(quiet=False).translate(data)
    except (IndexError, TypeError, UnicodeDecodeError, ValueError) as exc:
        raise MarcError(f"{where}: MARC-8 data cannot be converted ({exc}); convert the file "
                        f"with yaz-marcdump -f marc8 -t utf8 and re-ingest") from exc
    warnings.extend(f"{where}: {line}" for line in messages.getvalue().splitlines())
    return text


def _choose_encoding(chunk: bytes, flag: str) -> tuple[str, bool]:
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
        subfields = [{p[:1].decode("latin-1"): _marc8(p[1:], f"{tag}${p[:1].decode('latin-1')}",
                                                       warnings)} for p in parts[1:] if p]
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


_DIRECTORY = re.compile(rb"(?:[\x00-\xff]{3}\d{9})+")


def _directory_error(directory: bytes) -> MarcError:
    """The precise complaint about a directory that is not (3 bytes + 9 digits)*."""
    for i in range(0, len(directory), 12):
        tag = directory[i:i + 3].decode("latin-1")
        _digits(directory[i + 3:i + 7], f"directory entry {i // 12} ({tag}) length")
        _digits(directory[i + 7:i + 12], f"directory entry {i // 12} ({tag}) offset")
    return MarcError("directory is malformed")  # unreachable for a directory of 12-byte entries


def _head(chunk: bytes) -> tuple[int, bytes]:
    """(base address, directory) of a framed record, after the structural checks."""
    size = len(chunk)
    if size > MAX_RECORD_BYTES:
        raise MarcError(f"record is {size:,} bytes; ISO 2709 allows at most 99,999 (5-digit "
                        f"length): re-export it as MARCXML")
    if size < 26:
        raise MarcError(f"expected at least 26 bytes (leader, directory end, terminator), "
                        f"got {size}")
    if b"\x00" in chunk:
        raise MarcError(f"NUL byte at record byte {chunk.index(0)}; MARC data cannot hold it")
    declared = _digits(chunk[0:5], "leader/00-04 (record length)")
    if declared != size:
        raise MarcError(f"leader/00-04 says {declared} bytes, got {size} up to the record "
                        f"terminator: the record is truncated or its length is wrong")
    base = _digits(chunk[12:17], "leader/12-16 (base address of data)")
    if not 25 <= base < size:
        raise MarcError(f"base address {base} is outside the record (expected 25..{size - 1})")
    if chunk[base - 1] != FT:
        raise MarcError(f"expected the directory to end with 0x1E at byte {base - 1}, got "
                        f"0x{chunk[base - 1]:02x}")
    directory = chunk[24:base - 1]
    if not directory or len(directory) % 12:
        raise MarcError(f"directory is {len(directory)} bytes, expected a positive multiple "
                        f"of 12 (one 12-byte entry per field)")
    if not _DIRECTORY.fullmatch(directory):
        raise _directory_error(directory)
    return base, directory


def decode_record(chunk: bytes) -> tuple[dict, str, bool, list[str]]:
    """(MARC-in-JSON, input encoding, guessed, warnings) of one framed record (ending in
    0x1D). Raises MarcError naming the first structural problem."""
    base, directory = _head(chunk)
    leader = chunk[:24].decode("latin-1")  # stray high bytes occur in real leaders
    encoding, guessed = _choose_encoding(chunk, leader[9])
    control_encoding = "utf-8" if encoding == "utf-8" else "latin-1"
    warnings: list[str] = []
    fields = []
    append = fields.append
    last = len(chunk) - 1
    tag = ""
    try:
        for i in range(0, len(directory), 12):
            tag = directory[i:i + 3].decode("latin-1")
            start = base + int(directory[i + 7:i + 12])
            end = start + int(directory[i + 3:i + 7])
            if end <= start or end > last or chunk[end - 1] != FT:
                raise _field_error(chunk, tag, i // 12, start, end, base)
            if tag < "010" and tag.isdigit():
                append({tag: chunk[start:end - 1].decode(control_encoding)})
            else:
                append(_data_field(tag, chunk[start:end - 1], encoding, warnings))
    except UnicodeDecodeError as exc:
        raise MarcError(f"field {tag}: expected {encoding} (leader/09), got byte "
                        f"0x{exc.object[exc.start]:02x} at field byte {exc.start}; fix the "
                        f"record's encoding and re-ingest") from exc
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


def _blocks(stream: BinaryIO, start: int, end: int | None) -> Iterator[bytes]:
    stream.seek(start)
    remaining = None if end is None else end - start
    while remaining is None or remaining > 0:
        block = stream.read(READ_BLOCK if remaining is None else min(READ_BLOCK, remaining))
        if not block:
            return
        if remaining is not None:
            remaining -= len(block)
        yield block


def iter_marc(stream: BinaryIO, start: int = 0, end: int | None = None,
              first_ordinal: int = 0) -> Iterator[ParsedRecord | BadRecord]:
    """Every record between byte `start` and `end` (EOF when None), in file order.

    Memory stays bounded: a frame with no terminator within MAX_FRAME_BYTES (not MARC, or
    a runaway record) is reported once with its first MAX_FRAME_BYTES bytes, and the rest of
    it is skipped up to the next terminator (the landed file keeps every byte).
    """
    buf, buf_at, i = b"", start, 0  # buf_at: file offset of buf[0]; i: next unread index
    ordinal, big = first_ordinal, None  # big: (offset, kept bytes) of an overlong frame
    for block in _with_end(_blocks(stream, start, end)):
        if block is not None:
            buf, buf_at, i = buf[i:] + block, buf_at + i, 0
        while True:
            if big is None:
                while i < len(buf) and buf[i] in _PADDING:
                    i += 1
            rt = buf.find(b"\x1d", i)
            if rt < 0:
                break
            if big is None:
                yield _frame(buf[i:rt + 1], buf_at + i, ordinal)
            else:
                yield _overlong(big, buf_at + rt + 1, ordinal)
                big = None
            ordinal += 1
            i = rt + 1
        if block is None:
            break
        if len(buf) - i > MAX_FRAME_BYTES:
            big = big or (buf_at + i, buf[i:i + MAX_FRAME_BYTES])
            i = len(buf)
    if big is not None:
        yield _overlong(big, buf_at + len(buf), ordinal)
    elif buf[i:]:
        yield BadRecord(ordinal, buf_at + i, buf[i:], _tail_reason(buf[i:]))


def _tail_reason(tail: bytes) -> str:
    if not tail[:5].isdigit():
        return (f"not an ISO 2709 record: expected a 5-digit record length, got "
                f"{tail[:24]!r}, and no record terminator (0x1D) before the end of the file; "
                f"check the file's format (marcxml? jsonld?) and re-ingest")
    return (f"truncated: leader says {int(tail[:5])} bytes, got {len(tail)} and no record "
            f"terminator (0x1D) before the end of the file — re-fetch or re-export the file")


def _with_end(blocks: Iterator[bytes]) -> Iterator[bytes | None]:
    yield from blocks
    yield None


def _overlong(big: tuple[int, bytes], frame_end: int, ordinal: int) -> BadRecord:
    offset, kept = big
    return BadRecord(ordinal, offset, kept,
                     f"no record terminator (0x1D) within {MAX_FRAME_BYTES:,} bytes: bytes "
                     f"{offset}..{frame_end} are not ISO 2709 records (a MARC record is at most "
                     f"99,999 bytes); the first {len(kept):,} bytes are kept here, all of them "
                     f"in the landed file")


_KEY_TAGS = frozenset((b"001", b"003", b"005", b"020", b"035"))


def inspect(chunk: bytes) -> KeyFields:
    """Validate a UTF-8 (or ASCII) record without building it, and return its key fields.

    Checks everything `decode_record` would reject — leader digits, directory, every field
    inside the record and ending in 0x1E, the data decoding as UTF-8, no NUL — but decodes
    only 001/003/005/020/035, so a valid record costs a fraction of a full parse.
    """
    base, directory = _head(chunk)
    try:
        chunk[base:-1].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = base + exc.start
        tag = next((directory[i:i + 3].decode("latin-1") for i in range(0, len(directory), 12)
                    if 0 <= at - base - int(directory[i + 7:i + 12]) < int(directory[i + 3:i + 7])),
                   "?")
        raise MarcError(f"field {tag}: expected UTF-8 (leader/09 = a), got byte "
                        f"0x{chunk[at]:02x} at record byte {at}; fix the record's encoding "
                        f"and re-ingest") from exc
    last = len(chunk) - 1
    f001 = f003 = f005 = None
    oclc, isbn = [], []
    for i in range(0, len(directory), 12):
        start = base + int(directory[i + 7:i + 12])
        end = start + int(directory[i + 3:i + 7])
        if end <= start or end > last or chunk[end - 1] != FT:
            raise _field_error(chunk, directory[i:i + 3].decode("latin-1"), i // 12, start,
                               end, base)
        tag = directory[i:i + 3]
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
                    part[1:] for part in value.split("\x1f")[1:] if part[:1] == "a")
    return f001, f003, f005, oclc, isbn


def _frame(chunk: bytes, offset: int, ordinal: int) -> ParsedRecord | BadRecord:
    """One framed record → ParsedRecord holding its UTF-8 ISO 2709 bytes, or BadRecord.

    UTF-8 and ASCII records are kept byte for byte (a mislabelled UTF-8 record only gets
    leader/09 = a); MARC-8 records are decoded, converted and re-encoded — and reported
    when the UTF-8 form no longer fits ISO 2709's 99,999 bytes."""
    try:
        flag = chr(chunk[9]) if len(chunk) > 9 else " "
        encoding, guessed = _choose_encoding(chunk, flag)
        if encoding != "marc-8":
            data = chunk[:9] + b"a" + chunk[10:] if guessed else chunk
            return ParsedRecord(ordinal, offset, chunk, MARC, marc=data,
                                key_fields=inspect(data), encoding=encoding,
                                encoding_guessed=guessed)
        content, encoding, guessed, warnings = decode_record(chunk)
        try:
            data = to_iso2709(content)
        except RecordTooLong as exc:
            raise MarcError(f"converted from MARC-8 to UTF-8: {exc}") from exc
        return ParsedRecord(ordinal, offset, chunk, MARC, marc=data, key_fields=inspect(data),
                            encoding=encoding, encoding_guessed=guessed, warnings=warnings)
    except MarcError as exc:
        return BadRecord(ordinal, offset, chunk, str(exc))
    except Exception as exc:  # noqa: BLE001 — any decoder failure is this record's, not the file's
        return BadRecord(ordinal, offset, chunk, f"cannot decode: {type(exc).__name__}: {exc}")


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
                                f"9,999 per field — export this record as MARCXML")
        directory += f"{tag:>03}{len(data):04d}{len(body):05d}".encode()
        body += data
    base = 24 + len(directory) + 1
    total = base + len(body) + 1
    if total > MAX_RECORD_BYTES:
        raise RecordTooLong(f"record is {total:,} bytes; ISO 2709 allows at most 99,999 — "
                            f"export this record as MARCXML")
    leader = (content.get("leader") or "").ljust(24)[:24]
    leader = f"{total:05d}{leader[5:9]}a{leader[10:12]}{base:05d}{leader[17:]}"
    return leader.encode("latin-1") + bytes(directory) + b"\x1e" + bytes(body) + b"\x1d"


def iso2709_problem(content: dict) -> str | None:
    """Why the record cannot be written as ISO 2709, or None when it can."""
    try:
        to_iso2709(content)
    except RecordTooLong as exc:
        return str(exc)
    return None


def batch_bounds(stream: BinaryIO, batch_size: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, records) byte ranges of `batch_size` records each, cut just after a
    record terminator, streaming (memory: one block). `records` is what `iter_marc` will
    yield for the range: one per terminator, plus one for an unterminated tail that is not
    just padding (the last range runs to EOF)."""
    stream.seek(0)
    start = offset = frames = 0
    tail_has_data = False  # any non-padding byte after the last terminator seen so far
    while block := stream.read(READ_BLOCK):
        pos = 0
        while (rt := block.find(b"\x1d", pos)) >= 0:
            frames += 1
            pos = rt + 1
            if frames == batch_size:
                yield start, offset + pos, frames
                start, frames = offset + pos, 0
        tail_has_data = tail_has_data if pos == 0 else False
        tail_has_data = tail_has_data or bool(block[pos:].strip(_PADDING))
        offset += len(block)
    if tail_has_data:
        frames += 1
    if frames:
        yield start, offset, frames
