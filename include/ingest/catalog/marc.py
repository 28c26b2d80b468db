"""MARC 21 binary (ISO 2709) file reader that survives bad records.

`iter_marc(stream, start, end)` frames records on the record terminator 0x1D (never on
the length prefix alone: pymarc stops the whole file at a bad length, a truncated record or
a missing terminator) and yields, for every frame, a `ParsedRecord` or a `BadRecord` (raw
bytes, offset, reason), then goes on with the next one. Memory stays bounded whatever the
file holds; `batch_bounds` cuts a file into byte ranges of N records for planning.

A record is kept as UTF-8 ISO 2709 bytes (iso2709.py does the per-record work): UTF-8 and
ASCII records byte for byte, validated without being built; MARC-8 records (leader/09
blank) converted to UTF-8 and re-encoded with leader/09 = `a`. Mislabels are repaired,
with `encoding_guessed`: bytes that are valid UTF-8 without a MARC-8 escape under a blank
leader/09 are read as UTF-8; bytes under leader/09 = `a` that are not UTF-8 (or hold MARC-8
escapes) are read as MARC-8 when they convert cleanly, with a warning. The file's
`encoding` param (`utf-8` / `marc-8`) overrides leader/09 for every record instead. A
MARC-8 record that outgrows 99,999 bytes once converted is reported, never written with a
corrupt length; a leader length that miscounts a whole record is set right, with a warning.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import BinaryIO

from include.ingest.catalog.iso2709 import (MAX_RECORD_BYTES, LengthMismatch, MarcError,
                                            NotUtf8, RecordTooLong, choose_encoding,
                                            decode_record, inspect, to_iso2709)
from include.ingest.catalog.byte_range import read_range
from include.ingest.catalog.keys import marc_key_fields
from include.ingest.catalog.model import MARC, BadRecord, Loss, ParsedRecord

READ_BLOCK = 1 << 20
MAX_FRAME_BYTES = 1 << 20  # far above any real record; bounds memory on garbage
_PADDING = b" \t\r\n\x00"  # between records in real files (newlines, tape block padding)
ENCODINGS = ("auto", "utf-8", "marc-8")  # the file's encoding param: auto = leader/09 + bytes
# A UTF-8 multi-byte sequence: in MARC-8 (ANSEL) it would be an unlikely pair of symbols, so
# a non-UTF-8 record holding one mixes encodings and is not guessed to be MARC-8.
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}"
                            rb"|[\xf0-\xf4][\x80-\xbf]{3}")


def iter_marc(stream: BinaryIO, start: int = 0, end: int | None = None,
              first_ordinal: int = 0, encoding: str = "auto"
              ) -> Iterator[ParsedRecord | BadRecord]:
    """Every record between byte `start` and `end` (EOF when None), in file order, read as
    `encoding` (one of ENCODINGS: `auto` follows leader/09 and repairs mislabels; `utf-8` /
    `marc-8` read every record so, whatever leader/09 says, like pymarc's force_utf8).

    Memory stays bounded: a frame with no terminator within MAX_FRAME_BYTES (not MARC, or
    a runaway record) is reported once with its first MAX_FRAME_BYTES bytes, and the rest of
    it is skipped up to the next terminator (the landed file keeps every byte).
    """
    buf, buf_at, i = b"", start, 0  # buf_at: file offset of buf[0]; i: next unread index
    ordinal, big = first_ordinal, None  # big: (offset, kept bytes) of an overlong frame
    for block in _with_end(read_range(stream, start, end, READ_BLOCK)):
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
                yield _frame(buf[i:rt + 1], buf_at + i, ordinal, encoding)
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


def _frame(raw: bytes, offset: int, ordinal: int, encoding: str = "auto"
           ) -> ParsedRecord | BadRecord:
    """One framed record → ParsedRecord holding its UTF-8 ISO 2709 bytes, or BadRecord.

    A leader length that only miscounts a whole record (terminator and directory agree) is
    set right, with a warning — or, for a record over 99,999 bytes, which no 5-digit length
    can count, the record is kept as MARC-in-JSON; non-ASCII leader bytes become blanks (a
    `Loss`); everything else wrong with the structure is a BadRecord."""
    chunk, warnings = raw, []
    try:
        if not raw[:24].isascii():
            chunk, warnings = _ascii_leader(raw)
        elif encoding == "auto" and chunk[9:10] == b"a" and b"\x1b" not in chunk:
            try:  # the common case: UTF-8 as labelled, kept byte for byte
                return ParsedRecord(ordinal, offset, chunk, MARC, chunk, None, inspect(chunk))
            except (NotUtf8, LengthMismatch):
                pass  # maybe repairable: read again below
        try:
            return _read(chunk, raw, offset, ordinal, encoding, warnings)
        except LengthMismatch as exc:
            note = f"{exc}: read by its terminator and directory"
            if len(chunk) > MAX_RECORD_BYTES:
                content, read_as, guessed, problems = decode_record(
                    chunk, None if encoding == "auto" else encoding, check_length=False)
                return json_marc(ordinal, offset, raw, content, read_as, guessed,
                                 [*warnings, note, *problems], f"record is {len(chunk):,} bytes")
            fixed = b"%05d" % len(chunk) + chunk[5:]
            return _read(fixed, raw, offset, ordinal, encoding,
                         [*warnings, f"{note}, leader/00-04 set to {len(chunk)}"])
    except MarcError as exc:
        return BadRecord(ordinal, offset, raw, str(exc))
    except Exception as exc:  # noqa: BLE001 — any decoder failure is this record's, not the file's
        return BadRecord(ordinal, offset, raw, f"cannot decode the record ({type(exc).__name__} "
                                               f"in the reader): expected an ISO 2709 record; "
                                               f"its bytes are kept here — report it with them")


def _ascii_leader(raw: bytes) -> tuple[bytes, list[str]]:
    """The record with every non-ASCII leader byte (0x92, a Latin-1 NBSP …) made a blank:
    leader positions hold ASCII codes only, and stored as they are they would make the
    record invalid UTF-8. A `Loss` per byte names it."""
    leader = bytearray(raw[:24])
    losses = []
    for at, byte in enumerate(raw[:24]):
        if byte > 0x7F:
            leader[at] = 0x20
            losses.append(Loss(f"leader/{at:02d}: expected an ASCII code, got byte 0x{byte:02x}; "
                               f"replaced with a blank — check the record's leader"))
    return bytes(leader) + raw[24:], losses


def json_marc(ordinal: int, offset: int, raw: bytes, content: dict, encoding: str,
              guessed: bool, warnings: list[str], why: str) -> ParsedRecord:
    """A MARC record ISO 2709 cannot hold (over 99,999 bytes, or a field over 9,999),
    kept as MARC-in-JSON; its leader's computed lengths (00-04, 12-16) read 00000, so the
    same record from MARCXML or ISO 2709 has the same stored form."""
    leader = content["leader"]
    content = {"leader": f"00000{leader[5:12]}00000{leader[17:]}", "fields": content["fields"]}
    return ParsedRecord(ordinal, offset, raw, MARC, key_fields=marc_key_fields(content),
                        encoding=encoding, encoding_guessed=guessed, decoded=content,
                        warnings=[*warnings, f"{why}: more than ISO 2709 holds (99,999 bytes, "
                                             f"9,999 per field), stored as MARC-in-JSON"])


def _read(chunk: bytes, raw: bytes, offset: int, ordinal: int, encoding: str,
          warnings: list[str]) -> ParsedRecord:
    """UTF-8 and ASCII records are kept byte for byte (a mislabelled UTF-8 record only gets
    leader/09 = a); MARC-8 records — leader/09 blank, MARC-8 bytes under leader/09 = a, or
    the file's `encoding` says so — are converted and re-encoded; MarcError otherwise."""
    flag = chr(chunk[9]) if len(chunk) > 9 else " "
    if encoding == "auto":
        if flag == "a":  # the common case: UTF-8, kept as it is, unless its bytes say MARC-8
            if b"\x1b" not in chunk:
                try:
                    return ParsedRecord(ordinal, offset, raw, MARC, chunk, None, inspect(chunk),
                                        warnings=warnings)
                except NotUtf8 as exc:
                    return _mislabelled_marc8(chunk, raw, offset, ordinal, warnings, exc)
            return _mislabelled_marc8(chunk, raw, offset, ordinal, warnings, None)
        encoding, guessed = choose_encoding(chunk, flag)
    else:
        guessed = False
        if (flag == "a") != (encoding == "utf-8"):
            warnings.append(f"leader/09 = {flag!r}; read as {encoding} (the file's encoding "
                            f"param)")
    if encoding != "marc-8":
        data = chunk[:9] + b"a" + chunk[10:] if flag != "a" and encoding == "utf-8" else chunk
        try:
            return ParsedRecord(ordinal, offset, raw, MARC, marc=data, key_fields=inspect(data),
                                encoding=encoding, encoding_guessed=guessed, warnings=warnings)
        except NotUtf8 as exc:
            if guessed:
                raise
            raise MarcError(f"{exc.where}: expected UTF-8 (the file's encoding param), got "
                            f"other bytes; re-ingest with encoding auto or marc-8") from exc
    return _converted(chunk, raw, offset, ordinal, encoding, guessed, warnings)


def _converted(chunk: bytes, raw: bytes, offset: int, ordinal: int, encoding: str,
               guessed: bool, warnings: list[str]) -> ParsedRecord:
    """A MARC-8 record converted to UTF-8 ISO 2709 (MARC-in-JSON when it outgrows it)."""
    content, encoding, _, problems = decode_record(chunk, "marc-8")
    try:
        data = to_iso2709(content)
    except RecordTooLong as exc:
        return json_marc(ordinal, offset, raw, content, encoding, guessed,
                         warnings + problems, f"converted from MARC-8: {exc}")
    return ParsedRecord(ordinal, offset, raw, MARC, marc=data, key_fields=inspect(data),
                        encoding=encoding, encoding_guessed=guessed,
                        warnings=warnings + problems)


def _mislabelled_marc8(chunk: bytes, raw: bytes, offset: int, ordinal: int,
                       warnings: list[str], not_utf8: NotUtf8 | None) -> ParsedRecord:
    """A record under leader/09 = a that is not UTF-8 (`not_utf8`) or holds MARC-8 escapes:
    read as MARC-8 when it converts cleanly — every byte mapped, no UTF-8 sequence mixed in.
    Otherwise the UTF-8 error stands (`not_utf8`), or the record is read as labelled."""
    try:
        content, _, _, problems = decode_record(chunk, "marc-8")
    except MarcError as exc:
        problems = [str(exc)]
    if not problems and not_utf8 is not None and _UTF8_SEQUENCE.search(chunk):
        problems = ["it mixes UTF-8 sequences with other bytes"]
    if problems:
        if not_utf8 is None:  # an ESC in valid UTF-8: read as labelled
            return ParsedRecord(ordinal, offset, raw, MARC, chunk, None, inspect(chunk),
                                warnings=warnings)
        raise MarcError(f"{not_utf8}; not MARC-8 either ({problems[0]}) — if the file is "
                        f"MARC-8, re-ingest it with encoding marc-8") from not_utf8
    why = not_utf8.where if not_utf8 else "it holds MARC-8 escape sequences (ESC)"
    warnings.append(f"leader/09 = a (UTF-8), but {why}: read as MARC-8 and converted to UTF-8")
    return _converted(chunk, raw, offset, ordinal, "marc-8", True, warnings)


def batch_bounds(stream: BinaryIO, batch_size: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, records) byte ranges of `batch_size` records each, cut just after a
    record terminator, streaming (memory: one block). `records` is what `iter_marc` will
    yield for the range: one per terminator, plus one for an unterminated tail that is not
    just padding (the last range runs to EOF)."""
    start = offset = frames = 0
    tail_has_data = False  # any non-padding byte after the last terminator seen so far
    for block in read_range(stream, 0, None, READ_BLOCK):
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
