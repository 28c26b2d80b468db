"""MARCXML reader: streamed, safe, one record at a time, a bad record fails alone.

Records are framed by their start tags (`<record` / `<marc:record` …, any prefix), found by
a byte scan, so a batch is a byte range and every record has an exact offset and raw bytes.
Each record is parsed on its own — wrapped in an element that re-declares the document's
namespaces, with the document's declared encoding — by `lxml.etree.iterparse` with
`resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False`, and cleared
after use. The document's prolog (where a DTD would declare entities) is never part of a
fragment, so entity-expansion bombs and external entities (XXE) cannot expand: they are
errors of the record that uses them.

A malformed record (bad nesting, a truncated file like FOLIO's
`invalidUChicago_SampleBibs.xml`, a missing `tag` / `code` attribute) becomes a
`BadRecord` naming the problem and its line within the record; the next record parses
normally. A `<record` string inside a comment or CDATA would split a real record into two
fragments: both are reported as bad (with their bytes), never silently merged or lost.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterator
from itertools import chain
from typing import BinaryIO

from lxml import etree

from include.ingest.catalog.byte_range import read_range
from include.ingest.catalog.keys import marc_key_fields
from include.ingest.catalog.iso2709 import RecordTooLong, to_iso2709
from include.ingest.catalog.marc import json_marc
from include.ingest.catalog.model import MARC, BadRecord, CatalogInputError, Loss, ParsedRecord

RECORD_START = re.compile(rb"<(?:[A-Za-z_][\w.\-]*:)?record(?=[\s/>])")
COLLECTION_END = re.compile(rb"</(?:[A-Za-z_][\w.\-]*:)?collection\s*>")
_DECL_ENCODING = re.compile(rb"""<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._\-]+)["']""")
_START_TAG = re.compile(rb"<([A-Za-z_][^\s/>]*)([^>]*)>")
_NS_DECL = re.compile(rb"""\sxmlns(?::[A-Za-z_][\w.\-]*)?\s*=\s*(?:"[^"]*"|'[^']*')""")
READ_BLOCK = 1 << 20
OVERLAP = 256  # longer than any record start tag, so a tag split across blocks is found
MAX_RECORD_XML = 32 << 20  # one record's XML; larger is not a catalog record
KEEP_BAD_BYTES = 1 << 20


def xml_context(stream: BinaryIO) -> dict:
    """The document's declared encoding and its root element's namespace declarations
    (JSON-able: it travels in batch descriptors)."""
    stream.seek(0)
    head = stream.read(64 << 10)
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in head[:4]:
        raise CatalogInputError("expected UTF-8 (or another ASCII-compatible encoding) "
                                "MARCXML, got UTF-16/32; convert it with iconv -t UTF-8")
    declared = _DECL_ENCODING.search(head)
    encoding = declared.group(1).decode() if declared else "UTF-8"
    if encoding.lower().replace("-", "") in ("utf16", "utf32", "ucs2", "ucs4"):
        raise CatalogInputError(f"expected an ASCII-compatible encoding, got {encoding}; "
                                f"convert the file with iconv -t UTF-8")
    root = next((m for m in _START_TAG.finditer(head.lstrip(b"\xef\xbb\xbf"))), None)
    namespaces = b"".join(_NS_DECL.findall(root.group(2))) if root else b""
    return {"encoding": encoding, "namespaces": namespaces.decode("utf-8", "replace")}


def record_offsets(stream: BinaryIO, start: int = 0, end: int | None = None) -> Iterator[int]:
    """Byte offsets of record start tags in [start, end), streaming with a small overlap."""
    buf, buf_at = b"", start
    for block in chain(read_range(stream, start, end, READ_BLOCK), [b""]):  # b"": range end
        buf += block
        limit = len(buf) if not block else max(0, len(buf) - OVERLAP)
        for match in RECORD_START.finditer(buf):
            if match.start() >= limit:
                break
            yield buf_at + match.start()
        if not block:
            return
        buf, buf_at = buf[limit:], buf_at + limit


