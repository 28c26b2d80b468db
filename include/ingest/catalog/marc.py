"""MARC 21 binary (ISO 2709) file reader that survives bad records.

`iter_marc(stream, start, end)` frames records on the record terminator 0x1D (never on
the length prefix alone: pymarc stops the whole file at a bad length, a truncated record or
a missing terminator) and yields, for every frame, a `ParsedRecord` or a `BadRecord` (raw
bytes, offset, reason), then goes on with the next one. Memory stays bounded whatever the
file holds; `batch_bounds` cuts a file into byte ranges of N records for planning.

A record is kept as UTF-8 ISO 2709 bytes (iso2709.py does the per-record work): UTF-8 and
ASCII records byte for byte, validated without being built; MARC-8 records (leader/09
blank) converted to UTF-8 and re-encoded with leader/09 = `a` — unless their bytes are valid
UTF-8 without a MARC-8 escape, the common mislabelled vendor record, then read as UTF-8
with `encoding_guessed`. A MARC-8 record that outgrows 99,999 bytes once converted is
reported, never written with a corrupt length.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO

from include.ingest.catalog.iso2709 import (MarcError, RecordTooLong, choose_encoding,
                                            decode_record, inspect, to_iso2709)
from include.ingest.catalog.byte_range import read_range
from include.ingest.catalog.model import MARC, BadRecord, ParsedRecord

READ_BLOCK = 1 << 20
MAX_FRAME_BYTES = 1 << 20  # far above any real record; bounds memory on garbage
_PADDING = b" \t\r\n\x00"  # between records in real files (newlines, tape block padding)


def iter_marc(stream: BinaryIO, start: int = 0, end: int | None = None,
              first_ordinal: int = 0) -> Iterator[ParsedRecord | BadRecord]:
    """Every record between byte `start` and `end` (EOF when None), in file order.

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


def _frame(chunk: bytes, offset: int, ordinal: int) -> ParsedRecord | BadRecord:
    """One framed record → ParsedRecord holding its UTF-8 ISO 2709 bytes, or BadRecord.

    UTF-8 and ASCII records are kept byte for byte (a mislabelled UTF-8 record only gets
    leader/09 = a); MARC-8 records are decoded, converted and re-encoded — and reported
    when the UTF-8 form no longer fits ISO 2709's 99,999 bytes."""
    try:
        if len(chunk) > 9 and chunk[9] == 0x61:  # leader/09 = a: UTF-8, kept as it is
            return ParsedRecord(ordinal, offset, chunk, MARC, chunk, None, inspect(chunk))
        flag = chr(chunk[9]) if len(chunk) > 9 else " "
        encoding, guessed = choose_encoding(chunk, flag)
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