def content_end(stream: BinaryIO) -> int:
    """Where record content ends: the start of the last `</collection>`, else EOF."""
    size = stream.seek(0, io.SEEK_END)
    tail_at = max(0, size - (64 << 10))
    stream.seek(tail_at)
    ends = list(COLLECTION_END.finditer(stream.read()))
    return tail_at + ends[-1].start() if ends else size


def batch_bounds(stream: BinaryIO, batch_size: int) -> Iterator[tuple[int, int, int]]:
    """(start, end, records) byte ranges of `batch_size` records; none for a file without
    any record start tag (the plan refuses a file of zero records)."""
    stop = content_end(stream)
    starts: list[int] = []
    for offset in record_offsets(stream, 0, stop):
        if len(starts) == batch_size:
            yield starts[0], offset, len(starts)
            starts = []
        starts.append(offset)
    if starts:
        yield starts[0], stop, len(starts)


def iter_marcxml(stream: BinaryIO, start: int = 0, end: int | None = None,
                 first_ordinal: int = 0, context: dict | None = None
                 ) -> Iterator[ParsedRecord | BadRecord]:
    """Every record in [start, end) (to the end of record content when None)."""
    context = context or xml_context(stream)
    end = content_end(stream) if end is None else end
    offsets = list(record_offsets(stream, start, end))  # at most one batch of ints
    if not offsets:
        stream.seek(start)
        yield BadRecord(first_ordinal, start, stream.read(min(end - start, KEEP_BAD_BYTES)),
                        f"no MARCXML <record> element in bytes {start}..{end}; expected MARC21 "
                        f"slim XML (http://www.loc.gov/MARC21/slim) — check the format")
        return
    for k, (a, b) in enumerate(zip(offsets, offsets[1:] + [end])):
        stream.seek(a)
        if b - a > MAX_RECORD_XML:
            yield BadRecord(first_ordinal + k, a, stream.read(KEEP_BAD_BYTES),
                            f"record XML is {b - a:,} bytes (limit {MAX_RECORD_XML:,}); "
                            f"expected one MARC record — the file is damaged or not MARCXML")
            continue
        yield parse_record(stream.read(b - a), a, first_ordinal + k, context)


def parse_record(fragment: bytes, offset: int, ordinal: int, context: dict
                 ) -> ParsedRecord | BadRecord:
    """One record's XML (plus trailing whitespace) → ParsedRecord, or BadRecord."""
    opening = (f'<?xml version="1.0" encoding="{context["encoding"]}"?>'
               f'<catalog-fragment{context["namespaces"]}>').encode("ascii", "replace")
    document = opening + fragment + b"</catalog-fragment>"
    etree.clear_error_log()
    records = []
    try:
        for _, element in etree.iterparse(
                io.BytesIO(document), events=("end",), tag="{*}record", resolve_entities=False,
                no_network=True, load_dtd=False, huge_tree=False):
            records.append(_to_marc_json(element))
            element.clear()
    except etree.XMLSyntaxError as exc:
        error = exc.error_log.last_error if exc.error_log else None
        line, column, message = ((error.line, error.column, error.message) if error
                                 else (exc.lineno, exc.position[1], exc.msg))
        return BadRecord(ordinal, offset, standalone(fragment, context), _syntax_reason(
            offset, message.strip(), line, column - len(opening) if line == 1 else column))
    except MarcXmlError as exc:
        return BadRecord(ordinal, offset, standalone(fragment, context),
                         f"record at byte {offset}: {exc}")
    if len(records) != 1:
        return BadRecord(ordinal, offset, standalone(fragment, context),
                         f"expected one complete <record> at byte {offset}, got {len(records)}")
    content, warnings = records[0]
    try:
        data = to_iso2709(content)
    except RecordTooLong as exc:  # kept whole, never written with a corrupt length
        return json_marc(ordinal, offset, fragment, content, context["encoding"].lower(), False,
                         warnings, str(exc))
    return ParsedRecord(ordinal, offset, fragment, MARC, marc=data,
                        key_fields=marc_key_fields(content), encoding=context["encoding"].lower(),
                        warnings=warnings)


def standalone(fragment: bytes, context: dict) -> bytes:
    """A record's bytes that parse on their own: the document's namespace declarations that
    its start tag lacks are added to it (`<marc:record>` is unreadable without the
    `xmlns:marc` the collection declared), so a DLQ'd record re-ingests alone once fixed."""
    declared = context.get("namespaces", "").encode("utf-8")
    tag = _START_TAG.match(fragment)
    if not declared or tag is None:
        return fragment
    own = {d.split(b"=")[0].strip() for d in _NS_DECL.findall(tag.group(2))}
    missing = b"".join(d for d in _NS_DECL.findall(declared) if d.split(b"=")[0].strip() not in own)
    return fragment[:tag.end(1)] + missing + fragment[tag.end(1):]


_UNCLOSED = re.compile(r"Opening and ending tag mismatch: (\S+) line (\d+) and catalog-fragment")


def _syntax_reason(offset: int, message: str, line: int, column: int) -> str:
    unclosed = _UNCLOSED.search(message)
    if unclosed:  # the parser reached our wrapper's end tag: the record never closed
        return (f"malformed XML in the record at byte {offset}: <{unclosed.group(1)}> opened "
                f"at line {unclosed.group(2)} of the record is never closed before the next "
                f"record or the end of the file (truncated file or broken nesting); fix the "
                f"record and re-ingest")
    return (f"malformed XML in the record at byte {offset}: {message} (line {line}, column "
            f"{column} of the record); fix it and re-ingest")


class MarcXmlError(ValueError):
    """A well-formed record that is not valid MARCXML (missing tag / code, bad tag)."""


def _local(element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _tag(element, what: str) -> str:
    tag = element.get("tag")
    if tag is None:
        raise MarcXmlError(f"{what} without a tag attribute (line {element.sourceline} of the "
                           f"record); expected tag=\"NNN\"")
    if len(tag) != 3 or not tag.isalnum():
        raise MarcXmlError(f"{what} tag {tag!r} (line {element.sourceline} of the record): "
                           f"expected 3 letters or digits")
    return tag


def _to_marc_json(record) -> tuple[dict, list[str]]:
    leader, fields, warnings = None, [], []
    for child in record:
        name = _local(child)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            fields.append({_tag(child, "controlfield"): child.text or ""})
        elif name == "datafield":
            tag = _tag(child, "datafield")
            indicators = []
            for attr in ("ind1", "ind2"):
                value = child.get(attr, " ")
                if len(value) != 1:
                    warnings.append(f"field {tag}: {attr} {value!r} is not one character; "
                                    f"kept {(value or ' ')[0]!r}")
                indicators.append((value or " ")[0])
            subfields = []
            for sub in child:
                if _local(sub) != "subfield":
                    continue
                code = sub.get("code")
                if code is None:
                    raise MarcXmlError(f"subfield of {tag} without a code attribute (line "
                                       f"{sub.sourceline} of the record)")
                subfields.append({code: sub.text or ""})
            fields.append({tag: {"ind1": indicators[0], "ind2": indicators[1],
                                 "subfields": subfields}})
        elif name:
            warnings.append(f"ignored element <{name}> (line {child.sourceline} of the record)")
    if leader is None or len(leader) != 24:
        warnings.append(f"leader {leader!r} is not 24 characters; padded / cut to 24")
    leader = (leader or "").ljust(24)[:24]
    if not leader.isascii():  # stored as it is, the record would not be UTF-8 ISO 2709
        warnings += [Loss(f"leader/{at:02d}: expected an ASCII code, got {c!r} (U+{ord(c):04X}); "
                          f"replaced with a blank — check the record's leader")
                     for at, c in enumerate(leader) if not c.isascii()]
        leader = "".join(c if c.isascii() else " " for c in leader)
    if not fields:
        raise MarcXmlError("no controlfield or datafield: expected at least one field")
    return {"leader": leader[:9] + "a" + leader[10:], "fields": fields}, warnings
